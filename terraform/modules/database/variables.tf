variable "name" {
  description = "Identifier of the DB instance and prefix of its other resources, such as `shardline-prod`."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}[a-z0-9]$", var.name))
    error_message = "name must be 3-42 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "vpc_id" {
  description = "ID of the VPC."
  type        = string
}

variable "private_subnet_ids" {
  description = "IDs of the private subnets of the DB subnet group (two availability zones or more)."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 2
    error_message = "A DB subnet group needs subnets in at least two availability zones."
  }
}

variable "app_security_group_id" {
  description = "ID of the application's security group: the only source allowed to reach MySQL."
  type        = string
}

variable "engine_version" {
  description = "MySQL engine version: 8.0 (the newest 8.0 minor) or a pinned 8.0.x."
  type        = string
  default     = "8.0"

  validation {
    condition     = can(regex("^8\\.0(\\.[0-9]+)?$", var.engine_version))
    error_message = "engine_version must be MySQL 8.0 or 8.0.x."
  }
}

variable "instance_class" {
  description = "DB instance class."
  type        = string
  default     = "db.t4g.micro"

  validation {
    condition     = startswith(var.instance_class, "db.")
    error_message = "instance_class must be an RDS class such as db.t4g.micro."
  }
}

variable "allocated_storage_gb" {
  description = "Initial gp3 storage, in GiB."
  type        = number
  default     = 20

  validation {
    condition     = var.allocated_storage_gb >= 20 && var.allocated_storage_gb <= 65536
    error_message = "allocated_storage_gb must be between 20 and 65536."
  }
}

variable "max_allocated_storage_gb" {
  description = "Ceiling for storage autoscaling, in GiB (0 turns autoscaling off)."
  type        = number
  default     = 100

  validation {
    condition     = var.max_allocated_storage_gb == 0 || var.max_allocated_storage_gb >= 20
    error_message = "max_allocated_storage_gb must be 0 or at least 20."
  }
}

variable "db_name" {
  description = "Name of the database (schema) created for the journal."
  type        = string
  default     = "shardline"

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9_]{0,63}$", var.db_name))
    error_message = "db_name must start with a letter and hold only letters, digits and underscores (at most 64)."
  }
}

variable "master_username" {
  description = "Master user name. Its password is generated and rotated by RDS in Secrets Manager; no password is ever set here."
  type        = string
  default     = "shardline"

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9]{0,15}$", var.master_username)) && !contains(["admin", "root", "rdsadmin"], lower(var.master_username))
    error_message = "master_username must be 1-16 letters or digits starting with a letter (RDS for MySQL), and not a reserved name."
  }
}

variable "port" {
  description = "MySQL port."
  type        = number
  default     = 3306
}

variable "multi_az" {
  description = "Run a synchronous standby in a second availability zone (automatic failover). On for production."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Refuse to delete the instance until this is turned off. On for production."
  type        = bool
  default     = true
}

variable "backup_retention_days" {
  description = "Days automated backups are kept."
  type        = number
  default     = 7

  validation {
    condition     = var.backup_retention_days >= 7 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be between 7 and 35."
  }
}

variable "backup_window" {
  description = "Daily UTC window for automated backups (hh24:mi-hh24:mi); must not overlap the maintenance window."
  type        = string
  default     = "02:00-03:00"
}

variable "maintenance_window" {
  description = "Weekly UTC maintenance window (ddd:hh24:mi-ddd:hh24:mi)."
  type        = string
  default     = "sun:04:00-sun:05:00"
}

variable "final_snapshot_identifier" {
  description = "Name of the snapshot taken when the instance is destroyed. Null uses `<name>-final`; a snapshot of that name must not exist yet."
  type        = string
  default     = null
}

variable "performance_insights_enabled" {
  description = "Turn on Performance Insights (encrypted with the module's KMS key). Not available on the smallest classes."
  type        = bool
  default     = false
}

variable "cloudwatch_logs_exports" {
  description = "MySQL logs exported to CloudWatch Logs."
  type        = list(string)
  default     = ["error", "slowquery"]

  validation {
    condition     = alltrue([for log in var.cloudwatch_logs_exports : contains(["audit", "error", "general", "slowquery", "iam-db-auth-error"], log)])
    error_message = "cloudwatch_logs_exports may hold audit, error, general, slowquery and iam-db-auth-error."
  }
}

variable "log_retention_days" {
  description = "Days the exported MySQL logs are kept in CloudWatch Logs."
  type        = number
  default     = 30
}

variable "parameters" {
  description = "MySQL parameters set in the parameter group, merged over this module's defaults. Dynamic parameters only (they are applied immediately)."
  type        = map(string)
  default     = {}
}

variable "kms_key_deletion_window_days" {
  description = "Waiting period before the KMS key is deleted after terraform destroy."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_key_deletion_window_days >= 7 && var.kms_key_deletion_window_days <= 30
    error_message = "kms_key_deletion_window_days must be between 7 and 30."
  }
}

variable "apply_immediately" {
  description = "Apply changes now instead of in the next maintenance window (a class change then restarts the database at once)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
