{{/* The release's name, bounded as Kubernetes names are. */}}
{{- define "gantry.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "gantry.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "gantry.labels" -}}
{{ include "gantry.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "gantry.serviceAccountName" -}}
{{- if .Values.serviceAccount.name -}}
{{- .Values.serviceAccount.name -}}
{{- else -}}
{{- include "gantry.fullname" . -}}
{{- end -}}
{{- end -}}

{{- define "gantry.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/*
The configuration, parsed: the chart reads the environments from it (RBAC) and refuses
what cannot work in a cluster. Every refusal names the key, as Gantry does at start.
Returns the parsed TOML as JSON (templates pass strings, not maps).
*/}}
{{- define "gantry.config" -}}
{{- $text := .Values.config | default "" -}}
{{- if not (trim $text) -}}
{{- fail "config: empty; set it to Gantry's configuration file (TOML, every key described in deploy/gantry.example.toml)" -}}
{{- end -}}
{{- $cfg := fromToml $text -}}
{{- if hasKey $cfg "Error" -}}
{{- fail (printf "config: not valid TOML: %s" (get $cfg "Error")) -}}
{{- end -}}
{{- $db := get $cfg "database" | default dict -}}
{{- if hasKey $db "url" -}}
{{- fail "config: database.url holds the database password: put the URL in a Secret and name it in secrets.databaseUrl" -}}
{{- end -}}
{{- if hasKey $db "migration_url" -}}
{{- fail "config: database.migration_url holds a password: put the URL in a Secret and name it in secrets.migrationDatabaseUrl" -}}
{{- end -}}
{{- $notifications := get $cfg "notifications" | default dict -}}
{{- if hasKey $notifications "webhook_url" -}}
{{- fail "config: notifications.webhook_url holds the webhook's token: put the URL in a Secret and name it in secrets.webhookUrl" -}}
{{- end -}}
{{- $auth := get $cfg "auth" | default dict -}}
{{- if hasKey $auth "client_secret" -}}
{{- fail "config: auth.client_secret is a secret: put it in a Secret and name it in secrets.oidcClientSecret" -}}
{{- end -}}
{{- if eq (get $auth "mode" | default "oidc") "demo" -}}
{{- fail "config: auth.mode = \"demo\" lets anyone be anyone; a cluster install signs people in with \"oidc\"" -}}
{{- end -}}
{{- $simulator := get $cfg "simulator" | default dict -}}
{{- if get $simulator "enabled" -}}
{{- fail "config: simulator.enabled = true is the demo's simulated cluster; a cluster install watches the real one" -}}
{{- end -}}
{{- $cluster := get $cfg "cluster" | default dict -}}
{{- if not (has (get $cluster "source" | default "in-cluster") (list "in-cluster")) -}}
{{- fail "config: cluster.source must be \"in-cluster\" (or left out) when installed by the chart: Gantry uses the pod's service account" -}}
{{- end -}}
{{- $envs := get $cfg "environments" | default list -}}
{{- if not $envs -}}
{{- fail "config: no [[environments]]; the chart makes its Roles from them, so list each environment (name, namespace, workloads)" -}}
{{- end -}}
{{- range $envs -}}
{{- if not .namespace -}}
{{- fail (printf "config: environments.%s.namespace is missing" (.name | default "?")) -}}
{{- end -}}
{{- end -}}
{{- toJson $cfg -}}
{{- end -}}

{{/* Whether an action's policy leaves it enabled: anything but "disabled" (absent: on). */}}
{{- define "gantry.enabled" -}}
{{- $policy := index . 0 | default dict -}}
{{- $action := index . 1 -}}
{{- if ne (toString (get $policy $action | default "on")) "disabled" -}}true{{- end -}}
{{- end -}}

{{/* A secretKeyRef env var when the Secret is named. */}}
{{- define "gantry.secretEnv" -}}
{{- $ref := index . 1 -}}
{{- if $ref.name }}
- name: {{ index . 0 }}
  valueFrom:
    secretKeyRef:
      name: {{ $ref.name | quote }}
      key: {{ $ref.key | quote }}
{{- end -}}
{{- end -}}
