package validate_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	"github.com/lookout-sec/lookout/deploy/validate"
)

// TestChartRenders renders the chart with value sets that cover every
// template branch and validates every object strictly.
func TestChartRenders(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string // exact object list, when given
	}{
		{name: "default values", want: []string{
			"ServiceAccount/lk-lookout-router", "ServiceAccount/lk-lookout-sensor", "Secret/lk-lookout-auth",
			"ConfigMap/lk-lookout-router", "ConfigMap/lk-lookout-sensor",
			"Service/lk-lookout-router", "DaemonSet/lk-lookout-sensor", "StatefulSet/lk-lookout-router",
		}},
		{name: "every output", args: []string{"-f", allOutputs}, want: []string{
			"PodDisruptionBudget/lk-lookout-router", // two replicas
			"ServiceAccount/lk-lookout-router", "ServiceAccount/lk-lookout-sensor",
			"ConfigMap/lk-lookout-dashboard", "ConfigMap/lk-lookout-k8s-audit", "ConfigMap/lk-lookout-router", "ConfigMap/lk-lookout-sensor",
			"ConfigMap/lk-lookout-sensor-custom-rules", "Service/lk-lookout-k8s-audit", "Service/lk-lookout-router", "Service/lk-lookout-sensor-metrics",
			"DaemonSet/lk-lookout-sensor", "Deployment/lk-lookout-k8s-audit", "StatefulSet/lk-lookout-router", "PrometheusRule/lk-lookout",
			"ServiceMonitor/lk-lookout-router", "ServiceMonitor/lk-lookout-sensor",
		}},
		{name: "sensor only, to stdout", args: []string{"--set", "router.enabled=false", "--set", "sensor.stdout=true"}},
		{name: "sensor only, external router", args: []string{"--set", "router.enabled=false", "--set", "sensor.extraConfig.outputs.router.url=http://router.example:2801"}},
		{name: "router only", args: []string{"--set", "sensor.enabled=false"}},
		{name: "no persistence", args: []string{"--set", "router.persistence.enabled=false"}},
		{name: "privileged sensor", args: []string{"--set", "sensor.privileged=true"}},
		{name: "sys_admin sensor", args: []string{"--set", "sensor.sysAdmin=true", "--set", "sensor.metrics.port=0"}},
		{name: "custom rules only", args: []string{"--set", "sensor.defaultRules=false", "--set-string", "sensor.customRules.mine\\.yaml=- list: x\n  items: []"}},
		{name: "long release name", args: []string{"-f", allOutputs, "--set", "fullnameOverride=" + strings.Repeat("a", 70)}},
		{name: "k8s audit, custom rules only", args: []string{"--set", "k8sAudit.enabled=true", "--set", "k8sAudit.defaultRules=false", "--set-string", "k8sAudit.customRules.mine\\.yaml=- list: x\n  items: []"}},
		{name: "k8s audit NodePort", args: []string{"--set", "k8sAudit.enabled=true", "--set", "k8sAudit.service.type=NodePort", "--set", "k8sAudit.service.nodePort=30765"}},
		{name: "docker socket", args: []string{"--set", "sensor.containerRuntimePaths={/var/run/docker.sock}"}},
		{name: "replicas on the bundled postgresql, network policies", args: []string{"--set", "router.replicaCount=3",
			"--set", "postgresql.enabled=true", "--set", "networkPolicy.enabled=true", "--set-json", `networkPolicy.routerEgress=[{"ports":[{"port":443}]}]`}},
		{name: "network policies, egress anywhere", args: []string{"--set", "networkPolicy.enabled=true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := render(t, tt.args...)
			if tt.want != nil && !slices.Equal(validate.List(objs), tt.want) {
				t.Errorf("objects:\n got %v\nwant %v", validate.List(objs), tt.want)
			}
		})
	}
}

