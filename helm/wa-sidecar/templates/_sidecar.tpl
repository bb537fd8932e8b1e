{{/*
Public templates: what an app's chart includes to carry the sidecar.

  spec:
    template:
      metadata:
        annotations:
          {{- include "wa-sidecar.podAnnotations" . | nindent 10 }}   # optional
      spec:
        {{- include "wa-sidecar.podSpec" . | nindent 8 }}
        containers:
          - name: app
            ...

Each takes the app chart's context (.) and finds the sidecar's values under
the dependency "wa-sidecar"; with an alias, pass (index .Subcharts "<alias>").

  wa-sidecar.podSpec        initContainers (native sidecar), volumes,
                            terminationGracePeriodSeconds and
                            enableServiceLinks: keys of a pod spec
  wa-sidecar.container      the container alone, a list item (for a pod that
                            lists its own initContainers, or nativeSidecar: false)
  wa-sidecar.volumes        the volumes alone, list items (for a pod with volumes)
  wa-sidecar.env            the container's env, list items
  wa-sidecar.podAnnotations checksum/config and the secret agent's annotations

With tls.grpc.enabled the app's containers verify the sidecar with ca.crt from
the volume wa-sidecar-tls-ca, and with tls.grpc.clientAuth present the pair in
wa-sidecar-tls-client (mount them in the app's container; both are in
wa-sidecar.volumes, and the example app shows how).
*/}}

{{- define "wa-sidecar.podSpec" -}}
{{- $s := . -}}
{{- if ne .Chart.Name "wa-sidecar" }}{{ $s = required "wa-sidecar: add the chart as a dependency (or pass its context)" (index .Subcharts "wa-sidecar") }}{{ end -}}
{{- include "wa-sidecar.podSpec.impl" $s | trim -}}
{{- end -}}

{{- define "wa-sidecar.container" -}}
{{- $s := . -}}
{{- if ne .Chart.Name "wa-sidecar" }}{{ $s = required "wa-sidecar: add the chart as a dependency (or pass its context)" (index .Subcharts "wa-sidecar") }}{{ end -}}
{{- include "wa-sidecar.container.impl" $s -}}
{{- end -}}

{{- define "wa-sidecar.volumes" -}}
{{- $s := . -}}
{{- if ne .Chart.Name "wa-sidecar" }}{{ $s = required "wa-sidecar: add the chart as a dependency (or pass its context)" (index .Subcharts "wa-sidecar") }}{{ end -}}
{{- include "wa-sidecar.volumes.impl" $s -}}
{{- end -}}

{{- define "wa-sidecar.env" -}}
{{- $s := . -}}
{{- if ne .Chart.Name "wa-sidecar" }}{{ $s = required "wa-sidecar: add the chart as a dependency (or pass its context)" (index .Subcharts "wa-sidecar") }}{{ end -}}
{{- include "wa-sidecar.env.impl" $s -}}
{{- end -}}

{{- define "wa-sidecar.podAnnotations" -}}
{{- $s := . -}}
{{- if ne .Chart.Name "wa-sidecar" }}{{ $s = required "wa-sidecar: add the chart as a dependency (or pass its context)" (index .Subcharts "wa-sidecar") }}{{ end -}}
{{- include "wa-sidecar.podAnnotations.impl" $s -}}
{{- end -}}

{{/* ------------------------------------------------------------------ impl */}}

{{- define "wa-sidecar.podSpec.impl" -}}
{{- if .Values.nativeSidecar }}
initContainers:
  {{- include "wa-sidecar.container.impl" . | nindent 2 }}
{{- end }}
volumes:
  {{- include "wa-sidecar.volumes.impl" . | nindent 2 }}
{{- if .Values.lifecycle.setTerminationGracePeriod }}
terminationGracePeriodSeconds: {{ include "wa-sidecar.terminationGracePeriod" . }}
{{- end }}
{{- if not .Values.enableServiceLinks }}
enableServiceLinks: false
{{- end }}
{{- end -}}

