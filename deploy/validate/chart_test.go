package validate_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

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
			"ConfigMap/lk-lookout-router", "ConfigMap/lk-lookout-sensor", "ConfigMap/lk-lookout-sensor-rules",
			"Service/lk-lookout-router", "DaemonSet/lk-lookout-sensor", "StatefulSet/lk-lookout-router",
		}},
		{name: "every output", args: []string{"-f", allOutputs}, want: []string{
			"ServiceAccount/lk-lookout-router", "ServiceAccount/lk-lookout-sensor", "ConfigMap/lk-lookout-k8s-audit",
			"ConfigMap/lk-lookout-router", "ConfigMap/lk-lookout-sensor", "ConfigMap/lk-lookout-sensor-rules",
			"ConfigMap/lk-lookout-sensor-custom-rules", "Service/lk-lookout-k8s-audit", "Service/lk-lookout-router", "Service/lk-lookout-sensor-metrics",
			"DaemonSet/lk-lookout-sensor", "Deployment/lk-lookout-k8s-audit", "StatefulSet/lk-lookout-router",
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
	for _, p := range []string{"/sys/kernel/btf", "/sys/fs/bpf", "/sys/kernel/tracing", "/run/containerd", "/run/crio", "/etc/lookout/rules", "/etc/lookout/sensor.yaml"} {
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
// reaches the router only through a secretKeyRef; no ConfigMap holds one.
func TestChartSecretsNeverInlined(t *testing.T) {
	objs := render(t, "-f", allOutputs)
	sts := mustFind[*appsv1.StatefulSet](t, objs, "StatefulSet", "lk-lookout-router")
	init := sts.Spec.Template.Spec.InitContainers
	if len(init) != 1 || init[0].Name != "render-config" {
		t.Fatalf("init containers = %v, want render-config", init)
	}
	refs := map[string]string{}
	for _, e := range init[0].Env {
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
		if strings.Count(cfg, "__"+k+"__") != 1 {
			t.Errorf("router.yaml has no single placeholder __%s__:\n%s", k, cfg)
		}
	}
	for _, o := range objs {
		if o.Kind == "Secret" {
			t.Errorf("the chart rendered %s although every secret is an existingSecret", o)
		}
	}
}

// TestChartRulesMatchSensor: the chart ships the sensor's embedded ruleset
// (the sensor has no "embedded plus these" option); a copy that drifts from
// the sensor's fails here. Refresh: cp sensor/internal/ruleset/falco_rules.yaml deploy/helm/lookout/rules/
func TestChartRulesMatchSensor(t *testing.T) {
	chart, err := os.ReadFile(chartDir + "/rules/falco_rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sensor, err := os.ReadFile(repoRoot + "/sensor/internal/ruleset/falco_rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(chart, sensor) {
		t.Fatal("deploy/helm/lookout/rules/falco_rules.yaml differs from sensor/internal/ruleset/falco_rules.yaml")
	}
	cm := mustFind[*corev1.ConfigMap](t, render(t), "ConfigMap", "lk-lookout-sensor-rules")
	if cm.Data["falco_rules.yaml"] != strings.TrimRight(string(sensor), "\n") {
		t.Error("the rules ConfigMap does not hold the ruleset unchanged")
	}
}

// TestChartRulesLoad gives the sensor the rules exactly as the chart mounts
// them (the upstream file, then the customRules directory of the example
// values) and has `lookout-sensor rules validate` load them in that order.
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
	for k, v := range mustFind[*corev1.ConfigMap](t, objs, "ConfigMap", "lk-lookout-sensor-rules").Data {
		write(filepath.Join(dir, "rules", k), v)
	}
	custom := mustFind[*corev1.ConfigMap](t, objs, "ConfigMap", "lk-lookout-sensor-custom-rules").Data
	if len(custom) == 0 {
		t.Fatal("the example values have no customRules")
	}
	for k, v := range custom {
		write(filepath.Join(dir, "rules.d", k), v)
	}
	cfg := mustFind[*corev1.ConfigMap](t, objs, "ConfigMap", "lk-lookout-sensor").Data["sensor.yaml"]
	if !strings.Contains(cfg, "- /etc/lookout/rules/falco_rules.yaml\n- /etc/lookout/rules.d\n") {
		t.Fatalf("sensor.yaml does not load the upstream rules then rules.d:\n%s", cfg)
	}
	out, err := exec.Command(sensor, "rules", "validate", filepath.Join(dir, "rules", "falco_rules.yaml"), filepath.Join(dir, "rules.d")).CombinedOutput()
	if err != nil {
		t.Fatalf("lookout-sensor rules validate: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "ok: ") {
		t.Fatalf("unexpected output:\n%s", out)
	}
}
