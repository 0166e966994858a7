variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "name" {
  description = "Name prefix of every resource; change it to run several copies in one account."
  type        = string
  default     = "shardline-dev"
}

variable "shardline_artifact" {
  description = "Shardline release to install: s3://bucket/key.tgz (an `npm pack` tarball) or a pinned npm spec such as shardline@0.1.0."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate ARN for HTTPS. Null serves plain HTTP only (acceptable for dev)."
  type        = string
  default     = null
}

variable "alb_ingress_cidr_blocks" {
  description = "IPv4 CIDR blocks allowed to reach the load balancer; narrow it to your office or VPN for dev."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "instance_type" {
  description = "EC2 instance type of the Shardline instances."
  type        = string
  default     = "t3.small"
}

variable "min_size" {
  description = "Minimum number of instances."
  type        = number
  default     = 1
}

variable "max_size" {
  description = "Maximum number of instances."
  type        = number
  default     = 3
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.micro"
}

variable "db_multi_az" {
  description = "Multi-AZ database; off in dev to halve its cost."
  type        = bool
  default     = false
}

variable "alarm_email_addresses" {
  description = "Email addresses notified by the alarms."
  type        = list(string)
  default     = []
}

variable "log_level" {
  description = "SHARDLINE_LOG_LEVEL."
  type        = string
  default     = "debug"
}