{{- define "wa-sidecar.container.impl" -}}
{{- $v := .Values -}}
- name: wa-sidecar
  image: {{ include "wa-sidecar.image" . | quote }}
  imagePullPolicy: {{ $v.image.pullPolicy }}
  command: ["wa-sidecar"]
  args: ["serve"]
  {{- if $v.nativeSidecar }}
  # A native sidecar (KEP-753): started before the app, whose containers wait
  # for the startupProbe; stopped after them.
  restartPolicy: Always
  {{- end }}
  ports:
    - name: wa-health
      containerPort: {{ $v.health.port }}
      protocol: TCP
    - name: wa-metrics
      containerPort: {{ $v.admin.port }}
      protocol: TCP
  env:
    {{- include "wa-sidecar.env.impl" . | nindent 4 }}
  {{- with $v.probes }}
  startupProbe:
    grpc:
      port: {{ $v.health.port }}
      service: {{ .startup.service | quote }}
    periodSeconds: {{ .startup.periodSeconds }}
    timeoutSeconds: {{ .startup.timeoutSeconds }}
    failureThreshold: {{ .startup.failureThreshold }}
  readinessProbe:
    grpc:
      port: {{ $v.health.port }}
      service: {{ .readiness.service | quote }}
    periodSeconds: {{ .readiness.periodSeconds }}
    timeoutSeconds: {{ .readiness.timeoutSeconds }}
    failureThreshold: {{ .readiness.failureThreshold }}
    successThreshold: 1
  livenessProbe:
    grpc:
      port: {{ $v.health.port }}
      service: {{ .liveness.service | quote }}
    periodSeconds: {{ .liveness.periodSeconds }}
    timeoutSeconds: {{ .liveness.timeoutSeconds }}
    failureThreshold: {{ .liveness.failureThreshold }}
  {{- end }}
  {{- if not $v.nativeSidecar }}
  lifecycle:
    # A plain container gets SIGTERM together with the app: keep serving
    # while the app finishes its last calls, then drain.
    preStop:
      exec:
        command: ["sleep", "{{ int (ceil $v.lifecycle.appStopSeconds) }}"]
  {{- end }}
  resources:
    {{- toYaml $v.resources | nindent 4 }}
  securityContext:
    {{- include "wa-sidecar.securityContext" . | nindent 4 }}
  volumeMounts:
    - name: wa-sidecar-state
      mountPath: /var/lib/wa-sidecar
    - name: wa-sidecar-tmp
      mountPath: /tmp
    {{- if and $v.secrets.existingSecret (not $v.secretAgent.enabled) (not $v.vault.enabled) }}
    - name: wa-sidecar-secrets
      mountPath: {{ $v.secrets.mountPath }}
      readOnly: true
    {{- end }}
    {{- if $v.auth.enabled }}
    - name: wa-sidecar-auth
      mountPath: {{ $v.auth.mountPath }}
      readOnly: true
    {{- end }}
    {{- if and $v.vault.enabled $v.vault.serviceAccountToken.projected }}
    - name: wa-sidecar-vault-token
      mountPath: {{ include "wa-sidecar.vaultTokenDir" . }}
      readOnly: true
    {{- end }}
    {{- if and $v.vault.enabled (or $v.vault.ca.configMap $v.vault.ca.existingSecret) }}
    - name: wa-sidecar-vault-ca
      mountPath: {{ include "wa-sidecar.vaultCADir" . }}
      readOnly: true
    {{- end }}
    {{- if $v.tls.enabled }}
    # The whole Secret as a directory (no subPath), so a renewed certificate
    # reaches the sidecar, which re-reads it without a restart.
    - name: wa-sidecar-tls
      mountPath: {{ $v.tls.mountPath }}
      readOnly: true
    {{- if and $v.tls.grpc.clientAuth $v.tls.grpc.clientCASecret }}
    - name: wa-sidecar-tls-client-ca
      mountPath: {{ include "wa-sidecar.tlsClientCADir" . }}
      readOnly: true
    {{- end }}
    {{- end }}
{{- end -}}

{{/* The secrets the sidecar reads from files: secrets.keys name → file name (the setting's name). */}}
{{- define "wa-sidecar.secretFiles" -}}
accessToken: access_token
appSecret: app_secret
verifyToken: verify_token
encryptionKey: encryption_key
{{- end -}}

