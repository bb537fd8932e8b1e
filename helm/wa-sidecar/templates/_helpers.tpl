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

{{/* Where the projected service-account token for Vault's Kubernetes auth is mounted. */}}
{{- define "wa-sidecar.vaultTokenDir" -}}/var/run/secrets/wa-sidecar-vault{{- end -}}
{{- define "wa-sidecar.vaultCADir" -}}/etc/wa-sidecar/vault-ca{{- end -}}

{{/* The kubernetes.io/tls Secret the sidecar serves: tls.existingSecret, else the one cert-manager writes. */}}
{{- define "wa-sidecar.tlsSecret" -}}
{{- .Values.tls.existingSecret | default (printf "%s-tls" (include "wa-sidecar.fullname" .)) -}}
{{- end -}}

{{/* The app's client certificate Secret (mTLS): tls.grpc.clientSecret, else cert-manager's, else none. */}}
{{- define "wa-sidecar.tlsClientSecret" -}}
{{- if .Values.tls.grpc.clientSecret -}}
{{- .Values.tls.grpc.clientSecret -}}
{{- else if .Values.tls.certManager.issuerRef -}}
{{- printf "%s-client" (include "wa-sidecar.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "wa-sidecar.tlsClientCADir" -}}{{ .Values.tls.mountPath }}-client-ca{{- end -}}

{{/*
Values that only make sense together, checked once per rendering (validate.yaml)
with a message naming the value at fault; the schema checks each value's shape.
*/}}
{{- define "wa-sidecar.validate" -}}
{{- $v := .Values -}}
{{- if $v.vault.enabled -}}
{{- if $v.secretAgent.enabled -}}
{{- fail "wa-sidecar: vault.enabled and secretAgent.enabled both read the secrets from Vault: choose the sidecar's own client (vault) or the agent (secretAgent)" -}}
{{- end -}}
{{- $_ := required "wa-sidecar: vault.addr is required with vault.enabled (e.g. https://vault.vault.svc:8200)" $v.vault.addr -}}
{{- $_ = required "wa-sidecar: vault.path is required with vault.enabled (<mount>/<path>, e.g. secret/wa-sidecar/prod)" $v.vault.path -}}
{{- $_ = required "wa-sidecar: vault.role is required with vault.enabled (the Kubernetes auth role)" $v.vault.role -}}
{{- if and $v.vault.ca.configMap $v.vault.ca.existingSecret -}}
{{- fail "wa-sidecar: set one of vault.ca.configMap and vault.ca.existingSecret" -}}
{{- end -}}
{{- if and (eq $v.environment "prod") (hasPrefix "http://" $v.vault.addr) (not (regexMatch "^http://(127\\.[0-9.]+|localhost|\\[::1\\])(:[0-9]+)?/?$" $v.vault.addr)) -}}
{{- fail "wa-sidecar: vault.addr must be https:// in prod (the sidecar refuses plain http:// to a remote Vault)" -}}
{{- end -}}
{{- end -}}
{{- if $v.tls.enabled -}}
{{- if not (or $v.tls.existingSecret $v.tls.certManager.issuerRef) -}}
{{- fail "wa-sidecar: tls.enabled needs tls.existingSecret (a kubernetes.io/tls Secret) or tls.certManager.issuerRef (cert-manager writes it)" -}}
{{- end -}}
{{- if not (or $v.tls.grpc.enabled $v.tls.ingress.enabled) -}}
{{- fail "wa-sidecar: tls.enabled serves nothing: enable tls.grpc.enabled and/or tls.ingress.enabled" -}}
{{- end -}}
{{- if and $v.tls.grpc.clientAuth (not $v.tls.grpc.enabled) -}}
{{- fail "wa-sidecar: tls.grpc.clientAuth (mTLS) needs tls.grpc.enabled" -}}
{{- end -}}
{{- if and $v.tls.grpc.clientAuth $v.example.enabled (not (include "wa-sidecar.tlsClientSecret" .)) -}}
{{- fail "wa-sidecar: the example app needs a client certificate for tls.grpc.clientAuth: set tls.grpc.clientSecret or tls.certManager.issuerRef" -}}
{{- end -}}
{{- with $v.tls.certManager.issuerRef -}}
{{- $_ := required "wa-sidecar: tls.certManager.issuerRef.name is required" .name -}}
{{- end -}}
{{- else if or $v.tls.grpc.clientAuth $v.tls.ingress.enabled -}}
{{- fail "wa-sidecar: tls.grpc.clientAuth and tls.ingress.enabled need tls.enabled (and its Secret)" -}}
{{- end -}}
{{- end -}}
