data "aws_region" "current" {}

data "aws_partition" "current" {}

# Debian 12 rather than Amazon Linux 2023: the server's uWebSockets.js build is verified on
# glibc 2.36 (Debian 12); Amazon Linux 2023 ships glibc 2.34.
data "aws_ami" "debian" {
  count = var.ami_id == null ? 1 : 0

  most_recent = true
  owners      = ["136693071363"] # Debian's official AWS account

  filter {
    name   = "name"
    values = ["debian-12-${local.debian_arch}-*"]
  }

  filter {
    name   = "architecture"
    values = [var.architecture]
  }

  filter {
    name   = "virtualization-type"
    values = ["hvm"]
  }
}

locals {
  debian_arch      = var.architecture == "arm64" ? "arm64" : "amd64"
  node_arch        = var.architecture == "arm64" ? "arm64" : "x64"
  ami_id           = var.ami_id == null ? data.aws_ami.debian[0].id : var.ami_id
  root_device_name = var.ami_id == null ? data.aws_ami.debian[0].root_device_name : var.root_device_name

  artifact_in_s3 = startswith(var.shardline_artifact, "s3://")
  artifact_arn   = local.artifact_in_s3 ? "arn:${data.aws_partition.current.partition}:s3:::${trimprefix(var.shardline_artifact, "s3://")}" : null

  # Non-secret configuration, written to /etc/shardline/shardline.env. SHARDLINE_JOURNAL is not
  # here: it carries the database password and is rendered at each service start from the
  # secret (see user-data.sh.tftpl).
  shardline_environment = merge(
    {
      SHARDLINE_HOST              = "0.0.0.0"
      SHARDLINE_PORT              = tostring(var.app_port)
      SHARDLINE_DATA_DIR          = "/var/lib/shardline"
      SHARDLINE_SHARDS            = tostring(var.shards)
      SHARDLINE_LOG_LEVEL         = var.log_level
      SHARDLINE_AUTH              = var.auth
      SHARDLINE_WS_IDLE_TIMEOUT_S = tostring(var.ws_idle_timeout_seconds)
    },
    var.workers == null ? {} : { SHARDLINE_WORKERS = tostring(var.workers) },
    var.extra_environment,
  )
  environment_file = join("", [for key in sort(keys(local.shardline_environment)) : "${key}=${local.shardline_environment[key]}\n"])

  user_data = templatefile("${path.module}/user-data.sh.tftpl", {
    region           = data.aws_region.current.name
    node_version     = var.node_version
    node_arch        = local.node_arch
    debian_arch      = local.debian_arch
    artifact         = var.shardline_artifact
    package_name     = var.shardline_package_name
    environment_file = local.environment_file
    db_secret_arn    = var.db_secret_arn
    db_address       = var.db_address
    db_port          = var.db_port
    db_name          = var.db_name
    log_group_name   = var.log_group_name
  })
}

resource "aws_security_group" "app" {
  name_prefix = "${var.name}-app-"
  description = "Shardline instances: the app port from the load balancer only"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-app" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "app_from_alb" {
  security_group_id            = aws_security_group.app.id
  description                  = "Shardline HTTP and WebSocket from the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = var.app_port
  to_port                      = var.app_port
  referenced_security_group_id = var.alb_security_group_id

  tags = var.tags
}

# The load balancer's only way out: the app port on the instances.
resource "aws_vpc_security_group_egress_rule" "alb_to_app" {
  security_group_id            = var.alb_security_group_id
  description                  = "Forward to Shardline instances"
  ip_protocol                  = "tcp"
  from_port                    = var.app_port
  to_port                      = var.app_port
  referenced_security_group_id = aws_security_group.app.id

  tags = var.tags
}

# Outbound HTTPS (AWS APIs, nodejs.org, the npm registry) and HTTP (Debian's package mirrors),
# through the NAT gateway. Access to the database is added by the database module.
resource "aws_vpc_security_group_egress_rule" "app_https" {
  security_group_id = aws_security_group.app.id
  description       = "HTTPS: AWS APIs, nodejs.org, npm registry"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"

  tags = var.tags
}

resource "aws_vpc_security_group_egress_rule" "app_http" {
  security_group_id = aws_security_group.app.id
  description       = "HTTP: Debian package mirrors (packages are signed)"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = "0.0.0.0/0"

  tags = var.tags
}

data "aws_iam_policy_document" "assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

