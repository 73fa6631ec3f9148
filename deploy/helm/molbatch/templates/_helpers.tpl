{{/* Chart name. */}}
{{- define "molbatch.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Object name prefix: RELEASE-molbatch, or the release name when it already contains the chart name. */}}
{{- define "molbatch.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of one component's objects: FULLNAME-COMPONENT. Call with (dict "root" $ "component" "gateway"). */}}
{{- define "molbatch.componentName" -}}
{{- printf "%s-%s" (include "molbatch.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "molbatch.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that select one release's pods. */}}
{{- define "molbatch.selectorLabels" -}}
app.kubernetes.io/name: {{ include "molbatch.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "molbatch.labels" -}}
helm.sh/chart: {{ include "molbatch.chart" . }}
{{ include "molbatch.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: molbatch
{{- end -}}

{{/* Selector labels of one component. Call with (dict "root" $ "component" "gateway"). */}}
{{- define "molbatch.componentSelectorLabels" -}}
{{ include "molbatch.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "molbatch.componentLabels" -}}
{{ include "molbatch.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "molbatch.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "molbatch.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Image of one binary. Call with (dict "root" $ "binary" "molbatch-gateway"). */}}
{{- define "molbatch.image" -}}
{{- $img := .root.Values.image -}}
{{- $tag := default .root.Chart.AppVersion $img.tag -}}
{{- $digest := index ($img.digests | default dict) .binary -}}
{{- if $digest -}}
{{- printf "%s/%s:%s@%s" $img.repository .binary $tag $digest -}}
{{- else -}}
{{- printf "%s/%s:%s" $img.repository .binary $tag -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding the backend URLs; fails rendering when unset. */}}
{{- define "molbatch.backendsSecret" -}}
{{- required "backends.existingSecret: name an existing Secret holding the Postgres and Redis URLs" .Values.backends.existingSecret -}}
{{- end -}}

{{/* In-cluster URL of the scheduler's, storage's or analytics' gRPC port (https with internalTls); a namespace-relative name, so kustomize overlays may move it. Call with (dict "root" $ "component" "scheduler"). */}}
{{- define "molbatch.grpcUrl" -}}
{{- $port := (index .root.Values .component).port -}}
{{- $scheme := ternary "https" "http" .root.Values.internalTls.enabled -}}
{{- printf "%s://%s:%v" $scheme (include "molbatch.componentName" .) $port -}}
{{- end -}}

{{/* Environment common to every container. Call with (dict "root" $ "component" "gateway"). */}}
{{- define "molbatch.commonEnv" -}}
- name: MOLBATCH_ADMIN_LISTEN
  value: {{ printf "0.0.0.0:%v" .root.Values.adminPort | quote }}
- name: RUST_LOG
  value: {{ .root.Values.logLevel | quote }}
- name: MOLBATCH_LOG_FORMAT
  value: {{ .root.Values.logFormat | quote }}
{{- if .root.Values.otel.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .root.Values.otel.endpoint | quote }}
{{- end }}
- name: OTEL_SERVICE_NAME
  value: {{ printf "molbatch-%s" .component | quote }}
{{- range $k, $v := .root.Values.otel.extraEnv }}
- name: {{ $k }}
  value: {{ $v | quote }}
{{- end }}
{{- end -}}

{{/* secretKeyRef to one key of the backends Secret. Call with (dict "root" $ "key" KEY). */}}
{{- define "molbatch.secretEnv" -}}
valueFrom:
  secretKeyRef:
    name: {{ include "molbatch.backendsSecret" .root }}
    key: {{ .key }}
{{- end -}}

{{/* Pod-level settings shared by every pod of the chart. */}}
{{- define "molbatch.podSecurity" -}}
serviceAccountName: {{ include "molbatch.serviceAccountName" . }}
automountServiceAccountToken: false
enableServiceLinks: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* The admin port's probes. */}}
{{- define "molbatch.probes" -}}
livenessProbe:
  httpGet:
    path: /healthz
    port: admin
  {{- toYaml .Values.probes.liveness | nindent 2 }}
readinessProbe:
  httpGet:
    path: /readyz
    port: admin
  {{- toYaml .Values.probes.readiness | nindent 2 }}
{{- end -}}

{{/* Prometheus label matchers of this release's scheduler series (job is the Service name under a ServiceMonitor). */}}
{{- define "molbatch.schedulerMatchers" -}}
{{- printf "namespace=\"%s\", job=\"%s\"" .Release.Namespace (include "molbatch.componentName" (dict "root" . "component" "scheduler")) -}}
{{- end -}}

{{/* Matchers of every service of this release. */}}
{{- define "molbatch.releaseMatchers" -}}
{{- printf "namespace=\"%s\", job=~\"%s-(gateway|scheduler|storage|analytics)\"" .Release.Namespace (include "molbatch.fullname" .) -}}
{{- end -}}

{{/*
Queue depth of this release: leasable tasks summed over queue, priority and
tenant. Every scheduler replica exports the same gauge (it reads the shared
queue), so replicas are collapsed with max before the sum.
*/}}
{{- define "molbatch.queueDepthQuery" -}}
{{- printf "sum(max by (queue, priority, tenant) (molbatch_queue_depth{%s}))" (include "molbatch.schedulerMatchers" .) -}}
{{- end -}}

{{/* The operator's ServiceAccount: its own, since it alone talks to the Kubernetes API. */}}
{{- define "molbatch.operatorServiceAccountName" -}}
{{- if .Values.operator.serviceAccount.create -}}
{{- default (include "molbatch.componentName" (dict "root" . "component" "operator")) .Values.operator.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.operator.serviceAccount.name -}}
{{- end -}}
{{- end -}}
