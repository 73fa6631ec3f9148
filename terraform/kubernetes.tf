# The molbatch namespace, the Secret with the backend URLs (the chart only
# references it), the cluster add-ons the chart's objects need, and the
# molbatch release itself from this repository's chart.

resource "kubernetes_namespace_v1" "molbatch" {
  metadata {
    name = var.namespace
    labels = {
      "app.kubernetes.io/part-of"                  = "molbatch"
      "pod-security.kubernetes.io/enforce"         = "restricted"
      "pod-security.kubernetes.io/enforce-version" = "latest"
    }
  }

  depends_on = [aws_eks_node_group.default]
}

resource "kubernetes_secret_v1" "backends" {
  metadata {
    name      = "molbatch-backends"
    namespace = kubernetes_namespace_v1.molbatch.metadata[0].name
    labels    = { "app.kubernetes.io/part-of" = "molbatch" }
  }

  type = "Opaque"
  data = {
    "postgres-url" = local.postgres_url
    "redis-url"    = local.redis_url
  }
}

resource "helm_release" "kube_prometheus_stack" {
  count = var.install_monitoring ? 1 : 0

  name             = "kube-prometheus-stack"
  repository       = "https://prometheus-community.github.io/helm-charts"
  chart            = "kube-prometheus-stack"
  version          = "65.1.1"
  namespace        = "monitoring"
  create_namespace = true

  values = [yamlencode({
    prometheus = {
      prometheusSpec = {
        # Pick up ServiceMonitors and PrometheusRules of every release.
        serviceMonitorSelectorNilUsesHelmValues = false
        ruleSelectorNilUsesHelmValues           = false
      }
    }
  })]

  depends_on = [aws_eks_addon.others]
}

resource "helm_release" "keda" {
  count = var.install_keda && var.autoscaling_mode == "keda" ? 1 : 0

  name             = "keda"
  repository       = "https://kedacore.github.io/charts"
  chart            = "keda"
  version          = "2.15.1"
  namespace        = "keda"
  create_namespace = true

  depends_on = [aws_eks_addon.others]
}

locals {
  # The chart's object name prefix (its molbatch.fullname helper).
  fullname = strcontains(var.release_name, "molbatch") ? var.release_name : "${var.release_name}-molbatch"

  private_subnet_peers = [for cidr in aws_subnet.private[*].cidr_block : { ipBlock = { cidr = cidr } }]

  molbatch_values = {
    image = {
      repository = local.image_repository
      tag        = var.image_tag
    }
    backends = {
      existingSecret = kubernetes_secret_v1.backends.metadata[0].name
    }
    autoscaling = {
      mode        = var.autoscaling_mode
      maxReplicas = var.analytics_max_replicas
      keda = {
        prometheusServerAddress = "http://kube-prometheus-stack-prometheus.monitoring.svc:9090"
      }
    }
    metrics = {
      serviceMonitor = { enabled = var.install_monitoring }
      prometheusRule = { enabled = var.install_monitoring }
    }
    networkPolicy = {
      # RDS and ElastiCache live in the private subnets.
      postgres = { port = 5432, to = local.private_subnet_peers }
      redis    = { port = 6379, to = local.private_subnet_peers }
    }
  }
}

resource "helm_release" "molbatch" {
  name      = var.release_name
  chart     = "${path.module}/../deploy/helm/molbatch"
  namespace = kubernetes_namespace_v1.molbatch.metadata[0].name

  # The pre-install hook runs the migrations before anything else starts.
  wait    = true
  timeout = 900

  values = [
    yamlencode(local.molbatch_values),
    yamlencode(var.helm_values),
  ]

  depends_on = [
    helm_release.kube_prometheus_stack,
    helm_release.keda,
    aws_eks_addon.vpc_cni,
    aws_db_instance.postgres,
    aws_elasticache_replication_group.redis,
  ]
}