# Least privilege: read this deployment's database secret (and decrypt it through Secrets
# Manager only), write to this deployment's log group, and read the release artifact when it
# is in S3. Nothing else.
data "aws_iam_policy_document" "instance" {
  statement {
    sid       = "ReadDatabaseSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.db_secret_arn]
  }

  statement {
    sid       = "DecryptDatabaseSecret"
    actions   = ["kms:Decrypt"]
    resources = [var.db_secret_kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${data.aws_region.current.name}.amazonaws.com"]
    }
  }

  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = [var.log_group_arn, "${var.log_group_arn}:log-stream:*"]
  }

  dynamic "statement" {
    for_each = local.artifact_in_s3 ? [local.artifact_arn] : []

    content {
      sid       = "ReadReleaseArtifact"
      actions   = ["s3:GetObject"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role" "instance" {
  name_prefix        = "${var.name}-instance-"
  description        = "Shardline instances"
  assume_role_policy = data.aws_iam_policy_document.assume_role.json

  tags = var.tags
}

resource "aws_iam_role_policy" "instance" {
  name_prefix = "${var.name}-instance-"
  role        = aws_iam_role.instance.id
  policy      = data.aws_iam_policy_document.instance.json
}

resource "aws_iam_instance_profile" "instance" {
  name_prefix = "${var.name}-instance-"
  role        = aws_iam_role.instance.name

  tags = var.tags
}

resource "aws_launch_template" "this" {
  name_prefix            = "${var.name}-"
  description            = "Shardline server on Debian 12 with Node ${var.node_version}"
  image_id               = local.ami_id
  instance_type          = var.instance_type
  update_default_version = true
  user_data              = base64encode(local.user_data)
  vpc_security_group_ids = [aws_security_group.app.id]

  iam_instance_profile {
    arn = aws_iam_instance_profile.instance.arn
  }

  # IMDSv2 only, and one hop, so that nothing behind the host (no containers here) can reach
  # the instance credentials.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "disabled"
  }

  monitoring {
    enabled = var.detailed_monitoring
  }

  block_device_mappings {
    device_name = local.root_device_name

    ebs {
      volume_size           = var.root_volume_size_gb
      volume_type           = "gp3"
      encrypted             = true
      delete_on_termination = true
    }
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge(var.tags, { Name = var.name })
  }

  tag_specifications {
    resource_type = "volume"
    tags          = merge(var.tags, { Name = var.name })
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true

    precondition {
      condition     = var.min_size <= var.max_size
      error_message = "min_size must not exceed max_size."
    }
  }
}

resource "aws_autoscaling_group" "this" {
  name_prefix         = "${var.name}-"
  min_size            = var.min_size
  max_size            = var.max_size
  vpc_zone_identifier = var.private_subnet_ids
  target_group_arns   = var.target_group_arns

  # Replace instances that the load balancer finds unhealthy (/health/ready), not only those
  # that EC2 finds broken.
  health_check_type         = "ELB"
  health_check_grace_period = var.health_check_grace_period_seconds
  default_instance_warmup   = var.instance_warmup_seconds
  wait_for_capacity_timeout = "20m"
  termination_policies      = ["OldestLaunchTemplate", "OldestInstance"]

  enabled_metrics = [
    "GroupDesiredCapacity",
    "GroupInServiceInstances",
    "GroupMaxSize",
    "GroupMinSize",
    "GroupPendingInstances",
    "GroupTerminatingInstances",
    "GroupTotalInstances",
  ]

  launch_template {
    id      = aws_launch_template.this.id
    version = aws_launch_template.this.latest_version
  }

  # A new launch template version (new AMI, new release, new configuration) replaces the
  # instances one batch at a time, launching before terminating so that capacity never drops.
  instance_refresh {
    strategy = "Rolling"

    preferences {
      min_healthy_percentage = 100
      max_healthy_percentage = 200
      instance_warmup        = var.instance_warmup_seconds
      auto_rollback          = true
    }
  }

  dynamic "tag" {
    for_each = merge(var.tags, { Name = var.name })

    content {
      key                 = tag.key
      value               = tag.value
      propagate_at_launch = true
    }
  }

  lifecycle {
    create_before_destroy = true
    # The scaling policy owns the desired capacity between min_size and max_size.
    ignore_changes = [desired_capacity]
  }
}

resource "aws_autoscaling_policy" "cpu" {
  name                   = "${var.name}-cpu-target"
  autoscaling_group_name = aws_autoscaling_group.this.name
  policy_type            = "TargetTrackingScaling"

  target_tracking_configuration {
    target_value = var.cpu_target_percent

    predefined_metric_specification {
      predefined_metric_type = "ASGAverageCPUUtilization"
    }
  }
}