// TestChartRejectsBadValues: values the chart cannot turn into a working
// install fail at render time with a message naming the value.
func TestChartRejectsBadValues(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no outputs", []string{"--set", "router.outputs=null"}, "router.outputs: at least one output is required"},
		{"output without type", []string{"--set-json", `router.outputs=[{"name":"x"}]`}, "at '/router/outputs/0': missing property 'type'"},
		{"unknown output type", []string{"--set", "router.outputs[0].type=smtp"}, "at '/router/outputs/0/type': value must be one of"},
		{"secretRef without key", []string{"-f", allOutputs, "--set", "router.outputs[0].secretRefs.webhook_url.key="}, "at '/router/outputs/0/secretRefs/webhook_url/key': minLength: got 0, want 1"},
		{"misspelt value", []string{"--set", "sensor.minpriority=warning"}, "at '/sensor': additional properties 'minpriority' not allowed"},
		{"unknown priority", []string{"--set", "router.outputs[0].min_priority=warn"}, "at '/router/outputs/0/min_priority': 'warn' does not match pattern"},
		{"wrong type", []string{"--set", "router.port=http"}, "at '/router/port': got string, want integer"},
		{"secretRef too deep", []string{"-f", allOutputs, "--set", "router.outputs[1].secretRefs.a\\.b\\.c.name=s", "--set", "router.outputs[1].secretRefs.a\\.b\\.c.key=k"}, "at most one dot"},
		{"no rules", []string{"--set", "sensor.defaultRules=false"}, "the sensor would load no rules"},
		{"bad rules file name", []string{"--set-string", "sensor.customRules.rules=x"}, `sensor.customRules: "rules" must be a file name ending in .yaml`},
		{"alerts go nowhere", []string{"--set", "router.enabled=false"}, "alerts would go nowhere"},
		{"replicas without shared state", []string{"--set", "router.replicaCount=2"}, "at '/router/state/postgres/existingSecret': minLength: got 0, want 1"},
		{"replicas without shared state (template)", []string{"--set", "router.replicaCount=2", "--skip-schema-validation"}, "router.replicaCount > 1 needs shared noise state"},
		{"bad state timeout", []string{"-f", allOutputs, "--set", "router.state.postgres.timeout=2"}, "at '/router/state/postgres/timeout'"},
		{"relative runtime path", []string{"--set", "sensor.containerRuntimePaths={run/containerd}"}, "at '/sensor/containerRuntimePaths/0': 'run/containerd' does not match pattern '^/'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := helmTemplate(t, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestChartSensorPod(t *testing.T) {
	objs := render(t)
	ds := mustFind[*appsv1.DaemonSet](t, objs, "DaemonSet", "lk-lookout-sensor")
	pod := ds.Spec.Template.Spec
	if !pod.HostPID || pod.HostNetwork {
		t.Errorf("hostPID=%v hostNetwork=%v, want true/false", pod.HostPID, pod.HostNetwork)
	}
	if len(pod.Tolerations) != 1 || pod.Tolerations[0].Operator != corev1.TolerationOpExists || pod.Tolerations[0].Key != "" {
		t.Errorf("tolerations = %+v, want one {operator: Exists} (every node)", pod.Tolerations)
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.Privileged == nil || *sc.Privileged || sc.Capabilities == nil {
		t.Fatalf("securityContext = %+v, want unprivileged with capabilities", sc)
	}
	var added []string
	for _, cp := range sc.Capabilities.Add {
		added = append(added, string(cp))
	}
	if want := []string{"BPF", "PERFMON", "SYS_RESOURCE", "SYS_PTRACE", "DAC_READ_SEARCH"}; !slices.Equal(added, want) {
		t.Errorf("capabilities.add = %v, want %v", added, want)
	}
	if len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
		t.Errorf("capabilities.drop = %v, want [ALL]", sc.Capabilities.Drop)
	}
	for _, r := range []struct {
		got  resource.Quantity
		want string
	}{
		{c.Resources.Requests[corev1.ResourceCPU], "100m"}, {c.Resources.Requests[corev1.ResourceMemory], "256Mi"},
		{c.Resources.Limits[corev1.ResourceCPU], "200m"}, {c.Resources.Limits[corev1.ResourceMemory], "512Mi"},
	} {
		if r.got.Cmp(resource.MustParse(r.want)) != 0 {
			t.Errorf("resources: got %s, want %s", r.got.String(), r.want)
		}
	}
	for name, p := range map[string]*corev1.Probe{"startup": c.StartupProbe, "liveness": c.LivenessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" || p.HTTPGet.Port.StrVal != "metrics" {
			t.Errorf("%s probe = %+v, want GET /healthz on port metrics", name, p)
		}
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m
	}
	for _, p := range []string{"/sys/kernel/btf", "/sys/fs/bpf", "/sys/kernel/tracing", "/run/containerd", "/run/crio", "/etc/lookout/sensor.yaml"} {
		if m, ok := mounts[p]; !ok || !m.ReadOnly {
			t.Errorf("mount %s: %+v, want present and read-only", p, m)
		}
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if e := env["LOOKOUT_OUTPUTS_ROUTER_TOKEN"]; e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name != "lk-lookout-auth" {
		t.Errorf("router token env = %+v, want from Secret lk-lookout-auth", e)
	}
	if e := env["LOOKOUT_HOSTNAME"]; e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "spec.nodeName" {
		t.Errorf("hostname env = %+v, want the node name", e)
	}
	cm := mustFind[*corev1.ConfigMap](t, objs, "ConfigMap", "lk-lookout-sensor")
	if !strings.Contains(cm.Data["sensor.yaml"], "url: http://lk-lookout-router.sec.svc:2801") {
		t.Errorf("sensor.yaml does not post to the router Service:\n%s", cm.Data["sensor.yaml"])
	}
	// The alert spool: a writable hostPath at the directory the config names.
	if y := cm.Data["sensor.yaml"]; !strings.Contains(y, "dir: /var/lib/lookout/sensor") || !strings.Contains(y, "max_bytes: 268435456") {
		t.Errorf("sensor.yaml has no spool:\n%s", y)
	}
	spoolMounted := false
	for _, m := range c.VolumeMounts {
		spoolMounted = spoolMounted || (m.Name == "spool" && m.MountPath == "/var/lib/lookout/sensor" && !m.ReadOnly)
	}
	spoolHost := false
	for _, v := range ds.Spec.Template.Spec.Volumes {
		spoolHost = spoolHost || (v.Name == "spool" && v.HostPath != nil && v.HostPath.Path == "/var/lib/lookout/sensor")
	}
	if !spoolMounted || !spoolHost {
		t.Errorf("spool hostPath mounted %v, volume %v", spoolMounted, spoolHost)
	}
}

func TestChartRouterPod(t *testing.T) {
	objs := render(t, "-f", allOutputs)
	sts := mustFind[*appsv1.StatefulSet](t, objs, "StatefulSet", "lk-lookout-router")
	if n := sts.Spec.Replicas; n == nil || *n != 2 {
		t.Errorf("replicas = %v, want 2", n)
	}
	if len(sts.Spec.VolumeClaimTemplates) != 1 || sts.Spec.VolumeClaimTemplates[0].Name != "queue" {
		t.Fatalf("volumeClaimTemplates = %+v, want one named queue", sts.Spec.VolumeClaimTemplates)
	}
	if got := sts.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage]; got.String() != "5Gi" {
		t.Errorf("queue volume size = %s, want 5Gi", got.String())
	}
	pod := sts.Spec.Template.Spec
	if psc := pod.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.FSGroup == nil {
		t.Errorf("pod securityContext = %+v, want runAsNonRoot and an fsGroup for the queue volume", psc)
	}
	c := pod.Containers[0]
	queueMounted := false
	for _, m := range c.VolumeMounts {
		queueMounted = queueMounted || (m.Name == "queue" && m.MountPath == "/var/lib/lookout/router" && !m.ReadOnly)
	}
	if !queueMounted {
		t.Errorf("the queue volume is not mounted writable at /var/lib/lookout/router: %+v", c.VolumeMounts)
	}
	for name, p := range map[string]*corev1.Probe{"startup": c.StartupProbe, "liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" || p.HTTPGet.Port.StrVal != "http" {
			t.Errorf("%s probe = %+v, want GET /healthz on port http", name, p)
		}
	}
	cm := mustFind[*corev1.ConfigMap](t, objs, "ConfigMap", "lk-lookout-router")
	if !strings.Contains(cm.Data["router.yaml"], "dir: /var/lib/lookout/router") {
		t.Errorf("router.yaml queue.dir is not the mounted volume:\n%s", cm.Data["router.yaml"])
	}
	svc := mustFind[*corev1.Service](t, objs, "Service", "lk-lookout-router")
	if sts.Spec.ServiceName != svc.Name || svc.Spec.Ports[0].TargetPort.StrVal != "http" {
		t.Errorf("serviceName %q, service %q targetPort %v", sts.Spec.ServiceName, svc.Name, svc.Spec.Ports[0].TargetPort)
	}
}

