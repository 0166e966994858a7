variable "name" {
  description = "Name prefix for every resource in this module, such as `shardline-prod`."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,23}$", var.name))
    error_message = "name must be 2-24 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "vpc_id" {
  description = "ID of the VPC."
  type        = string
}

variable "private_subnet_ids" {
  description = "IDs of the private subnets the instances run in."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 2
    error_message = "Give at least two private subnets, in different availability zones."
  }
}

variable "alb_security_group_id" {
  description = "ID of the load balancer's security group: the only source allowed to reach the app port."
  type        = string
}

variable "target_group_arns" {
  description = "ARNs of the target groups the instances register in."
  type        = list(string)
}

variable "app_port" {
  description = "Port the server listens on (SHARDLINE_PORT)."
  type        = number
  default     = 8080

  validation {
    condition     = var.app_port >= 1024 && var.app_port <= 65535
    error_message = "app_port must be an unprivileged port (1024-65535): the service runs as an unprivileged user."
  }
}

variable "instance_type" {
  description = "EC2 instance type."
  type        = string
  default     = "t3.small"
}

variable "architecture" {
  description = "CPU architecture of the instances: x86_64 or arm64. It must match instance_type (arm64 for Graviton types such as c7g)."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "ami_id" {
  description = "AMI to launch. Null uses the newest official Debian 12 (bookworm) AMI for the architecture; pin an ID in production so that a new AMI release does not replace the instances on the next apply."
  type        = string
  default     = null

  validation {
    condition     = var.ami_id == null || can(regex("^ami-[0-9a-f]{8,17}$", var.ami_id))
    error_message = "ami_id must look like ami-0123456789abcdef0, or be null."
  }
}

variable "root_device_name" {
  description = "Root device name of the AMI given in ami_id (ignored when the Debian AMI is looked up)."
  type        = string
  default     = "/dev/xvda"
}

variable "root_volume_size_gb" {
  description = "Size of the encrypted gp3 root volume, in GiB."
  type        = number
  default     = 20

  validation {
    condition     = var.root_volume_size_gb >= 8 && var.root_volume_size_gb <= 1024
    error_message = "root_volume_size_gb must be between 8 and 1024."
  }
}

variable "detailed_monitoring" {
  description = "EC2 detailed (1-minute) monitoring; it makes CPU alarms and scaling react faster, at a cost."
  type        = bool
  default     = false
}

variable "min_size" {
  description = "Minimum number of instances."
  type        = number
  default     = 1

  validation {
    condition     = var.min_size >= 1 && var.min_size <= 10
    error_message = "min_size must be between 1 and 10."
  }
}

variable "max_size" {
  description = "Maximum number of instances."
  type        = number
  default     = 10

  validation {
    condition     = var.max_size >= 1 && var.max_size <= 10
    error_message = "max_size must be between 1 and 10."
  }
}

variable "cpu_target_percent" {
  description = "Average CPU utilisation the target-tracking policy holds the group at."
  type        = number
  default     = 60

  validation {
    condition     = var.cpu_target_percent >= 10 && var.cpu_target_percent <= 90
    error_message = "cpu_target_percent must be between 10 and 90."
  }
}

variable "health_check_grace_period_seconds" {
  description = "Seconds after launch before failed ELB health checks replace an instance; covers the boot script (packages, Node, npm install)."
  type        = number
  default     = 600

  validation {
    condition     = var.health_check_grace_period_seconds >= 60
    error_message = "health_check_grace_period_seconds must be at least 60."
  }
}

variable "instance_warmup_seconds" {
  description = "Seconds a new instance needs before its metrics count for scaling and instance refresh."
  type        = number
  default     = 300

  validation {
    condition     = var.instance_warmup_seconds >= 0
    error_message = "instance_warmup_seconds must not be negative."
  }
}

variable "node_version" {
  description = "Node.js 20 release installed from nodejs.org (checked against its SHASUMS256.txt)."
  type        = string
  default     = "20.20.2"

  validation {
    condition     = can(regex("^20\\.[0-9]+\\.[0-9]+$", var.node_version))
    error_message = "node_version must be a Node.js 20 release such as 20.20.0: Shardline supports Node 20 only."
  }
}

variable "shardline_artifact" {
  description = "The Shardline release to install: an S3 URL of an `npm pack` tarball (s3://bucket/key.tgz, read through the instance role) or an npm package spec (shardline@0.1.0)."
  type        = string

  validation {
    condition     = can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+\\.tgz$", var.shardline_artifact)) || can(regex("^(@[a-z0-9][a-z0-9._-]*/)?[a-z0-9][a-z0-9._-]*@[0-9A-Za-z.+-]+$", var.shardline_artifact))
    error_message = "shardline_artifact must be s3://bucket/key.tgz or a pinned npm spec such as shardline@0.1.0."
  }
}

variable "shardline_package_name" {
  description = "npm name of the installed package; its dist/server/main.js is the entry point."
  type        = string
  default     = "shardline"
}

variable "shards" {
  description = "SHARDLINE_SHARDS: shard count. It is fixed for the life of a journal; changing it later makes the server refuse to start."
  type        = number
  default     = 1024

  validation {
    condition     = contains([for i in range(17) : pow(2, i)], var.shards)
    error_message = "shards must be a power of two between 1 and 65536."
  }
}

variable "workers" {
  description = "SHARDLINE_WORKERS: shard worker threads per instance. Null lets the server use one per core."
  type        = number
  default     = null

  validation {
    condition     = var.workers == null || try(var.workers >= 1 && var.workers <= 256, false)
    error_message = "workers must be between 1 and 256, or null."
  }
}

variable "log_level" {
  description = "SHARDLINE_LOG_LEVEL (a pino level)."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["fatal", "error", "warn", "info", "debug", "trace", "silent"], var.log_level)
    error_message = "log_level must be one of fatal, error, warn, info, debug, trace, silent."
  }
}