{{- define "wa-sidecar.env.impl" -}}
{{- $v := .Values -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: WA_SIDECAR_ENV
  value: {{ $v.environment | quote }}
- name: WA_SIDECAR_LOG_LEVEL
  value: {{ $v.logLevel | quote }}
# The API stays on loopback: only the app's containers reach it.
- name: WA_SIDECAR_GRPC_ADDR
  value: {{ printf "127.0.0.1:%v" $v.grpc.port | quote }}
# Health only, on the pod IP, for kubelet's gRPC probes.
- name: WA_SIDECAR_HEALTH_ADDR
  value: {{ printf "%s:%v" $v.health.host $v.health.port | quote }}
- name: WA_SIDECAR_ADMIN_ADDR
  value: {{ printf "%s:%v" $v.admin.host $v.admin.port | quote }}
- name: WA_SIDECAR_SHUTDOWN_GRACE
  value: {{ $v.shutdownGraceSeconds | toString | quote }}
{{- with include "wa-sidecar.graphBaseUrl" . }}
- name: WA_SIDECAR_GRAPH_BASE_URL
  value: {{ . | quote }}
{{- end }}
{{- with $v.graph.apiVersion }}
- name: WA_SIDECAR_GRAPH_API_VERSION
  value: {{ . | quote }}
{{- end }}
{{- with $v.graph.phoneNumberId }}
- name: WA_SIDECAR_PHONE_NUMBER_ID
  value: {{ . | quote }}
{{- end }}
{{- with $v.graph.appId }}
- name: WA_SIDECAR_APP_ID
  value: {{ . | quote }}
{{- end }}
{{- range $name, $store := dict "STATE" $v.state "QUOTA" $v.quota }}
- name: WA_SIDECAR_{{ $name }}_URL
  {{- if $store.urlSecretKey }}
  valueFrom:
    secretKeyRef:
      name: {{ required (printf "wa-sidecar: %s urlSecretKey needs secrets.existingSecret" ($name | lower)) $v.secrets.existingSecret }}
      key: {{ $store.urlSecretKey }}
  {{- else }}
  value: {{ $store.url | quote }}
  {{- end }}
{{- end }}
{{- with $v.state.passwordSecretKey }}
# The PostgreSQL driver (asyncpg) reads the password the URL leaves out from PGPASSWORD.
- name: PGPASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ required "wa-sidecar: state.passwordSecretKey needs secrets.existingSecret" $v.secrets.existingSecret }}
      key: {{ . }}
{{- end }}
{{- with $v.quota.failMode }}
- name: WA_SIDECAR_QUOTA_FAIL_MODE
  value: {{ . | quote }}
{{- end }}
{{- if $v.auth.enabled }}
- name: WA_SIDECAR_AUTH_FILE
  value: {{ printf "%s/%s" $v.auth.mountPath $v.auth.key | quote }}
{{- end }}
{{- $dir := "" }}
{{- if $v.secretAgent.enabled }}{{ $dir = include "wa-sidecar.agentDir" . }}{{ else if and $v.secrets.existingSecret (not $v.vault.enabled) }}{{ $dir = $v.secrets.mountPath }}{{ end }}
{{- if $dir }}
{{- range $key, $file := include "wa-sidecar.secretFiles" . | fromYaml }}
{{- if index $v.secrets.keys $key }}
- name: WA_SIDECAR_{{ upper $file }}_FILE
  value: {{ printf "%s/%s" $dir $file | quote }}
{{- end }}
{{- end }}
{{- end }}
- name: WA_SIDECAR_SECRET_RELOAD_INTERVAL
  value: {{ $v.secrets.reloadIntervalSeconds | toString | quote }}
- name: WA_SIDECAR_APP_SECRET_OVERLAP
  value: {{ $v.secrets.appSecretOverlapSeconds | toString | quote }}
{{- if $v.vault.enabled }}
# The sidecar reads the KV v2 secret itself and logs in with Kubernetes auth.
- name: WA_SIDECAR_VAULT_ADDR
  value: {{ $v.vault.addr | quote }}
- name: WA_SIDECAR_VAULT_PATH
  value: {{ $v.vault.path | quote }}
