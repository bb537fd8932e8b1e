{{/*
Helpers shared by this chart's own objects and by the public templates in
_sidecar.tpl. Every one takes the wa-sidecar chart's context (its .Values,
.Chart and .Files), which an app's chart reaches as
(index .Subcharts "wa-sidecar"); see "wa-sidecar.context".
*/}}

{{/* Objects' base name: <release>-wa-sidecar (63 characters at most). */}}
{{- define "wa-sidecar.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-wa-sidecar" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "wa-sidecar.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every object the chart renders. */}}
{{- define "wa-sidecar.labels" -}}
helm.sh/chart: {{ include "wa-sidecar.chart" . }}
app.kubernetes.io/name: wa-sidecar
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: wa-policy-sidecar
{{- end -}}

{{/* Labels that pick this release's own objects (the Service for its ServiceMonitor). */}}
{{- define "wa-sidecar.selectorLabels" -}}
app.kubernetes.io/name: wa-sidecar
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The example app's pod labels (its selector). */}}
{{- define "wa-sidecar.exampleSelectorLabels" -}}
app.kubernetes.io/name: wa-sidecar-example
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
Labels that select the pods carrying the sidecar (NetworkPolicy, Service,
PodMonitor): podSelector when set, else the example app's labels.
*/}}
{{- define "wa-sidecar.podSelector" -}}
{{- if .Values.podSelector -}}
{{- toYaml .Values.podSelector -}}
{{- else if .Values.example.enabled -}}
{{- include "wa-sidecar.exampleSelectorLabels" . -}}
{{- else -}}
{{- fail "wa-sidecar: set podSelector (the labels of your app's pods) for the NetworkPolicy, Service, PodMonitor and test, or enable example" -}}
{{- end -}}
{{- end -}}

{{- define "wa-sidecar.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/*
The restricted Pod Security profile for one container: non-root with the
image's UID, no privilege escalation, read-only root, no capabilities,
RuntimeDefault seccomp. Set per container, so including the sidecar never
changes the app's pod-level securityContext.
*/}}
{{- define "wa-sidecar.securityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Where the Graph API calls go: graph.baseUrl, else the bundled simulator's Service. */}}
{{- define "wa-sidecar.graphBaseUrl" -}}
{{- if .Values.graph.baseUrl -}}
{{- .Values.graph.baseUrl -}}
{{- else if .Values.simulator.enabled -}}
{{- printf "http://%s-simulator:%v" (include "wa-sidecar.fullname" .) .Values.simulator.port -}}
{{- end -}}
{{- end -}}

{{/* The secret agent's annotation prefix and the directory its files appear in. */}}
{{- define "wa-sidecar.agentPrefix" -}}
{{- if eq .Values.secretAgent.kind "openbao" -}}openbao.openbao.org{{- else -}}vault.hashicorp.com{{- end -}}
{{- end -}}

{{- define "wa-sidecar.agentDir" -}}
{{- if eq .Values.secretAgent.kind "openbao" -}}/openbao/secrets{{- else -}}/vault/secrets{{- end -}}
{{- end -}}

{{/* The auth policy's data when the chart renders it from auth.principals. */}}
{{- define "wa-sidecar.authPolicy" -}}
{{- if and .Values.auth.enabled (not .Values.auth.existingSecret) -}}
principals:
{{- toYaml .Values.auth.principals | nindent 2 }}
{{- end -}}
{{- end -}}

{{/* Seconds the whole pod gets to stop: the app's stop, then the sidecar's drain, plus a margin. */}}
{{- define "wa-sidecar.terminationGracePeriod" -}}
{{- add (int (ceil .Values.lifecycle.appStopSeconds)) (int (ceil .Values.shutdownGraceSeconds)) .Values.lifecycle.marginSeconds -}}
{{- end -}}
