output "alb_dns_name" {
  description = "DNS name of the load balancer. Point your domain at it (CNAME or Route 53 alias)."
  value       = module.alb.dns_name
}

output "url" {
  description = "Base URL of Shardline: WebSocket at /v1/stream (ws:// or wss://), HTTP at /v1/events, health at /health/ready."
  value       = module.alb.url
}

output "rds_endpoint" {
  description = "Endpoint of the MySQL database, host:port (reachable from the instances only)."
  value       = module.database.endpoint
}

output "db_secret_arn" {
  description = "ARN of the RDS-managed secret with the database master credentials."
  value       = module.database.master_user_secret_arn
}

output "autoscaling_group_name" {
  description = "Name of the Auto Scaling group (start an instance refresh or change capacity through it)."
  value       = module.compute.autoscaling_group_name
}

output "app_log_group_name" {
  description = "CloudWatch log group of the server and boot logs."
  value       = module.observability.app_log_group_name
}

output "alarm_topic_arn" {
  description = "SNS topic the alarms notify."
  value       = module.observability.alarm_topic_arn
}

output "nat_public_ips" {
  description = "Outbound IPv4 addresses of the instances (allow-list them where Shardline calls out)."
  value       = module.network.nat_public_ips
}
