output "endpoint" {
  description = "Connection endpoint of the database, `host:port`."
  value       = aws_db_instance.this.endpoint
}

output "address" {
  description = "Host name of the database."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "Port of the database."
  value       = aws_db_instance.this.port
}

output "db_name" {
  description = "Name of the database (schema) holding the journal."
  value       = aws_db_instance.this.db_name
}

output "identifier" {
  description = "Identifier of the DB instance (its CloudWatch `DBInstanceIdentifier` dimension)."
  value       = aws_db_instance.this.identifier
}

output "arn" {
  description = "ARN of the DB instance."
  value       = aws_db_instance.this.arn
}

output "master_user_secret_arn" {
  description = "ARN of the RDS-managed Secrets Manager secret with the master user name and password."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "kms_key_arn" {
  description = "ARN of the KMS key encrypting the storage and the master user secret."
  value       = aws_kms_key.this.arn
}

output "security_group_id" {
  description = "ID of the database's security group."
  value       = aws_security_group.db.id
}