variable "auth" {
  description = "SHARDLINE_AUTH: on, or off for local development only."
  type        = string
  default     = "on"

  validation {
    condition     = contains(["on", "off"], var.auth)
    error_message = "auth must be on or off."
  }
}

variable "ws_idle_timeout_seconds" {
  description = "SHARDLINE_WS_IDLE_TIMEOUT_S. Pass the load balancer's idle timeout so that the two stay equal."
  type        = number
  default     = 120

  validation {
    condition     = var.ws_idle_timeout_seconds >= 60
    error_message = "ws_idle_timeout_seconds must be at least 60 (twice the server's 30 s ping interval)."
  }
}

variable "extra_environment" {
  description = "Further environment variables for the server (non-secret: they are stored in the launch template's user data)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.extra_environment : can(regex("^[A-Z_][A-Z0-9_]*$", k)) && !strcontains(v, "\n")])
    error_message = "extra_environment keys must be upper-case environment variable names and values must be single lines."
  }

  validation {
    condition     = !contains(keys(var.extra_environment), "SHARDLINE_JOURNAL")
    error_message = "SHARDLINE_JOURNAL is built at boot from the database secret; do not set it here."
  }
}

variable "db_secret_arn" {
  description = "ARN of the RDS-managed Secrets Manager secret holding the database master user name and password."
  type        = string
}

variable "db_secret_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the database secret; the instances may decrypt with it through Secrets Manager only."
  type        = string
}

variable "db_address" {
  description = "Host name of the database."
  type        = string
}

variable "db_port" {
  description = "Port of the database."
  type        = number
  default     = 3306
}

variable "db_name" {
  description = "Name of the database (schema) holding the journal."
  type        = string
}

variable "log_group_name" {
  description = "CloudWatch log group the CloudWatch agent ships the server log and the boot log to."
  type        = string
}

variable "log_group_arn" {
  description = "ARN of that log group; the instance role may write to it only."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
