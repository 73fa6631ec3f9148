output "cluster_name" {
  description = "Name of the EKS cluster."
  value       = aws_eks_cluster.this.name
}

output "cluster_endpoint" {
  description = "Endpoint of the EKS API server."
  value       = aws_eks_cluster.this.endpoint
}

output "kubeconfig_command" {
  description = "Command that writes a kubeconfig entry for the cluster."
  value       = "aws eks update-kubeconfig --region ${var.region} --name ${aws_eks_cluster.this.name}"
}

output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "private_subnet_ids" {
  description = "IDs of the private subnets (nodes, RDS, Redis)."
  value       = aws_subnet.private[*].id
}

output "postgres_endpoint" {
  description = "Host:port of the RDS PostgreSQL instance."
  value       = aws_db_instance.postgres.endpoint
}

output "redis_primary_endpoint" {
  description = "Primary endpoint address of the ElastiCache Redis replication group."
  value       = aws_elasticache_replication_group.redis.primary_endpoint_address
}

output "image_repository" {
  description = "Image name prefix the release uses; push REPOSITORY/molbatch-gateway:TAG and the others there."
  value       = local.image_repository
}

output "ecr_repository_urls" {
  description = "ECR repository URL of each binary's image."
  value       = { for name, repo in aws_ecr_repository.images : name => repo.repository_url }
}

output "namespace" {
  description = "Kubernetes namespace of the molbatch release."
  value       = kubernetes_namespace_v1.molbatch.metadata[0].name
}

output "backends_secret_name" {
  description = "Kubernetes Secret holding postgres-url and redis-url (created here, referenced by the chart)."
  value       = kubernetes_secret_v1.backends.metadata[0].name
}

output "gateway_service" {
  description = "In-cluster address of the molbatch gateway (gRPC and REST on one port)."
  value       = "${local.fullname}-gateway.${var.namespace}.svc:8080"
}

output "postgres_url" {
  description = "postgres:// URL of the database, with its password."
  value       = local.postgres_url
  sensitive   = true
}

output "kms_key_arn" {
  description = "ARN of the KMS key encrypting everything at rest."
  value       = aws_kms_key.this.arn
}