- name: WA_SIDECAR_VAULT_ROLE
  value: {{ $v.vault.role | quote }}
- name: WA_SIDECAR_VAULT_AUTH_MOUNT
  value: {{ $v.vault.authMount | quote }}
- name: WA_SIDECAR_VAULT_TIMEOUT
  value: {{ $v.vault.timeoutSeconds | toString | quote }}
{{- if $v.vault.serviceAccountToken.projected }}
- name: WA_SIDECAR_VAULT_JWT_FILE
  value: {{ printf "%s/token" (include "wa-sidecar.vaultTokenDir" .) | quote }}
{{- end }}
{{- if or $v.vault.ca.configMap $v.vault.ca.existingSecret }}
- name: WA_SIDECAR_VAULT_CA_FILE
  value: {{ printf "%s/%s" (include "wa-sidecar.vaultCADir" .) $v.vault.ca.key | quote }}
{{- end }}
{{- end }}
{{- if $v.tls.enabled }}
{{- if $v.tls.grpc.enabled }}
- name: WA_SIDECAR_TLS_CERT_FILE
  value: {{ printf "%s/tls.crt" $v.tls.mountPath | quote }}
- name: WA_SIDECAR_TLS_KEY_FILE
  value: {{ printf "%s/tls.key" $v.tls.mountPath | quote }}
{{- if $v.tls.grpc.clientAuth }}
# mTLS: a caller without a certificate this CA signed is refused in the handshake.
- name: WA_SIDECAR_TLS_CLIENT_CA_FILE
  {{- if $v.tls.grpc.clientCASecret }}
  value: {{ printf "%s/%s" (include "wa-sidecar.tlsClientCADir" .) $v.tls.grpc.clientCAKey | quote }}
  {{- else }}
  value: {{ printf "%s/ca.crt" $v.tls.mountPath | quote }}
  {{- end }}
{{- end }}
{{- end }}
{{- if $v.tls.ingress.enabled }}
- name: WA_SIDECAR_INGRESS_TLS_CERT_FILE
  value: {{ printf "%s/tls.crt" $v.tls.mountPath | quote }}
- name: WA_SIDECAR_INGRESS_TLS_KEY_FILE
  value: {{ printf "%s/tls.key" $v.tls.mountPath | quote }}
{{- end }}
{{- end }}
- name: OTEL_SERVICE_NAME
  value: {{ $v.tracing.serviceName | quote }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: "k8s.pod.name=$(POD_NAME),k8s.namespace.name=$(POD_NAMESPACE),k8s.container.name=wa-sidecar"
{{- with $v.tracing.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- with $v.tracing.protocol }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ . | quote }}
{{- end }}
{{- with $v.tracing.sampler }}
- name: OTEL_TRACES_SAMPLER
  value: {{ . | quote }}
{{- end }}
{{- with $v.tracing.samplerArg }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ . | quote }}
{{- end }}
{{- range $name, $value := $v.settings }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- with $v.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "wa-sidecar.volumes.impl" -}}
{{- $v := .Values -}}
# State (SQLite, the dev key) and tmp: the root filesystem is read-only.
- name: wa-sidecar-state
  emptyDir:
    sizeLimit: {{ $v.volumes.stateSizeLimit }}
