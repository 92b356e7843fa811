{{/* Names, labels and the rendered config files of the lookout chart. */}}

{{- define "lookout.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "lookout.fullname" -}}
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

{{/* Object names of the parts; 63 characters at most (Service names are DNS labels). */}}
{{- define "lookout.sensor.fullname" -}}{{ include "lookout.fullname" . | trunc 56 | trimSuffix "-" }}-sensor{{- end -}}
{{- define "lookout.router.fullname" -}}{{ include "lookout.fullname" . | trunc 56 | trimSuffix "-" }}-router{{- end -}}
{{- define "lookout.sensor.metricsService" -}}{{ include "lookout.fullname" . | trunc 48 | trimSuffix "-" }}-sensor-metrics{{- end -}}

{{- define "lookout.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "lookout.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels; $component is "sensor" or "router". */}}
{{- define "lookout.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lookout.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "lookout.image" -}}
{{- printf "%s:%s" .image.repository (default .ctx.Chart.AppVersion .image.tag) -}}
{{- end -}}

{{- define "lookout.sensor.serviceAccountName" -}}
{{- if .Values.sensor.serviceAccount.create -}}
{{- default (include "lookout.sensor.fullname" .) .Values.sensor.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.sensor.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "lookout.router.serviceAccountName" -}}
{{- if .Values.router.serviceAccount.create -}}
{{- default (include "lookout.router.fullname" .) .Values.router.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.router.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret and key holding the shared bearer token. */}}
{{- define "lookout.auth.secretName" -}}
{{- default (printf "%s-auth" (include "lookout.fullname" .)) .Values.auth.existingSecret -}}
{{- end -}}

{{/* The environment variable an output's secretRef is passed in: SECRET_O<index>_<KEY>. */}}
{{- define "lookout.router.secretEnv" -}}
{{- printf "SECRET_O%d_%s" (int .index) (regexReplaceAll "[^A-Z0-9]+" (upper .key) "_" | trimAll "_") -}}
{{- end -}}

{{/* True (non-empty) when some output takes a value from a Secret. */}}
{{- define "lookout.router.hasSecretRefs" -}}
{{- range .Values.router.outputs }}{{ if .secretRefs }}true{{ end }}{{ end -}}
{{- end -}}

{{/*
The router config (docs/router-config.md). Each output is copied from values
without its secretRefs; every secretRef puts a placeholder __SECRET_O<i>_<KEY>__
at its key, which the render-config init container replaces with the Secret's
value (see router-configmap.yaml).
*/}}
{{- define "lookout.router.config" -}}
{{- $r := .Values.router -}}
{{- $cfg := dict "listen" (printf ":%d" (int $r.port)) "body_limit" (int64 $r.bodyLimit) "shutdown_timeout" $r.shutdownTimeout -}}
{{- $_ := set $cfg "queue" (dict "dir" "/var/lib/lookout/router" "max_bytes" $r.queue.maxBytes) -}}
{{- if not $r.outputs -}}
{{- fail "router.outputs: at least one output is required (see ci/all-outputs-values.yaml)" -}}
{{- end -}}
{{- $outs := list -}}
{{- range $i, $o := $r.outputs -}}
{{- if or (not $o.name) (not $o.type) -}}
{{- fail (printf "router.outputs[%d]: name and type are required" $i) -}}
{{- end -}}
{{- $out := omit (deepCopy $o) "secretRefs" -}}
{{- range $key, $ref := $o.secretRefs -}}
{{- if or (not $ref.name) (not $ref.key) -}}
{{- fail (printf "router.outputs[%d].secretRefs.%s: name (the Secret) and key (in the Secret) are required" $i $key) -}}
{{- end -}}
{{- $block := get $out $o.type | default dict -}}
{{- $placeholder := printf "__%s__" (include "lookout.router.secretEnv" (dict "index" $i "key" $key)) -}}
{{- $path := splitList "." $key -}}
{{- if eq (len $path) 1 -}}
{{- $_ := set $block $key $placeholder -}}
{{- else if eq (len $path) 2 -}}
{{- $inner := get $block (first $path) | default dict -}}
{{- $_ := set $inner (last $path) $placeholder -}}
{{- $_ := set $block (first $path) $inner -}}
{{- else -}}
{{- fail (printf "router.outputs[%d].secretRefs.%s: at most one dot (e.g. headers.Authorization)" $i $key) -}}
{{- end -}}
{{- $_ := set $out $o.type $block -}}
{{- end -}}
{{- $outs = append $outs $out -}}
{{- end -}}
{{- $_ := set $cfg "outputs" $outs -}}
{{- toYaml (mergeOverwrite $cfg (deepCopy $r.extraConfig)) -}}
{{- end -}}

{{/* The sensor config (sensor/internal/config). The token comes from the environment. */}}
{{- define "lookout.sensor.config" -}}
{{- $s := .Values.sensor -}}
{{- $rules := list -}}
{{- if $s.defaultRules }}{{ $rules = append $rules "/etc/lookout/rules/falco_rules.yaml" }}{{ end -}}
{{- if $s.customRules }}{{ $rules = append $rules "/etc/lookout/rules.d" }}{{ end -}}
{{- if not $rules -}}
{{- fail "sensor: defaultRules is false and customRules is empty: the sensor would load no rules" -}}
{{- end -}}
{{- $cfg := dict "rules" $rules "min_priority" $s.minPriority "rule_matching" $s.ruleMatching "log_level" $s.logLevel -}}
{{- $_ := set $cfg "metrics" (dict "listen" (ternary (printf ":%d" (int $s.metrics.port)) "" (gt (int $s.metrics.port) 0))) -}}
{{- $outputs := dict "stdout" (dict "enabled" $s.stdout) -}}
{{- if .Values.router.enabled -}}
{{- $_ := set $outputs "router" (dict "url" (printf "http://%s.%s.svc:%d" (include "lookout.router.fullname" .) .Release.Namespace (int .Values.router.port)) "gzip" true) -}}
{{- else if not (or $s.stdout (dig "outputs" "router" "url" "" $s.extraConfig) (dig "outputs" "file" "path" "" $s.extraConfig)) -}}
{{- fail "sensor: router.enabled is false and sensor.stdout is false: alerts would go nowhere (set sensor.extraConfig.outputs.router.url to an external router, or sensor.stdout)" -}}
{{- end -}}
{{- $_ := set $cfg "outputs" $outputs -}}
{{- $_ := set $cfg "spool" (dict "dir" $s.spool.hostPath "max_bytes" (int64 $s.spool.maxBytes)) -}}
{{- toYaml (mergeOverwrite $cfg (deepCopy $s.extraConfig)) -}}
{{- end -}}

{{/* The k8s_audit Deployment (k8saudit.yaml). */}}
{{- define "lookout.k8sAudit.fullname" -}}{{ include "lookout.fullname" . | trunc 53 | trimSuffix "-" }}-k8s-audit{{- end -}}

{{- define "lookout.k8sAudit.config" -}}
{{- $k := .Values.k8sAudit -}}
{{- $rules := list -}}
{{- if $k.defaultRules }}{{ $rules = append $rules "/etc/lookout/rules/k8s_audit_rules.yaml" }}{{ end -}}
{{- if $k.customRules }}{{ $rules = append $rules "/etc/lookout/rules.d" }}{{ end -}}
{{- if not $rules -}}
{{- fail "k8sAudit: defaultRules is false and customRules is empty: the audit sensor would load no rules" -}}
{{- end -}}
{{- $cfg := dict "rules" $rules "min_priority" $k.minPriority "rule_matching" $k.ruleMatching "log_level" .Values.sensor.logLevel -}}
{{- $_ := set $cfg "metrics" (dict "listen" (ternary (printf ":%d" (int $k.metrics.port)) "" (gt (int $k.metrics.port) 0))) -}}
{{- $outputs := dict "stdout" (dict "enabled" .Values.sensor.stdout) -}}
{{- if .Values.router.enabled -}}
{{- $_ := set $outputs "router" (dict "url" (printf "http://%s.%s.svc:%d" (include "lookout.router.fullname" .) .Release.Namespace (int .Values.router.port)) "gzip" true) -}}
{{- else if not (or .Values.sensor.stdout (dig "outputs" "router" "url" "" $k.extraConfig) (dig "outputs" "file" "path" "" $k.extraConfig)) -}}
{{- fail "k8sAudit: router.enabled is false and sensor.stdout is false: alerts would go nowhere (set k8sAudit.extraConfig.outputs.router.url, or sensor.stdout)" -}}
{{- end -}}
{{- $_ := set $cfg "outputs" $outputs -}}
{{- $_ := set $cfg "spool" (dict "dir" "/var/lib/lookout/sensor") -}}
{{- $src := dict "listen" (printf ":%d" (int $k.port)) "path" $k.path "max_body_bytes" (int64 $k.maxBodyBytes) "dedup_window" $k.dedupWindow "tls" (dict "cert_file" "/etc/lookout/tls/tls.crt" "key_file" "/etc/lookout/tls/tls.key") -}}
{{- $_ := set $cfg "sources" (dict "syscall" (dict "enabled" false) "k8s_audit" $src) -}}
{{- toYaml (mergeOverwrite $cfg (deepCopy $k.extraConfig)) -}}
{{- end -}}
