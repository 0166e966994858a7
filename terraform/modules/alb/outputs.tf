output "dns_name" {
  description = "DNS name of the load balancer: the address clients connect to (or the target of a CNAME/alias record)."
  value       = aws_lb.this.dns_name
}

output "zone_id" {
  description = "Route 53 hosted zone ID of the load balancer, for alias records."
  value       = aws_lb.this.zone_id
}

output "arn" {
  description = "ARN of the load balancer."
  value       = aws_lb.this.arn
}

output "arn_suffix" {
  description = "ARN suffix of the load balancer: its CloudWatch `LoadBalancer` dimension."
  value       = aws_lb.this.arn_suffix
}

output "security_group_id" {
  description = "ID of the load balancer's security group."
  value       = aws_security_group.alb.id
}

output "target_group_arn" {
  description = "ARN of the target group the Auto Scaling group registers instances in."
  value       = aws_lb_target_group.app.arn
}

output "target_group_arn_suffix" {
  description = "ARN suffix of the target group: its CloudWatch `TargetGroup` dimension."
  value       = aws_lb_target_group.app.arn_suffix
}

output "https_enabled" {
  description = "Whether the HTTPS listener exists (a certificate ARN was given)."
  value       = local.https_enabled
}

output "url" {
  description = "Base URL of the service through the load balancer."
  value       = "${local.https_enabled ? "https" : "http"}://${aws_lb.this.dns_name}"
}

output "idle_timeout_seconds" {
  description = "Idle timeout of the load balancer, for SHARDLINE_WS_IDLE_TIMEOUT_S."
  value       = aws_lb.this.idle_timeout
}

output "access_logs_bucket" {
  description = "S3 bucket receiving the access logs, or null when they are off."
  value       = var.access_logs_enabled ? local.log_bucket : null
}