// TestChartSecretsNeverInlined: with every output configured, each secret
// reaches the router only through a secretKeyRef in its container's env
// (no init container renders the config); no ConfigMap holds one.
func TestChartSecretsNeverInlined(t *testing.T) {
	objs := render(t, "-f", allOutputs)
	sts := mustFind[*appsv1.StatefulSet](t, objs, "StatefulSet", "lk-lookout-router")
	if init := sts.Spec.Template.Spec.InitContainers; len(init) != 0 {
		t.Fatalf("init containers = %v, want none", init)
	}
	refs := map[string]string{}
	for _, e := range sts.Spec.Template.Spec.Containers[0].Env {
		if !strings.HasPrefix(e.Name, "SECRET_") {
			continue
		}
		if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			t.Errorf("env %s is not from a Secret: %+v", e.Name, e)
			continue
		}
		refs[e.Name] = e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
	}
	want := map[string]string{
		"SECRET_O0_WEBHOOK_URL":           "lookout-slack/webhook-url",
		"SECRET_O1_ROUTING_KEY":           "lookout-pagerduty/routing-key",
		"SECRET_O2_PASSWORD":              "lookout-elasticsearch/password",
		"SECRET_O3_HEADERS_AUTHORIZATION": "lookout-webhook/authorization",
	}
	if len(refs) != len(want) {
		t.Errorf("secret env = %v, want %v", refs, want)
	}
	for k, v := range want {
		if refs[k] != v {
			t.Errorf("env %s = %q, want %q", k, refs[k], v)
		}
	}
	cfg := mustFind[*corev1.ConfigMap](t, objs, "ConfigMap", "lk-lookout-router").Data["router.yaml"]
	for k := range want {
		if strings.Count(cfg, "${"+k+"}") != 1 {
			t.Errorf("router.yaml has no single reference ${%s}:\n%s", k, cfg)
		}
	}
	for _, o := range objs {
		if o.Kind == "Secret" {
			t.Errorf("the chart rendered %s although every secret is an existingSecret", o)
		}
	}
}

