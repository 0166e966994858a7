variable "name" {
  description = "Name of the load balancer and prefix of its other resources (AWS limits load balancer names to 32 characters)."
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

variable "public_subnet_ids" {
  description = "IDs of the public subnets the load balancer is placed in (two availability zones or more)."
  type        = list(string)

  validation {
    condition     = length(var.public_subnet_ids) >= 2
    error_message = "An Application Load Balancer needs subnets in at least two availability zones."
  }
}

variable "app_port" {
  description = "Port the Shardline server listens on (SHARDLINE_PORT); the target group forwards to it."
  type        = number
  default     = 8080

  validation {
    condition     = var.app_port >= 1024 && var.app_port <= 65535
    error_message = "app_port must be an unprivileged port (1024-65535)."
  }
}

variable "ingress_cidr_blocks" {
  description = "IPv4 CIDR blocks allowed to reach the load balancer on ports 80 and 443."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = alltrue([for cidr in var.ingress_cidr_blocks : can(cidrhost(cidr, 0))])
    error_message = "ingress_cidr_blocks must hold valid IPv4 CIDR blocks."
  }
}

variable "certificate_arn" {
  description = "ARN of an ACM certificate for the HTTPS listener. When set, an HTTPS listener is created and HTTP redirects to it; when null, HTTP forwards to the instances."
  type        = string
  default     = null

  validation {
    condition     = var.certificate_arn == null || can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/.+$", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN, or null."
  }
}

variable "ssl_policy" {
  description = "TLS security policy of the HTTPS listener."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

variable "idle_timeout_seconds" {
  description = "Seconds a connection may stay idle before the load balancer closes it. WebSocket connections depend on it: keep it above the server's 30 s ping interval and equal to SHARDLINE_WS_IDLE_TIMEOUT_S."
  type        = number
  default     = 120

  validation {
    condition     = var.idle_timeout_seconds >= 60 && var.idle_timeout_seconds <= 4000
    error_message = "idle_timeout_seconds must be between 60 (twice the server's 30 s ping interval) and 4000."
  }
}

variable "health_check_path" {
  description = "Path of the target group health check; /health/ready answers 503 while the journal is unreachable or the server drains."
  type        = string
  default     = "/health/ready"

  validation {
    condition     = startswith(var.health_check_path, "/")
    error_message = "health_check_path must start with a slash."
  }
}

variable "deregistration_delay_seconds" {
  description = "Seconds a draining target keeps its connections before the load balancer cuts them."
  type        = number
  default     = 60

  validation {
    condition     = var.deregistration_delay_seconds >= 0 && var.deregistration_delay_seconds <= 3600
    error_message = "deregistration_delay_seconds must be between 0 and 3600."
  }
}

variable "access_logs_enabled" {
  description = "Write access logs to S3."
  type        = bool
  default     = false
}

variable "access_logs_bucket" {
  description = "Existing S3 bucket for access logs. Null with access_logs_enabled creates a bucket for them."
  type        = string
  default     = null
}

variable "access_logs_prefix" {
  description = "Key prefix of the access logs in the bucket."
  type        = string
  default     = "alb"
}

variable "access_logs_retention_days" {
  description = "Days the access logs are kept in the bucket this module creates."
  type        = number
  default     = 90

  validation {
    condition     = var.access_logs_retention_days >= 1
    error_message = "access_logs_retention_days must be at least 1."
  }
}

variable "force_destroy_access_logs" {
  description = "Let terraform destroy delete the access-log bucket this module creates even when it holds logs."
  type        = bool
  default     = false
}

variable "enable_deletion_protection" {
  description = "Protect the load balancer from deletion (terraform destroy fails until it is turned off)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
