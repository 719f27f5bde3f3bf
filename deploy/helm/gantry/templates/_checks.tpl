{{/*
What the chart refuses besides the configuration (see gantry.config): a Secret not named,
an install that cannot be reached or cannot reach what it needs, a PodDisruptionBudget
that would block every eviction. Each message names the value to set.
*/}}
{{- define "gantry.checks" -}}
{{- $cfg := include "gantry.config" . | fromJson -}}
{{- $auth := get $cfg "auth" | default dict -}}
{{- $oidc := eq (get $auth "mode" | default "oidc") "oidc" -}}
{{- if not .Values.secrets.databaseUrl.name -}}
{{- fail "secrets.databaseUrl.name: no Secret named for the database URL (postgres://…); Gantry keeps its sessions, requests and audit log there" -}}
{{- end -}}
{{- if and $oidc (not .Values.secrets.oidcClientSecret.name) -}}
{{- fail "secrets.oidcClientSecret.name: no Secret named for the OpenID client secret (auth.mode is \"oidc\")" -}}
{{- end -}}
{{- if lt (int .Values.replicas) 1 -}}
{{- fail "replicas: at least 1" -}}
{{- end -}}
{{- $pdb := .Values.podDisruptionBudget -}}
{{- if $pdb.enabled -}}
{{- if and (not (kindIs "invalid" $pdb.minAvailable)) (not (kindIs "invalid" $pdb.maxUnavailable)) -}}
{{- fail "podDisruptionBudget: set minAvailable or maxUnavailable, not both" -}}
{{- end -}}
{{- if not (kindIs "invalid" $pdb.minAvailable) -}}
{{- if ge (int $pdb.minAvailable) (int .Values.replicas) -}}
{{- fail (printf "podDisruptionBudget.minAvailable: %d of %d replicas would block every eviction (no node could be drained); use at most %d, or maxUnavailable" (int $pdb.minAvailable) (int .Values.replicas) (sub (int .Values.replicas) 1)) -}}
{{- end -}}
{{- else if lt (int $pdb.maxUnavailable) 1 -}}
{{- fail "podDisruptionBudget.maxUnavailable: 0 would block every eviction (no node could be drained); use 1" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.ingress.enabled (not .Values.ingress.host) -}}
{{- fail "ingress.host: the host name people open (it must match auth.redirect_url)" -}}
{{- end -}}
{{- if .Values.networkPolicy.enabled -}}
{{- $egress := .Values.networkPolicy.egress -}}
{{- if not $egress.apiServer.to -}}
{{- fail "networkPolicy.egress.apiServer.to: the API server's addresses (kubectl get endpoints kubernetes -n default), or networkPolicy.enabled=false" -}}
{{- end -}}
{{- if not $egress.postgres.to -}}
{{- fail "networkPolicy.egress.postgres.to: where PostgreSQL is (a podSelector or an ipBlock), or networkPolicy.enabled=false" -}}
{{- end -}}
{{- if and $oidc (not $egress.oidcProvider.to) -}}
{{- fail "networkPolicy.egress.oidcProvider.to: where the OpenID provider is (Entra ID: an ipBlock such as 0.0.0.0/0 on port 443), or networkPolicy.enabled=false" -}}
{{- end -}}
{{- if and (get (get $cfg "prometheus" | default dict) "url") (not $egress.prometheus.to) -}}
{{- fail "networkPolicy.egress.prometheus.to: prometheus.url is set; say where Prometheus runs" -}}
{{- end -}}
{{- if and (get (get $cfg "alertmanager" | default dict) "url") (not $egress.alertmanager.to) -}}
{{- fail "networkPolicy.egress.alertmanager.to: alertmanager.url is set; say where Alertmanager runs" -}}
{{- end -}}
{{- if and .Values.secrets.webhookUrl.name (not $egress.webhook.to) -}}
{{- fail "networkPolicy.egress.webhook.to: secrets.webhookUrl is set; say where the webhook's server is" -}}
{{- end -}}
{{- end -}}
{{- end -}}
