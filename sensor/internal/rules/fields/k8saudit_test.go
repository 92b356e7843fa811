package fields

import (
	"os"
	"testing"
)

// TestK8sAuditDocs keeps docs/rules-fields-k8s-audit.md equal to the
// k8s_audit table; run with -update to rewrite it.
func TestK8sAuditDocs(t *testing.T) {
	const path = "../../../../docs/rules-fields-k8s-audit.md"
	want := NewK8sAuditTable().K8sAuditMarkdown()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestK8sAuditDocs -update)", err)
	}
	if string(got) != want {
		t.Errorf("%s is out of date: run go test ./sensor/internal/rules/fields -run TestK8sAuditDocs -update", path)
	}
}

// TestK8sAuditUpstreamFields resolves every field the upstream
// k8s_audit_rules.yaml uses, arguments included.
func TestK8sAuditUpstreamFields(t *testing.T) {
	tbl := NewK8sAuditTable()
	for _, f := range []struct{ name, arg string }{
		{"ka.target.resource", ""}, {"ka.uri.param", "command"}, {"jevt.value", "/stage"}, {"jevt.rawtime", ""}, {"jevt.obj", ""},
		{"ka.req.pod.initContainers.privileged", ""}, {"ka.req.pod.ephemeralContainers.image", ""}, {"ka.req.role.rules.verbs", ""},
		{"ka.req.service.ports", ""}, {"ka.req.pod.volumes.hostpath", ""}, {"evt.time", ""},
	} {
		if _, err := tbl.Resolve(f.name, f.arg); err != nil {
			t.Errorf("%s[%s]: %v", f.name, f.arg, err)
		}
	}
	for _, bad := range []struct{ name, arg string }{{"ka.uri.param", ""}, {"jevt.value", "stage"}, {"proc.name", ""}, {"ka.verb", "x"}} {
		if _, err := tbl.Resolve(bad.name, bad.arg); err == nil {
			t.Errorf("%s[%s] resolved", bad.name, bad.arg)
		}
	}
}
