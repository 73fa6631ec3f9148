# molbatch on AWS: a VPC over availability zones, EKS with a managed node
# group, RDS for PostgreSQL (jobs, queue, results), ElastiCache for Redis
# (hot caches only), ECR repositories for the images, and the Helm release of
# deploy/helm/molbatch with its backends Secret. See deploy/README.md.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

# Only checks that the zones asked for exist in the region.
data "aws_availability_zones" "selected" {
  state = "available"

  filter {
    name   = "zone-name"
    values = var.availability_zones
  }

  lifecycle {
    postcondition {
      condition     = length(self.names) == length(var.availability_zones)
      error_message = "Every entry of availability_zones must be an available zone of var.region."
    }
  }
}

locals {
  azs = data.aws_availability_zones.selected.names

  tags = merge(var.tags, {
    "app.kubernetes.io/part-of" = "molbatch"
    "molbatch/deployment"       = var.name
  })

  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  binaries = ["molbatch-gateway", "molbatch-scheduler", "molbatch-storage", "molbatch-analytics", "molbatch"]

  registry         = "${local.account_id}.dkr.ecr.${var.region}.amazonaws.com"
  image_repository = var.image_repository != "" ? var.image_repository : "${local.registry}/${var.name}"
}
