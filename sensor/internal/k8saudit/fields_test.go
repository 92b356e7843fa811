package k8saudit

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fastjson"

	"github.com/lookout-sec/lookout/sensor/internal/event"
	"github.com/lookout-sec/lookout/sensor/internal/rules/fields"
)

// fieldArgs are the arguments the golden test gives fields that take one.
var fieldArgs = map[string][]string{
	"ka.uri.param":                    {"command", "stdout"},
	"ka.req.binding.subject.has_name": {"mallory"},
	"ka.req.volume.hostpath":          {"/etc", "/e*", "/proc"},
	"jevt.value":                      {"/stage", "/requestObject/spec/volumes", "/user/groups/0", "/annotations/authorization.k8s.io~1decision"},
	"json.value":                      {"/verb", "/objectRef"},
}

// TestGoldenFields extracts every field of the k8s_audit table (ka.*,
// jevt.*, json.*, evt.*) from every captured event and compares the JSON
// output value with testdata/fields.golden.json ("field -> auditID/stage ->
// value", unavailable values left out). A change in any field's semantics
// shows up here.
func TestGoldenFields(t *testing.T) {
	tbl := fields.NewK8sAuditTable()
	var p fastjson.Parser
	got := map[string]map[string]any{}
	for _, line := range fixtureLines(t) {
		v, err := p.ParseBytes(line)
		if err != nil {
			t.Fatal(err)
		}
		key := string(v.GetStringBytes("auditID")) + "/" + string(v.GetStringBytes("stage"))
		ev := &event.Event{Num: 1, TS: eventTime(v, time.Time{}).UnixNano(), Audit: &event.K8sAudit{JSON: v}}
		for _, info := range tbl.Fields() {
			args := []string{""}
			if a, ok := fieldArgs[info.Name]; ok {
				args = a
			} else if info.Arg == "[N] optional" {
				args = []string{"", "0"}
			}
			for _, arg := range args {
				f, err := tbl.Resolve(info.Name, arg)
				if err != nil {
					t.Fatalf("%s[%s]: %v", info.Name, arg, err)
				}
				vals := f.Extract(ev, nil)
				if len(vals) == 0 {
					continue
				}
				name := info.Name
				if arg != "" {
					name += "[" + arg + "]"
				}
				if strings.HasPrefix(name, "evt.") || strings.HasPrefix(name, "jevt.time") || strings.HasSuffix(name, ".rawtime") || strings.HasSuffix(name, ".obj") && !strings.HasPrefix(name, "ka.") {
					continue // the time and the whole event: not per-field semantics
				}
				if got[name] == nil {
					got[name] = map[string]any{}
				}
				got[name][key] = f.JSON(vals)
			}
		}
	}
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	if *update {
		if err := os.WriteFile("testdata/fields.golden.json", b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/fields.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("field values differ from testdata/fields.golden.json (go test -run Golden -update after checking):\n%s", b)
	}
	// Every ka.* field the upstream rules use is available on some event.
	for _, name := range []string{"ka.verb", "ka.uri", "ka.user.name", "ka.user.groups", "ka.target.resource", "ka.target.subresource",
		"ka.target.name", "ka.target.namespace", "ka.req.pod.containers.image", "ka.req.pod.containers.image.repository",
		"ka.req.pod.containers.privileged", "ka.req.pod.host_network", "ka.req.pod.host_pid", "ka.req.pod.volumes.hostpath",
		"ka.req.role.rules", "ka.req.role.rules.verbs", "ka.req.role.rules.resources", "ka.req.binding.subjects", "ka.req.binding.role",
		"ka.req.configmap.name", "ka.req.configmap.obj", "ka.resp.name", "ka.response.code", "ka.auth.decision", "ka.auth.reason",
		"ka.sourceips", "ka.useragent", "ka.uri.param[command]", "jevt.value[/stage]"} {
		if len(got[name]) == 0 {
			t.Errorf("%s is never available on the captured events", name)
		}
	}
}
