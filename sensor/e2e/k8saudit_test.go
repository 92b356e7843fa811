package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/router/api"
)

// TestK8sAuditRealAPIServer runs a real kube-apiserver (and etcd) on
// 127.0.0.1 with the audit policy of deploy/k8s-audit, its audit webhook
// pointing at lookout-sensor (syscall source off, TLS webhook, the
// embedded k8s_audit_rules.yaml unmodified) and its audit log followed by
// the same sensor, drives real API calls and checks which rules fired
// with which output fields. Both receivers see every event: the dedup by
// auditID keeps one alert per event. No root is needed.
func TestK8sAuditRealAPIServer(t *testing.T) {
	etcdBin, apiserverBin := k8sTools(t)
	_, sensorBin := build(t)
	dir := t.TempDir()
	p := newPKI(t, dir)
	cert, key := p.serving(t, "sensor")
	policy, err := os.ReadFile("../../deploy/k8s-audit/audit-policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	auditLog := filepath.Join(dir, "audit.log")
	alerts := filepath.Join(dir, "alerts.json")
	hook, metricsAddr := freeAddr(t), freeAddr(t)
	cfg := writeFile(t, filepath.Join(dir, "sensor.yaml"), fmt.Sprintf(`hostname: audit-test
rule_matching: all
metrics: {listen: %s}
outputs: {file: {path: %s}}
sources:
  syscall: {enabled: false}
  k8s_audit:
    listen: %s
    path: /k8s-audit
    tls: {cert_file: %s, key_file: %s}
    log_file: %s
    log_from_start: true
`, metricsAddr, alerts, hook, cert, key, auditLog))
	sensor := startSensor(t, sensorBin, "--config", cfg)
	c := startCluster(t, dir, etcdBin, apiserverBin, p, string(policy), "https://"+hook+"/k8s-audit", auditLog)

	ns := "/api/v1/namespaces/default"
	pod := func(name, spec string) string {
		return `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"` + name + `"},"spec":` + spec + `}`
	}
	c.must(t, 201, adminToken, "POST", ns+"/pods", pod("priv", `{"nodeName":"node-1","containers":[{"name":"c","image":"docker.io/library/nginx:1.27","securityContext":{"privileged":true}}]}`))
	c.must(t, 201, adminToken, "POST", ns+"/pods", pod("mounter", `{"containers":[{"name":"c","image":"busybox:1.36","volumeMounts":[{"name":"etc","mountPath":"/host-etc"}]}],"volumes":[{"name":"etc","hostPath":{"path":"/etc"}}]}`))
	c.must(t, 201, adminToken, "POST", ns+"/pods", pod("hostnet", `{"hostNetwork":true,"hostPID":true,"containers":[{"name":"c","image":"busybox:1.36"}]}`))
	c.must(t, 201, adminToken, "POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles",
		`{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"lookout-wild"},"rules":[{"apiGroups":["*"],"resources":["*"],"verbs":["*"]}]}`)
	c.must(t, 201, adminToken, "POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
		`{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"mallory-admin"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"},"subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"mallory"}]}`)
	c.must(t, 201, adminToken, "POST", ns+"/configmaps", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"aws-creds"},"data":{"aws_access_key_id":"AKIAEXAMPLE"}}`)
	c.must(t, 201, adminToken, "POST", ns+"/secrets", `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db-pass"},"stringData":{"password":"hunter2"}}`)
	c.must(t, 200, adminToken, "GET", ns+"/secrets/db-pass", "")
	c.must(t, 403, eveToken, "GET", ns+"/secrets/db-pass", "")
	c.must(t, 200, "", "GET", "/version", "")
	// exec and attach fail (no kubelet on node-1) but are audited.
	if code, _ := c.do(t, adminToken, "POST", ns+"/pods/priv/exec?command=id&stdout=true&container=c", ""); code < 400 {
		t.Fatalf("exec answered %d without a kubelet", code)
	}
	if code, _ := c.do(t, adminToken, "POST", ns+"/pods/priv/attach?stdout=true&container=c", ""); code < 400 {
		t.Fatalf("attach answered %d without a kubelet", code)
	}

	type want struct {
		rule   string
		fields map[string]any
	}
	// Values as the API server serialises the stored object (defaults
	// filled in, its own key order), not as the test sent it.
	wants := []want{
		{"Create Privileged Pod", map[string]any{"ka.user.name": "admin", "ka.resp.name": "priv", "ka.target.namespace": "default",
			"ka.target.resource": "pods", "ka.req.pod.containers.image": []any{"docker.io/library/nginx:1.27"}}},
		{"Create Sensitive Mount Pod", map[string]any{"ka.resp.name": "mounter", "ka.req.pod.containers.image": []any{"busybox:1.36"},
			"jevt.value[/requestObject/spec/volumes]": `[{"name":"etc","hostPath":{"path":"/etc","type":""}}]`}},
		{"Create HostNetwork Pod", map[string]any{"ka.resp.name": "hostnet"}},
		{"Create HostPid Pod", map[string]any{"ka.resp.name": "hostnet"}},
		{"ClusterRole With Wildcard Created", map[string]any{"ka.target.name": "lookout-wild",
			"ka.req.role.rules": []any{`{"verbs":["*"],"apiGroups":["*"],"resources":["*"]}`}}},
		{"Attach to cluster-admin Role", map[string]any{"ka.user.name": "admin",
			"ka.req.binding.subjects": []any{`{"kind":"User","apiGroup":"rbac.authorization.k8s.io","name":"mallory"}`}}},
		{"Create/Modify Configmap With Private Credentials", map[string]any{"ka.req.configmap.name": "aws-creds", "ka.verb": "create"}},
		{"K8s Secret Get Successfully", map[string]any{"ka.user.name": "admin", "ka.target.name": "db-pass", "ka.response.code": "200", "ka.auth.decision": "allow"}},
		{"K8s Secret Get Unsuccessfully Tried", map[string]any{"ka.user.name": "eve", "ka.target.name": "db-pass", "ka.response.code": "403", "ka.auth.decision": "forbid"}},
		{"Anonymous Request Allowed", map[string]any{"ka.user.name": "system:anonymous", "ka.uri": "/version", "ka.verb": "get"}},
		{"Attach/Exec Pod", map[string]any{"ka.target.name": "priv", "ka.target.subresource": "exec", "ka.uri.param[command]": "id"}},
		{"Attach/Exec Pod", map[string]any{"ka.target.name": "priv", "ka.target.subresource": "attach", "ka.uri.param[command]": nil}},
		{"Disallowed K8s User", map[string]any{"ka.user.name": "eve"}},
	}
	matches := func(a *api.Alert, w want) bool {
		if a.Rule != w.rule {
			return false
		}
		for k, v := range w.fields {
			got, _ := json.Marshal(a.OutputFields[k])
			exp, _ := json.Marshal(v)
			if string(got) != string(exp) {
				return false
			}
		}
		return true
	}
	var got []*api.Alert
	deadline := time.Now().Add(2 * time.Minute)
	for {
		got = readAlerts(t, alerts)
		missing := slices.DeleteFunc(slices.Clone(wants), func(w want) bool {
			return slices.ContainsFunc(got, func(a *api.Alert) bool { return matches(a, w) })
		})
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			var fired []string
			for _, a := range got {
				fields, _ := json.Marshal(a.OutputFields)
				fired = append(fired, a.Rule+" "+string(fields))
			}
			t.Fatalf("rules not fired with the expected fields within 2m: %+v\nfired:\n%s\nsensor log:\n%s", missing, strings.Join(fired, "\n"), tail(sensor.logText(), 4000))
		}
		time.Sleep(250 * time.Millisecond)
	}
	// Falco's alert shape: source k8s_audit, typed fields, no container
	// suffix, the output starting with the time and priority.
	seen := map[string]bool{}
	for _, a := range got {
		if a.Source != "k8s_audit" || a.Hostname != "audit-test" || a.Time.IsZero() || strings.Contains(a.Output, "container_id=") {
			t.Errorf("alert shape: %+v", a)
		}
		if !strings.Contains(a.Output, ": "+a.Priority.String()+" ") {
			t.Errorf("output %q lacks the priority", a.Output)
		}
		// One alert per (rule, event) although webhook and log both deliver
		// every event.
		key := a.Rule + "|" + a.Time.String() + "|" + a.Output
		if seen[key] {
			t.Errorf("duplicate alert: %s", a.Output)
		}
		seen[key] = true
	}
	// Both receivers saw events; the later copy of each was a duplicate.
	deadline = time.Now().Add(time.Minute)
	for {
		m := scrape(t, sensor)
		if metricAbove(m, `lookout_sensor_k8s_audit_events_total{receiver="webhook"}`) &&
			metricAbove(m, `lookout_sensor_k8s_audit_events_total{receiver="file"}`) &&
			metricAbove(m, "lookout_sensor_k8s_audit_duplicates_total") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics do not show both receivers and duplicates:\n%s", grepLines(m, "k8s_audit"))
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("%d alerts from %d rules checked", len(got), len(wants))
	fired := map[string]int{}
	for _, a := range got {
		fired[a.Rule]++
	}
	for _, r := range slices.Sorted(maps.Keys(fired)) {
		t.Logf("fired: %s (%d)", r, fired[r])
	}
	if dst := os.Getenv("LOOKOUT_K8S_AUDIT_CAPTURE"); dst != "" {
		captureEvents(t, auditLog, dst)
	}
}

