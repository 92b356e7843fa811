package rulescmd

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lookout-sec/lookout/sensor/internal/ruleset"
)

func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := NewCommand(&out, &errOut)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const custom = `
- list: c2_ips
  items: ['"203.0.113.0/24"']
- rule: Outbound to C2
  desc: connection to a known C2 network
  condition: evt.type = connect and fd.sip in (c2_ips)
  output: C2 connection (proc=%proc.name connection=%fd.name)
  priority: CRITICAL
  tags: [network, c2]
`

const override = `
- list: shell_binaries
  items: [fish]
  override:
    items: append
- rule: Terminal shell in container
  enabled: false
  override:
    enabled: replace
`

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	up := write(t, dir, "falco_rules.yaml", string(ruleset.Default))
	rulesDir := filepath.Join(dir, "rules.d")
	if err := os.Mkdir(rulesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, rulesDir, "20-override.yaml", override)
	write(t, rulesDir, "10-custom.yml", custom)
	write(t, rulesDir, "README.md", "not rules")

	out, errOut, err := run(t, "validate", up, rulesDir)
	if err != nil {
		t.Fatalf("validate: %v\n%s", err, errOut)
	}
	want := up + ": 25 rules, 87 macros, 49 lists\n" +
		filepath.Join(rulesDir, "10-custom.yml") + ": 1 rules, 0 macros, 1 lists\n" +
		filepath.Join(rulesDir, "20-override.yaml") + ": 0 rules, 0 macros, 0 lists; overrides 2: list 'shell_binaries' (items: append), rule 'Terminal shell in container' (enabled: replace)\n" +
		"ok: 26 rules, 25 active; requires engine 0.57.0 (have 0.57.0); plugin container 0.4.0 (not loaded: Lookout has the container fields built in)\n"
	if out != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
	}
	if errOut != "" {
		t.Errorf("stderr: %s", errOut)
	}

	// An override file alone fails; with --default it loads.
	ov := filepath.Join(rulesDir, "20-override.yaml")
	_, errOut, err = run(t, "validate", ov)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("override alone: err %v", err)
	}
	wantErr := "error: " + ov + ":2:3: List 'shell_binaries' has 'override' key but no list by that name already exists\n    - list: shell_binaries\n      ^\n"
	if errOut != wantErr {
		t.Errorf("stderr:\n%s\nwant:\n%s", errOut, wantErr)
	}
	if _, errOut, err = run(t, "validate", "--default", ov); err != nil {
		t.Errorf("--default: %v %s", err, errOut)
	}
}

func TestValidateErrors(t *testing.T) {
	dir := t.TempDir()
	bad := write(t, dir, "bad.yaml", "- rule: R\n  desc: d\n  condition: evt.type = execve and proc.nmae = x\n  output: o\n  priority: INFO\n")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"validate", bad}, "error: " + bad + ":3:36: rule 'R': field 'proc.nmae': unknown field \"proc.nmae\"\n    evt.type = execve and proc.nmae = x\n                          ^\n"},
		{[]string{"validate", filepath.Join(dir, "missing.yaml")}, "error: rules path: stat " + filepath.Join(dir, "missing.yaml") + ": no such file or directory\n"},
		{[]string{"validate", "--min-priority", "loud", bad}, "error: --min-priority: unknown priority \"loud\" (allowed: emergency, alert, critical, error, warning, notice, informational (or info), debug)\n"},
		{[]string{"list", bad}, "error: " + bad + ":3:36: rule 'R': field 'proc.nmae': unknown field \"proc.nmae\"\n    evt.type = execve and proc.nmae = x\n                          ^\n"},
	}
	for _, tc := range tests {
		out, errOut, err := run(t, tc.args...)
		if err == nil {
			t.Errorf("%v: no error", tc.args)
		}
		if out != "" || errOut != tc.want {
			t.Errorf("%v:\nstdout %q\nstderr:\n%s\nwant:\n%s", tc.args, out, errOut, tc.want)
		}
	}
}

func TestList(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "custom.yaml", custom+`
- rule: Quiet
  desc: d
  condition: evt.type in (openat, open) and fd.name = /x
  output: o
  priority: DEBUG
  enabled: false
`)
	out, errOut, err := run(t, "list", "--json", p)
	if err != nil {
		t.Fatalf("%v %s", err, errOut)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(got) != 2 {
		t.Fatalf("got %d rules", len(got))
	}
	b, _ := json.Marshal(got[0])
	want := `{"active":true,"condition_compiled":"(evt.type = connect and fd.sip in (203.0.113.0/24))","enabled":true,"event_source":"syscall","event_types":["connect"],"name":"Outbound to C2","priority":"Critical","source":"` + p + `:4:3","tags":["c2","network"]}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	if got[1]["enabled"] != false || got[1]["active"] != false {
		t.Errorf("Quiet: %v", got[1])
	}

	out, _, err = run(t, "list", p)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") ||
		!strings.Contains(lines[1], "Outbound to C2") || !strings.Contains(lines[1], "Critical") ||
		!strings.Contains(lines[2], "Quiet") || !strings.Contains(lines[2], " no ") || !strings.Contains(lines[2], "open,openat") {
		t.Errorf("table:\n%s", out)
	}
}

// TestK8sAuditRules validates and lists the embedded k8s_audit rules with
// the stable ones: both sources are counted and shown, and a rule of an
// unknown source says why it does not run.
func TestK8sAuditRules(t *testing.T) {
	out, errOut, err := run(t, "validate", "--strict", "--default", "--default-k8s-audit")
	if err != nil {
		t.Fatalf("%v %s", err, errOut)
	}
	if !strings.Contains(out, "k8s_audit_rules.yaml: 48 rules") || !strings.Contains(out, "ok: 73 rules, 73 active (25 syscall, 48 k8s_audit)") ||
		!strings.Contains(out, "plugin k8saudit 0.18.0 (not loaded: Lookout has the k8s_audit source and its ka.* fields built in") {
		t.Errorf("validate:\n%s", out)
	}
	p := write(t, t.TempDir(), "trail.yaml", `
- rule: Trail
  desc: d
  condition: ct.name = CreateUser
  output: o
  priority: INFO
  source: aws_cloudtrail
`)
	out, _, err = run(t, "list", "--default-k8s-audit", p)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.Contains(lines[0], "EVENT SOURCE") || len(lines) != 50 {
		t.Fatalf("table (%d lines):\n%s", len(lines), out)
	}
	if !strings.Contains(lines[1], "Disallowed K8s User") || !strings.Contains(lines[1], "k8s_audit") {
		t.Errorf("first rule: %s", lines[1])
	}
	if l := lines[49]; !strings.Contains(l, "Trail") || !strings.Contains(l, "not run: unknown source aws_cloudtrail (supported: syscall, k8s_audit)") {
		t.Errorf("unknown-source rule: %s", l)
	}
}