// TestChartShipsNoRulesCopy: the sensor loads the upstream rules embedded
// in its binary (always its own version); the chart renders no copy of
// them, only the rules.d ConfigMap of customRules.
func TestChartShipsNoRulesCopy(t *testing.T) {
	if _, err := os.Stat(chartDir + "/rules"); !os.IsNotExist(err) {
		t.Errorf("the chart has a rules/ directory (%v): the sensor embeds the upstream rules", err)
	}
	objs := render(t)
	for _, o := range objs {
		if cm, ok := o.Value.(*corev1.ConfigMap); ok {
			if _, ok := cm.Data["falco_rules.yaml"]; ok {
				t.Errorf("ConfigMap %s ships falco_rules.yaml", cm.Name)
			}
		}
	}
	cfg := mustFind[*corev1.ConfigMap](t, objs, "ConfigMap", "lk-lookout-sensor").Data["sensor.yaml"]
	if !strings.Contains(cfg, "default_rules: true\n") || !strings.Contains(cfg, "rules: []\n") {
		t.Errorf("default sensor.yaml should load the embedded rules only:\n%s", cfg)
	}
}

// TestChartRulesLoad gives the sensor the rules exactly as the chart mounts
// them (its embedded upstream rules, then the customRules directory of the
// example values at /etc/lookout/rules.d) and has `lookout-sensor rules
// validate --default` load them in that order.
func TestChartRulesLoad(t *testing.T) {
	sensor := sensorBinary(t)
	objs := render(t, "-f", allOutputs)
	dir := t.TempDir()
	write := func(p, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	custom := mustFind[*corev1.ConfigMap](t, objs, "ConfigMap", "lk-lookout-sensor-custom-rules").Data
	if len(custom) == 0 {
		t.Fatal("the example values have no customRules")
	}
	for k, v := range custom {
		write(filepath.Join(dir, "rules.d", k), v)
	}
	cfg := mustFind[*corev1.ConfigMap](t, objs, "ConfigMap", "lk-lookout-sensor").Data["sensor.yaml"]
	if !strings.Contains(cfg, "default_rules: true\n") || !strings.Contains(cfg, "rules:\n- /etc/lookout/rules.d\n") {
		t.Fatalf("sensor.yaml does not load the embedded rules then rules.d:\n%s", cfg)
	}
	out, err := exec.Command(sensor, "rules", "validate", "--strict", "--default", filepath.Join(dir, "rules.d")).CombinedOutput()
	if err != nil {
		t.Fatalf("lookout-sensor rules validate: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "ok: ") {
		t.Fatalf("unexpected output:\n%s", out)
	}
}

// TestChartTemplateWithoutKubeVersion: `helm template` with no
// --kube-version (helm assumes v1.20.0 then) renders the chart.
func TestChartTemplateWithoutKubeVersion(t *testing.T) {
	out, err := exec.Command(tool(t, "LOOKOUT_HELM", "helm"), "template", "lk", chartDir).CombinedOutput()
	if err != nil {
		t.Fatalf("helm template without --kube-version: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "kind: DaemonSet") {
		t.Fatalf("no DaemonSet rendered:\n%s", out)
	}
}

// TestChartMonitoring: grafanaDashboard.enabled renders the dashboard file
// unchanged in a ConfigMap Grafana's sidecar picks up (grafana_dashboard
// label), prometheusRule.enabled the alert file's groups unchanged in a
// PrometheusRule (the groups promtool checks in make test-deploy).
func TestChartMonitoring(t *testing.T) {
	objs := render(t, "-f", allOutputs)
	cm := mustFind[*corev1.ConfigMap](t, objs, "ConfigMap", "lk-lookout-dashboard")
	dash, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	if cm.Labels["grafana_dashboard"] != "1" || cm.Annotations["grafana_folder"] != "Security" {
		t.Errorf("dashboard ConfigMap labels %v annotations %v", cm.Labels, cm.Annotations)
	}
	if cm.Data["lookout-dashboard.json"] != strings.TrimRight(string(dash), "\n") {
		t.Error("the dashboard ConfigMap does not hold monitoring/lookout-dashboard.json unchanged")
	}
	pr := mustFind[*monitoringv1.PrometheusRule](t, objs, "PrometheusRule", "lk-lookout")
	if pr.Labels["release"] != "kube-prometheus-stack" {
		t.Errorf("PrometheusRule labels %v", pr.Labels)
	}
	var want struct {
		Groups []monitoringv1.RuleGroup `json:"groups"`
	}
	raw, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(pr.Spec.Groups, want.Groups) || len(want.Groups) != 2 {
		t.Errorf("PrometheusRule groups differ from %s:\n%+v\nwant\n%+v", alertsFile, pr.Spec.Groups, want.Groups)
	}
	for _, v := range []string{"grafanaDashboard.enabled=false", "prometheusRule.enabled=false"} {
		for _, o := range render(t, "-f", allOutputs, "--set", v) {
			if o.Name == "lk-lookout-dashboard" && strings.HasPrefix(v, "grafana") || o.Kind == "PrometheusRule" && strings.HasPrefix(v, "prometheus") {
				t.Errorf("--set %s still renders %s", v, o)
			}
		}
	}
}

// TestChartReplicas: several router replicas get the state DSN from a
// Secret, a PodDisruptionBudget and a topology spread; network policies
// let the sensor reach the router and the router its PostgreSQL.
func TestChartReplicas(t *testing.T) {
	objs := render(t, "-f", allOutputs, "--set", "router.state.postgres.maxConns=4", "--set", "networkPolicy.enabled=true",
		"--set-json", `networkPolicy.routerEgress=[{"ports":[{"port":443}]}]`,
		"--set-json", `networkPolicy.postgresEgressTo=[{"ipBlock":{"cidr":"10.0.0.0/8"}}]`)
	sts := mustFind[*appsv1.StatefulSet](t, objs, "StatefulSet", "lk-lookout-router")
	pod := sts.Spec.Template.Spec
	var dsn *corev1.EnvVar
	for i, e := range pod.Containers[0].Env {
		if e.Name == "LOOKOUT_STATE_POSTGRES_DSN" {
			dsn = &pod.Containers[0].Env[i]
		}
	}
	if dsn == nil || dsn.ValueFrom == nil || dsn.ValueFrom.SecretKeyRef == nil ||
		dsn.ValueFrom.SecretKeyRef.Name != "lookout-state" || dsn.ValueFrom.SecretKeyRef.Key != "dsn" {
		t.Fatalf("LOOKOUT_STATE_POSTGRES_DSN = %+v, want a secretKeyRef lookout-state/dsn", dsn)
	}
	if len(pod.TopologySpreadConstraints) != 1 || pod.TopologySpreadConstraints[0].TopologyKey != "kubernetes.io/hostname" {
		t.Errorf("topologySpreadConstraints = %+v", pod.TopologySpreadConstraints)
	}
	pdb := mustFind[*policyv1.PodDisruptionBudget](t, objs, "PodDisruptionBudget", "lk-lookout-router")
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 ||
		pdb.Spec.Selector.MatchLabels["app.kubernetes.io/component"] != "router" {
		t.Errorf("pdb = %+v", pdb.Spec)
	}
	cm := mustFind[*corev1.ConfigMap](t, objs, "ConfigMap", "lk-lookout-router")
	if !strings.Contains(cm.Data["router.yaml"], "max_conns: 4") || strings.Contains(cm.Data["router.yaml"], "dsn") {
		t.Errorf("router.yaml state block (max_conns, never the dsn):\n%s", cm.Data["router.yaml"])
	}
	rnp := mustFind[*networkingv1.NetworkPolicy](t, objs, "NetworkPolicy", "lk-lookout-router")
	if from := rnp.Spec.Ingress[0].From; len(from) != 1 || from[0].PodSelector.MatchLabels["app.kubernetes.io/component"] != "sensor" {
		t.Errorf("router ingress from %+v, want the sensor", from)
	}
	if n := len(rnp.Spec.Egress); n != 3 { // DNS, PostgreSQL, outputs
		t.Errorf("router egress rules = %d, want DNS, PostgreSQL and the outputs: %+v", n, rnp.Spec.Egress)
	}
	snp := mustFind[*networkingv1.NetworkPolicy](t, objs, "NetworkPolicy", "lk-lookout-sensor")
	if to := snp.Spec.Egress[1].To; len(to) != 1 || to[0].PodSelector.MatchLabels["app.kubernetes.io/component"] != "router" ||
		snp.Spec.Egress[1].Ports[0].Port.IntValue() != 2801 {
		t.Errorf("sensor egress = %+v, want the router's port", snp.Spec.Egress)
	}

	// The bundled PostgreSQL: its Secret feeds the router, only the router reaches it.
	objs = render(t, "--set", "router.replicaCount=2", "--set", "postgresql.enabled=true", "--set", "networkPolicy.enabled=true")
	sts = mustFind[*appsv1.StatefulSet](t, objs, "StatefulSet", "lk-lookout-router")
	found := false
	for _, e := range sts.Spec.Template.Spec.Containers[0].Env {
		found = found || e.Name == "LOOKOUT_STATE_POSTGRES_DSN" && e.ValueFrom.SecretKeyRef.Name == "lk-lookout-postgresql"
	}
	if !found {
		t.Error("the router does not take its DSN from the bundled PostgreSQL's Secret")
	}
	sec := mustFind[*corev1.Secret](t, objs, "Secret", "lk-lookout-postgresql")
	if !strings.HasPrefix(string(sec.Data["dsn"]), "postgres://lookout:") || len(sec.Data["password"]) != 32 {
		t.Errorf("bundled postgresql secret: dsn %q, password of %d bytes", sec.Data["dsn"], len(sec.Data["password"]))
	}
	mustFind[*appsv1.StatefulSet](t, objs, "StatefulSet", "lk-lookout-postgresql")
	pnp := mustFind[*networkingv1.NetworkPolicy](t, objs, "NetworkPolicy", "lk-lookout-postgresql")
	if from := pnp.Spec.Ingress[0].From; from[0].PodSelector.MatchLabels["app.kubernetes.io/component"] != "router" {
		t.Errorf("postgresql ingress from %+v, want the router", from)
	}
	if v := validate.Find(render(t), "PodDisruptionBudget", "lk-lookout-router"); v != nil {
		t.Error("a PodDisruptionBudget for one replica")
	}
}