- name: wa-sidecar-tmp
  emptyDir:
    sizeLimit: {{ $v.volumes.tmpSizeLimit }}
{{- if and $v.secrets.existingSecret (not $v.secretAgent.enabled) (not $v.vault.enabled) }}
- name: wa-sidecar-secrets
  secret:
    secretName: {{ $v.secrets.existingSecret }}
    defaultMode: 0444
    items:
      {{- range $key, $file := include "wa-sidecar.secretFiles" . | fromYaml }}
      {{- with index $v.secrets.keys $key }}
      - key: {{ . }}
        path: {{ $file }}
      {{- end }}
      {{- end }}
{{- end }}
{{- if $v.vault.enabled }}
{{- if $v.vault.serviceAccountToken.projected }}
# The pod's service-account token for Vault's Kubernetes auth, for the sidecar
# alone; kubelet renews it before it expires and the sidecar reads it at each login.
- name: wa-sidecar-vault-token
  projected:
    defaultMode: 0444
    sources:
      - serviceAccountToken:
          path: token
          expirationSeconds: {{ $v.vault.serviceAccountToken.expirationSeconds }}
          {{- with $v.vault.serviceAccountToken.audience }}
          audience: {{ . | quote }}
          {{- end }}
{{- end }}
{{- if $v.vault.ca.configMap }}
- name: wa-sidecar-vault-ca
  configMap:
    name: {{ $v.vault.ca.configMap }}
    defaultMode: 0444
    items:
      - key: {{ $v.vault.ca.key }}
        path: {{ $v.vault.ca.key }}
{{- else if $v.vault.ca.existingSecret }}
- name: wa-sidecar-vault-ca
  secret:
    secretName: {{ $v.vault.ca.existingSecret }}
    defaultMode: 0444
    items:
      - key: {{ $v.vault.ca.key }}
        path: {{ $v.vault.ca.key }}
{{- end }}
{{- end }}
{{- if $v.tls.enabled }}
# The sidecar's certificate (tls.crt, tls.key, ca.crt), as cert-manager writes it.
- name: wa-sidecar-tls
  secret:
    secretName: {{ include "wa-sidecar.tlsSecret" . }}
    defaultMode: 0444
{{- if $v.tls.grpc.enabled }}
# ca.crt alone, for the app's containers to verify the sidecar's certificate.
- name: wa-sidecar-tls-ca
  secret:
    secretName: {{ include "wa-sidecar.tlsSecret" . }}
    defaultMode: 0444
    items:
      - key: ca.crt
        path: ca.crt
{{- end }}
{{- if and $v.tls.grpc.clientAuth $v.tls.grpc.clientCASecret }}
- name: wa-sidecar-tls-client-ca
  secret:
    secretName: {{ $v.tls.grpc.clientCASecret }}
    defaultMode: 0444
    items:
      - key: {{ $v.tls.grpc.clientCAKey }}
        path: {{ $v.tls.grpc.clientCAKey }}
{{- end }}
{{- with and $v.tls.grpc.clientAuth (include "wa-sidecar.tlsClientSecret" .) }}
# The app's client certificate (mTLS), for the app's containers to present.
- name: wa-sidecar-tls-client
  secret:
    secretName: {{ . }}
    defaultMode: 0444
{{- end }}
{{- end }}
{{- if $v.auth.enabled }}
- name: wa-sidecar-auth
  {{- if $v.auth.existingSecret }}
  secret:
    secretName: {{ $v.auth.existingSecret }}
    defaultMode: 0444
    items:
      - key: {{ $v.auth.key }}
        path: {{ $v.auth.key }}
  {{- else }}
  configMap:
    name: {{ include "wa-sidecar.fullname" . }}-auth
    defaultMode: 0444
  {{- end }}
{{- end }}
{{- end -}}

{{- define "wa-sidecar.podAnnotations.impl" -}}
{{- $v := .Values -}}
# A digest of the sidecar's settings and the auth policy the chart renders.
checksum/config: {{ printf "%s\n%s" (include "wa-sidecar.env.impl" .) (include "wa-sidecar.authPolicy" .) | sha256sum }}
{{- if $v.secretAgent.enabled }}
{{- $p := include "wa-sidecar.agentPrefix" . }}
{{- $path := required "wa-sidecar: secretAgent.path (the KV v2 path) is required" $v.secretAgent.path }}
{{ $p }}/agent-inject: "true"
# The agent's init container runs first, so the files exist when the
# sidecar (itself an init container) starts.
{{ $p }}/agent-init-first: "true"
{{ $p }}/role: {{ required "wa-sidecar: secretAgent.role is required" $v.secretAgent.role | quote }}
{{- range $key, $file := include "wa-sidecar.secretFiles" . | fromYaml }}
{{- if index $v.secrets.keys $key }}
{{ $p }}/agent-inject-secret-{{ $file }}: {{ $path | quote }}
{{ $p }}/agent-inject-template-{{ $file }}: {{ printf "{{- with secret %q -}}{{ .Data.data.%s }}{{- end -}}" $path $file | quote }}
{{- end }}
{{- end }}
{{- with $v.secretAgent.extraAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end }}
{{- end -}}
