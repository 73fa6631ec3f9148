# One customer-managed key for everything molbatch stores at rest: EKS
# secrets, RDS storage and Performance Insights, Redis, CloudWatch log groups,
# ECR and node volumes.
data "aws_iam_policy_document" "kms" {
  # In a key policy "*" as the resource means this key and nothing else, and
  # the account root must keep kms:* or the key becomes unmanageable (AWS's
  # default key policy); the service statements are scoped by principal and,
  # for logs, by encryption context.
  # checkov:skip=CKV_AWS_111: key policy, resource "*" is the key itself (AWS default key policy)
  # checkov:skip=CKV_AWS_356: key policy, resource "*" is the key itself (AWS default key policy)
  # checkov:skip=CKV_AWS_109: key policy, the account root keeps key administration (AWS default key policy)
  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid = "CloudWatchLogs"
    actions = [
      "kms:Encrypt",
      "kms:Decrypt",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:Describe*",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${var.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${var.region}:${local.account_id}:*"]
    }
  }

  statement {
    sid = "AutoScalingNodeVolumes"
    actions = [
      "kms:Encrypt",
      "kms:Decrypt",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:DescribeKey",
      "kms:CreateGrant",
    ]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "${var.name}: encryption at rest of EKS secrets, RDS, ElastiCache, logs, ECR and node volumes"
  deletion_window_in_days = 30
  enable_key_rotation     = true
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}