// captureEvents writes the audit log's events caused by the test's own
// requests (users admin, eve and anonymous; not the API server's
// bootstrap) to dst, one per line: the golden fixtures of
// sensor/internal/k8saudit (sensor/tools/capture-k8s-audit.sh).
func captureEvents(t *testing.T, auditLog, dst string) {
	t.Helper()
	data, err := os.ReadFile(auditLog)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for line := range strings.SplitSeq(string(data), "\n") {
		var ev struct {
			User struct {
				Username string `json:"username"`
			} `json:"user"`
		}
		if json.Unmarshal([]byte(line), &ev) != nil {
			continue
		}
		switch ev.User.Username {
		case "admin", "eve", "system:anonymous":
			out = append(append(out, line...), '\n')
		}
	}
	if err := os.WriteFile(dst, out, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("captured %d bytes of audit events into %s", len(out), dst)
}

// readAlerts reads the file output's JSON lines.
func readAlerts(t *testing.T, path string) []*api.Alert {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []*api.Alert
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		a, err := api.DecodeAlert(sc.Bytes())
		if err != nil {
			continue // a line being written
		}
		out = append(out, a)
	}
	return out
}

// metricAbove reports whether the exposition text has name with a value > 0.
func metricAbove(text, name string) bool {
	for _, l := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(l, name+" "); ok {
			var v float64
			if _, err := fmt.Sscan(rest, &v); err == nil && v > 0 {
				return true
			}
		}
	}
	return false
}

func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
