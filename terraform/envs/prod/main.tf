provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project     = "shardline"
      Environment = "prod"
      ManagedBy   = "terraform"
    }
  }
}

locals {
  app_port = 8080
  # One value for both ends of a WebSocket: the ALB idle timeout and SHARDLINE_WS_IDLE_TIMEOUT_S
  # (the compute module reads it back from the ALB). The server pings every 30 s.
  ws_idle_timeout_seconds = 120
}

module "network" {
  source = "../../modules/network"

  name                 = var.name
  vpc_cidr             = "10.0.0.0/16"
  public_subnet_cidrs  = ["10.0.1.0/24", "10.0.2.0/24"]
  private_subnet_cidrs = ["10.0.10.0/24", "10.0.20.0/24"]
  nat_gateway_per_az   = true
}

module "alb" {
  source = "../../modules/alb"

  name                       = var.name
  vpc_id                     = module.network.vpc_id
  public_subnet_ids          = module.network.public_subnet_ids
  app_port                   = local.app_port
  certificate_arn            = var.certificate_arn
  idle_timeout_seconds       = local.ws_idle_timeout_seconds
  access_logs_enabled        = var.access_logs_enabled
  enable_deletion_protection = true
}

module "database" {
  source = "../../modules/database"

  name                         = var.name
  vpc_id                       = module.network.vpc_id
  private_subnet_ids           = module.network.private_subnet_ids
  app_security_group_id        = module.compute.security_group_id
  instance_class               = var.db_instance_class
  allocated_storage_gb         = 100
  max_allocated_storage_gb     = 1000
  multi_az                     = true
  deletion_protection          = true
  backup_retention_days        = 14
  performance_insights_enabled = true
  log_retention_days           = 90
}

module "observability" {
  source = "../../modules/observability"

  name                          = var.name
  log_retention_days            = 90
  alarm_email_addresses         = var.alarm_email_addresses
  alb_arn_suffix                = module.alb.arn_suffix
  target_group_arn_suffix       = module.alb.target_group_arn_suffix
  autoscaling_group_name        = module.compute.autoscaling_group_name
  db_instance_identifier        = module.database.identifier
  rds_free_storage_threshold_gb = 10
}

module "compute" {
  source = "../../modules/compute"

  name                    = var.name
  vpc_id                  = module.network.vpc_id
  private_subnet_ids      = module.network.private_subnet_ids
  alb_security_group_id   = module.alb.security_group_id
  target_group_arns       = [module.alb.target_group_arn]
  app_port                = local.app_port
  ws_idle_timeout_seconds = module.alb.idle_timeout_seconds
  ami_id                  = var.ami_id
  instance_type           = var.instance_type
  detailed_monitoring     = true
  min_size                = var.min_size
  max_size                = var.max_size
  shardline_artifact      = var.shardline_artifact
  db_secret_arn           = module.database.master_user_secret_arn
  db_secret_kms_key_arn   = module.database.kms_key_arn
  db_address              = module.database.address
  db_port                 = module.database.port
  db_name                 = module.database.db_name
  log_group_name          = module.observability.app_log_group_name
  log_group_arn           = module.observability.app_log_group_arn
}
