output "autoscaling_group_name" {
  description = "Name of the Auto Scaling group (its CloudWatch `AutoScalingGroupName` dimension)."
  value       = aws_autoscaling_group.this.name
}

output "autoscaling_group_arn" {
  description = "ARN of the Auto Scaling group."
  value       = aws_autoscaling_group.this.arn
}

output "security_group_id" {
  description = "ID of the instances' security group (the database accepts connections from it only)."
  value       = aws_security_group.app.id
}

output "launch_template_id" {
  description = "ID of the launch template."
  value       = aws_launch_template.this.id
}

output "launch_template_version" {
  description = "Latest version of the launch template (a change starts an instance refresh)."
  value       = aws_launch_template.this.latest_version
}

output "ami_id" {
  description = "AMI the instances launch from."
  value       = local.ami_id
}

output "iam_role_arn" {
  description = "ARN of the instance role."
  value       = aws_iam_role.instance.arn
}

output "iam_role_name" {
  description = "Name of the instance role (attach further policies to it, such as AmazonSSMManagedInstanceCore, if operators need shell access)."
  value       = aws_iam_role.instance.name
}
