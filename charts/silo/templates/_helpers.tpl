{{/* The chart's name. */}}
{{- define "silo.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Base name of the release's objects: "silo" for a release named silo. */}}
{{- define "silo.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "silo.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "silo.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that select the operator's pods. */}}
{{- define "silo.selectorLabels" -}}
app.kubernetes.io/name: {{ include "silo.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The operator's ServiceAccount. */}}
{{- define "silo.serviceAccountName" -}}
{{- .Values.serviceAccount.name }}
{{- end }}

{{/* The operator's identity as the API server sees it. */}}
{{- define "silo.serviceAccountUser" -}}
{{- printf "system:serviceaccount:%s:%s" .Release.Namespace (include "silo.serviceAccountName" .) }}
{{- end }}

{{/* The Service that exposes the operator's metrics, and Prometheus's job for it. */}}
{{- define "silo.metricsServiceName" -}}
{{- printf "%s-metrics" (include "silo.fullname" .) }}
{{- end }}
