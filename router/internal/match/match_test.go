package match

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/router/api"
)

func alert() *api.Alert {
	return &api.Alert{
		Rule: "Terminal shell in container", Priority: api.PriorityNotice, Source: "syscall", Hostname: "node-1",
		Tags: []string{"container", "mitre_execution"}, Time: time.Unix(0, 0),
		OutputFields: map[string]any{
			"k8s.ns.name": "dev-team", "k8s.pod.name": "web-7d9f8b-xk2lp", "proc.tty": json.Number("34816"),
			"fd.name": "/home/alice/.ssh/id_rsa", "container.privileged": true, "user.loginuid": nil,
		},
	}
}

func TestMatchers(t *testing.T) {
	a := alert()
	cases := []struct {
		m    string
		want bool
	}{
		{`rule = "Terminal shell in container"`, true},
		{`rule="Terminal shell in container"`, true},
		{`rule = Terminal shell in container`, true},
		{`rule != "Terminal shell in container"`, false},
		{`rule glob Terminal*`, true},
		{`rule glob Execution*`, false},
		{`fd.name glob /home/*`, true}, // '*' crosses '/'
		{`fd.name glob '/home/*/.ssh/*'`, true},
		{`fd.name !glob /home/*`, false},
		{`k8s.pod.name =~ "web-[a-z0-9]+-[a-z0-9]{5}"`, true},
		{`k8s.pod.name =~ web`, false}, // full match
		{`k8s.pod.name !~ web`, true},
		{`k8s.ns.name in (kube-system, "dev-team")`, true},
		{`k8s.ns.name !in (kube-system, monitoring)`, true},
		{`priority = notice`, true},
		{`priority = NOTICE`, true},
		{`priority in (critical, alert)`, false},
		{`tags = mitre_execution`, true},
		{`tags != mitre_execution`, false},
		{`tags glob mitre_*`, true},
		{`tags != filesystem`, true},
		{`proc.tty = 34816`, true},
		{`container.privileged = true`, true},
		{`user.loginuid = ""`, true}, // null reads as ""
		{`missing.field != x`, true}, // absent reads as ""
		{`missing.field = x`, false},
		{`hostname = node-1`, true},
		{`source = syscall`, true},
	}
	for _, c := range cases {
		m, err := Parse(c.m)
		if err != nil {
			t.Fatalf("%s: %v", c.m, err)
		}
		if got := m.Matches(a); got != c.want {
			t.Errorf("%s: got %v, want %v", c.m, got, c.want)
		}
		// The printed form parses back to the same decision.
		m2, err := Parse(m.String())
		if err != nil || m2.Matches(a) != c.want {
			t.Errorf("%s: round trip %q: %v", c.m, m.String(), err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for in, want := range map[string]string{
		``:                     "expected FIELD OP VALUE",
		`rule`:                 "expected an operator",
		`rule ~ x`:             "expected an operator",
		`rule =~ "("`:          "bad regular expression",
		`priority = warn`:      `"warn" is not a priority`,
		`rule in a, b`:         "in expects a list",
		`rule in (a b`:         "in expects a list",
		`rule = "unterminated`: "bad double-quoted value",
		`rule in ("a" "b")`:    "expected ','",
		`rule globby x`:        "expected an operator",
	} {
		_, err := Parse(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want error containing %q", in, err, want)
		}
	}
}

func TestJSONForms(t *testing.T) {
	var ms []Matcher
	if err := json.Unmarshal([]byte(`["rule = x", {"field":"k8s.ns.name","op":"glob","value":"dev-*"}]`), &ms); err != nil {
		t.Fatal(err)
	}
	if ms[1].Op != Glob || !ms[1].Matches(alert()) {
		t.Fatalf("object form: %+v", ms[1])
	}
	if err := json.Unmarshal([]byte(`[{"field":"a","op":"~~","value":"x"}]`), &ms); err == nil {
		t.Fatal("unknown op accepted")
	}
}

func TestGlobAgreesWithFalco(t *testing.T) {
	for _, c := range []struct {
		pat, s string
		want   bool
	}{
		{"/home/*/.ssh/*", "/home/alice/.ssh/id_rsa", true},
		{"*", "a/b/c", true},
		{"/home/?lice/*", "/home/alice/x", true},
		{"/home/[a-c]lice/*", "/home/alice/x", true},
		{"/home/[!a]lice/*", "/home/alice/x", false},
		{"Execution*", "Execution from /dev/shm", true},
		{"/HOME/*", "/home/x", false},
	} {
		if got := GlobMatch(c.pat, c.s); got != c.want {
			t.Errorf("glob %q %q = %v", c.pat, c.s, got)
		}
	}
}
