variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Name of this molbatch deployment; prefixes every AWS resource (lowercase letters, digits and dashes)."
  type        = string
  default     = "molbatch"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name))
    error_message = "name must be 2 to 31 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "tags" {
  description = "Tags added to every AWS resource."
  type        = map(string)
  default     = {}
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC; split into one public and one private subnet per availability zone."
  type        = string
  default     = "10.40.0.0/16"
}

variable "availability_zones" {
  description = "Availability zones (names, in var.region) to spread subnets, nodes, the RDS standby and Redis replicas over; an explicit list, so the set never grows on its own when AWS adds a zone."
  type        = list(string)
  default     = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]

  validation {
    condition     = length(var.availability_zones) >= 2 && length(var.availability_zones) <= 6
    error_message = "Give 2 to 6 availability zones (EKS and RDS need at least two)."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for the whole VPC instead of one per zone (cheaper, loses egress when its zone fails)."
  type        = bool
  default     = false
}

variable "flow_log_retention_days" {
  description = "Days to keep VPC flow logs, EKS control plane logs and Redis slow logs in CloudWatch."
  type        = number
  default     = 365
}

variable "kubernetes_version" {
  description = "Kubernetes version of the EKS control plane and node group."
  type        = string
  default     = "1.33"
}

variable "cluster_endpoint_public_access" {
  description = "Expose the EKS API endpoint publicly (limited to cluster_endpoint_public_access_cidrs); when false it is reachable only from inside the VPC."
  type        = bool
  default     = false
}

variable "cluster_endpoint_public_access_cidrs" {
  description = "CIDR blocks allowed to reach the public EKS API endpoint when cluster_endpoint_public_access is true."
  type        = list(string)
  default     = []
}

variable "node_instance_types" {
  description = "EC2 instance types of the managed node group (analytics workers use whole cores: prefer compute-optimised types)."
  type        = list(string)
  default     = ["c6i.2xlarge"]
}

variable "node_capacity_type" {
  description = "ON_DEMAND or SPOT capacity for the node group (workers are safe on SPOT: their leases expire and chunks are retried)."
  type        = string
  default     = "ON_DEMAND"

  validation {
    condition     = contains(["ON_DEMAND", "SPOT"], var.node_capacity_type)
    error_message = "node_capacity_type must be ON_DEMAND or SPOT."
  }
}

variable "node_min_size" {
  description = "Minimum number of nodes in the node group."
  type        = number
  default     = 3
}

variable "node_desired_size" {
  description = "Initial number of nodes in the node group (a cluster autoscaler or Karpenter adjusts it afterwards)."
  type        = number
  default     = 3
}

variable "node_max_size" {
  description = "Maximum number of nodes in the node group."
  type        = number
  default     = 20
}

variable "node_disk_size_gib" {
  description = "Root volume size of each node, in GiB (encrypted gp3)."
  type        = number
  default     = 50
}

variable "postgres_engine_version" {
  description = "RDS for PostgreSQL engine version."
  type        = string
  default     = "16.4"
}

variable "postgres_parameter_group_family" {
  description = "DB parameter group family matching postgres_engine_version."
  type        = string
  default     = "postgres16"
}

variable "postgres_instance_class" {
  description = "RDS instance class of the PostgreSQL database."
  type        = string
  default     = "db.r6g.large"
}

variable "postgres_allocated_storage_gib" {
  description = "Initial storage of the database, in GiB."
  type        = number
  default     = 100
}

variable "postgres_max_allocated_storage_gib" {
  description = "Upper bound of storage autoscaling of the database, in GiB."
  type        = number
  default     = 1000
}

variable "postgres_multi_az" {
  description = "Run a synchronous standby in another zone."
  type        = bool
  default     = true
}

variable "postgres_backup_retention_days" {
  description = "Days of automated backups and point-in-time recovery of the database."
  type        = number
  default     = 14
}

variable "deletion_protection" {
  description = "Protect the database from deletion (turn off, apply, then destroy to tear everything down)."
  type        = bool
  default     = true
}

variable "redis_engine_version" {
  description = "ElastiCache for Redis engine version."
  type        = string
  default     = "7.1"
}

variable "redis_node_type" {
  description = "ElastiCache node type of the Redis cache."
  type        = string
  default     = "cache.r7g.large"
}

variable "redis_num_cache_clusters" {
  description = "Redis nodes: one primary and its replicas across zones, with automatic failover (so at least 2)."
  type        = number
  default     = 2

  validation {
    condition     = var.redis_num_cache_clusters >= 2 && var.redis_num_cache_clusters <= 6
    error_message = "redis_num_cache_clusters must be 2 to 6 (automatic failover needs a replica)."
  }
}

variable "backends_tls" {
  description = "Require TLS to Postgres (rds.force_ssl, sslmode=require) and Redis (transit encryption, AUTH token, rediss://). Needs molbatch images built with TLS support in sqlx and redis; the current ones are not, so it defaults to false and traffic stays inside the VPC's private subnets behind security groups."
  type        = bool
  default     = false
}

variable "namespace" {
  description = "Kubernetes namespace of the molbatch release."
  type        = string
  default     = "molbatch"
}

variable "release_name" {
  description = "Helm release name of molbatch."
  type        = string
  default     = "molbatch"
}

variable "image_repository" {
  description = "Image name prefix (REPOSITORY/molbatch-gateway, ...). Empty: the ECR repositories created here."
  type        = string
  default     = ""
}

variable "image_tag" {
  description = "Tag of the molbatch images to deploy (ECR repositories are immutable: a tag names one build)."
  type        = string
  default     = "0.1.0"
}

variable "autoscaling_mode" {
  description = "How the analytics workers scale on queue depth: keda (KEDA ScaledObject, KEDA installed here when install_keda), hpa (autoscaling/v2 HPA on prometheus-adapter's External metric) or none."
  type        = string
  default     = "keda"

  validation {
    condition     = contains(["keda", "hpa", "none"], var.autoscaling_mode)
    error_message = "autoscaling_mode must be keda, hpa or none."
  }
}

variable "analytics_max_replicas" {
  description = "Most analytics workers the autoscaler may run."
  type        = number
  default     = 40
}

variable "install_keda" {
  description = "Install KEDA from its Helm chart (needed by autoscaling_mode = keda unless the cluster already has it)."
  type        = bool
  default     = true
}

variable "install_monitoring" {
  description = "Install kube-prometheus-stack (Prometheus operator, Prometheus, Alertmanager) so the chart's ServiceMonitor and PrometheusRule take effect."
  type        = bool
  default     = true
}

variable "helm_values" {
  description = "Extra values for the molbatch chart, merged over the ones set here (see deploy/helm/molbatch/values.yaml)."
  type        = any
  default     = {}
}
