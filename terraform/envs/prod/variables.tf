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
  default     = "shardline-prod"
}

variable "shardline_artifact" {
  description = "Shardline release to install: s3://bucket/key.tgz (an `npm pack` tarball) or a pinned npm spec such as shardline@0.1.0."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate ARN for HTTPS (HTTP then redirects to HTTPS). Required in prod."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:", var.certificate_arn))
    error_message = "prod serves HTTPS: certificate_arn must be an ACM certificate ARN."
  }
}

variable "ami_id" {
  description = "Pinned AMI (Debian 12) so that a new AMI release never replaces the fleet unannounced. Null looks up the newest Debian 12 AMI."
  type        = string
  default     = null
}

variable "instance_type" {
  description = "EC2 instance type of the Shardline instances."
  type        = string
  default     = "c6i.large"
}

variable "min_size" {
  description = "Minimum number of instances (two: one per availability zone)."
  type        = number
  default     = 2
}

variable "max_size" {
  description = "Maximum number of instances."
  type        = number
  default     = 10
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.m6g.large"
}

variable "alarm_email_addresses" {
  description = "Email addresses notified by the alarms."
  type        = list(string)
  default     = []
}

variable "access_logs_enabled" {
  description = "Keep ALB access logs in an S3 bucket created for them."
  type        = bool
  default     = true
}
