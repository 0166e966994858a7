terraform {
  required_version = ">= 1.6, < 2.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.99 is the version the offline schema check (terraform/test/aws-schema.json) was
      # extracted from; stay on 5.x.
      version = "~> 5.99"
    }
  }
}
