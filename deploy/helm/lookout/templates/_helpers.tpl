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

{{/*
The router config (docs/router-config.md). Each output is copied from values
without its secretRefs; every secretRef puts a reference ${SECRET_O<i>_<KEY>}
at its key, which the router expands from its environment (the container's
env takes the variable from the Secret, router-statefulset.yaml). Values
are passed as written, so ${VAR} elsewhere also expands (from extraEnv) and
a literal "$" before "{" or "$" is written "$$".
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
{{- $placeholder := printf "${%s}" (include "lookout.router.secretEnv" (dict "index" $i "key" $key)) -}}
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
{{- if gt (int $r.replicaCount) 1 -}}
{{- if not (include "lookout.router.stateSecret" .) -}}
{{- fail "router.replicaCount > 1 needs shared noise state: set router.state.postgres.existingSecret (a Secret with the DSN) or postgresql.enabled (docs/replicas.md)" -}}
{{- end -}}
{{- end -}}
{{- $pg := dict -}}
{{- if $r.state.postgres.maxConns }}{{ $_ := set $pg "max_conns" (int $r.state.postgres.maxConns) }}{{ end -}}
{{- if $r.state.postgres.timeout }}{{ $_ := set $pg "timeout" $r.state.postgres.timeout }}{{ end -}}
{{- if and $pg (include "lookout.router.stateSecret" .) -}}
{{- /* The DSN itself comes from LOOKOUT_STATE_POSTGRES_DSN (a secretKeyRef). */ -}}
{{- $_ := set $cfg "state" (dict "postgres" $pg) -}}
{{- end -}}
{{- toYaml (mergeOverwrite $cfg (deepCopy $r.extraConfig)) -}}
{{- end -}}

{{/* The sensor config (sensor/internal/config). The token comes from the environment. */}}
{{- define "lookout.sensor.config" -}}
{{- $s := .Values.sensor -}}
{{- /* The sensor loads its embedded upstream rules, then rules.d (customRules). */ -}}
{{- $rules := list -}}
{{- if $s.customRules }}{{ $rules = append $rules "/etc/lookout/rules.d" }}{{ end -}}
{{- if not (or $s.defaultRules $rules) -}}
{{- fail "sensor: defaultRules is false and customRules is empty: the sensor would load no rules" -}}
{{- end -}}
{{- $cfg := dict "rules" $rules "default_rules" $s.defaultRules "min_priority" $s.minPriority "rule_matching" $s.ruleMatching "log_level" $s.logLevel -}}
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

{{/* The bundled PostgreSQL (postgresql.enabled) and the router's shared state. */}}
{{- define "lookout.postgresql.fullname" -}}{{ include "lookout.fullname" . | trunc 52 | trimSuffix "-" }}-postgresql{{- end -}}

{{/* The Secret and key holding the state DSN; empty when the state is embedded. */}}
{{- define "lookout.router.stateSecret" -}}
{{- if .Values.postgresql.enabled -}}{{ include "lookout.postgresql.fullname" . }}{{- else -}}{{ .Values.router.state.postgres.existingSecret }}{{- end -}}
{{- end -}}
{{- define "lookout.router.stateKey" -}}
{{- if .Values.postgresql.enabled -}}dsn{{- else -}}{{ .Values.router.state.postgres.key }}{{- end -}}
{{- end -}}

{{/* The k8s_audit Deployment (k8saudit.yaml). */}}
{{- define "lookout.k8sAudit.fullname" -}}{{ include "lookout.fullname" . | trunc 53 | trimSuffix "-" }}-k8s-audit{{- end -}}

{{- define "lookout.k8sAudit.config" -}}
{{- $k := .Values.k8sAudit -}}
{{- /* The embedded upstream k8s_audit rules (the syscall source is off), then rules.d (customRules). */ -}}
{{- $rules := list -}}
{{- if $k.customRules }}{{ $rules = append $rules "/etc/lookout/rules.d" }}{{ end -}}
{{- if not (or $k.defaultRules $rules) -}}
{{- fail "k8sAudit: defaultRules is false and customRules is empty: the audit sensor would load no rules" -}}
{{- end -}}
{{- $cfg := dict "rules" $rules "default_rules" $k.defaultRules "min_priority" $k.minPriority "rule_matching" $k.ruleMatching "log_level" .Values.sensor.logLevel -}}
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
