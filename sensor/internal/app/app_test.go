package app

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/sensor/internal/config"
	"github.com/lookout-sec/lookout/sensor/internal/event"
	"github.com/lookout-sec/lookout/sensor/internal/metrics"
)

const ruleA = `- rule: Rule A
  desc: a
  condition: evt.type = openat and fd.name = /nonexistent/a
  output: a %fd.name
  priority: WARNING
`

const ruleB = `- rule: Rule B
  desc: b
  condition: evt.type = openat and fd.name = /nonexistent/b
  output: b %fd.name
  priority: DEBUG
`

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestLoadRules(t *testing.T) {
	dir := t.TempDir()
	rulesDir := filepath.Join(dir, "rules.d")
	if err := os.Mkdir(rulesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	must := func(p, s string) string {
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	must(filepath.Join(rulesDir, "20-b.yaml"), ruleB)
	must(filepath.Join(rulesDir, "10-a.yaml"), ruleA)
	must(filepath.Join(rulesDir, "README.md"), "not rules")
	bad := must(filepath.Join(dir, "bad.yaml"), "- rule: x\n  condition: evt.type = openat and\n")
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	tune := must(filepath.Join(dir, "tune.yaml"), `- rule: Terminal shell in container
  enabled: false
  override: {enabled: replace}
- list: user_known_shell_spawn_binaries
  items: [my-agent]
  override: {items: append}
`)
	typo := must(filepath.Join(dir, "typo.yaml"), "- rule: My rule\n  desc: d\n  condition: evt.type = openat and fd.name = /x\n  output: o\n  priority: WARNING\n  enabeld: false\n")
	cases := []struct {
		name       string
		rules      []string
		noDefault  bool
		strict     bool
		min        api.Priority
		wantActive int
		wantNames  []string
		wantErr    string
	}{
		{"default embedded ruleset", nil, false, false, api.PriorityDebug, 25, nil, ""},
		{"a directory adds to the embedded rules", []string{rulesDir}, false, false, api.PriorityDebug, 27, nil, ""},
		{"override file tunes the embedded rules", []string{tune}, false, false, api.PriorityDebug, 24, nil, ""},
		{"empty directory adds nothing", []string{empty}, false, false, api.PriorityDebug, 25, nil, ""},
		{"no default rules: directory in lexical order", []string{rulesDir}, true, false, api.PriorityDebug, 2, []string{"Rule A", "Rule B"}, ""},
		{"minimum priority", []string{rulesDir}, true, false, api.PriorityWarning, 1, []string{"Rule A", "Rule B"}, ""},
		{"bad file names file and line", []string{bad}, false, false, api.PriorityDebug, 0, nil, "bad.yaml:1:3: Item has no mapping for key 'output'"},
		{"missing path", []string{filepath.Join(dir, "nope.yaml")}, false, false, api.PriorityDebug, 0, nil, "nope.yaml: no such file"},
		{"no default rules: empty directory", []string{empty}, true, false, api.PriorityDebug, 0, nil, "no rules files (*.yaml, *.yml) found in"},
		{"unknown key is a warning", []string{typo}, false, false, api.PriorityDebug, 26, nil, ""},
		{"unknown key is an error with --strict", []string{typo}, false, true, api.PriorityDebug, 0, nil, "typo.yaml:6:3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Rules, cfg.MinPriority, cfg.Hostname = c.rules, c.min, "h"
			cfg.DefaultRules, cfg.RulesStrict = !c.noDefault, c.strict
			eng, rep, err := LoadRules(cfg, quiet())
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rep.Active != c.wantActive {
				t.Errorf("active %d, want %d", rep.Active, c.wantActive)
			}
			if c.wantNames != nil {
				var names []string
				for _, r := range eng.Rules() {
					names = append(names, r.Name)
				}
				if strings.Join(names, ",") != strings.Join(c.wantNames, ",") {
					t.Errorf("rules %v, want %v", names, c.wantNames)
				}
			}
		})
	}
}

func TestOutputs(t *testing.T) {
	cfg := config.Default()
	cfg.Outputs.Router.URL = "http://127.0.0.1:1"
	cfg.Outputs.Stdout.Enabled = true
	cfg.Outputs.File.Path = filepath.Join(t.TempDir(), "alerts.json")
	cfg.Spool.Dir = t.TempDir()
	outs, sp, err := Outputs(cfg, os.Stdout, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if sp == nil || outs[0].Spool != sp || sp.Path() != filepath.Join(cfg.Spool.Dir, "spool.db") {
		t.Errorf("the router output is not spooled in %s", cfg.Spool.Dir)
	}
	// A second sensor on the same spool is refused, naming the key.
	if _, _, err := Outputs(cfg, os.Stdout, quiet()); err == nil || !strings.Contains(err.Error(), "spool.dir") {
		t.Errorf("second open of the spool: %v", err)
	}
	_ = sp.Close()
	var names []string
	for _, o := range outs {
		names = append(names, o.Name)
		defer o.Writer.Close()
	}
	if strings.Join(names, ",") != "router,stdout,file" {
		t.Errorf("outputs %v", names)
	}
	cfg.Outputs.File.Path = filepath.Join(t.TempDir(), "no", "such", "dir", "alerts.json")
	if _, _, err := Outputs(cfg, os.Stdout, quiet()); err == nil || !strings.Contains(err.Error(), "outputs.file.path") {
		t.Errorf("bad file path: %v", err)
	}
}

// TestSensorLive runs the real probe, state and default rules in process:
// cat /etc/shadow must raise "Read sensitive file untrusted" with the
// event's process, the metrics must count it, and Reload must keep the
// sensor working.
func TestSensorLive(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: the sensor loads the eBPF probe and needs root (CAP_BPF and CAP_PERFMON)")
	}
	cfg := config.Default()
	cfg.Hostname = "test-host"
	type hit struct {
		a   api.Alert
		pid int64
	}
	hits := make(chan hit, 1024)
	var m *metrics.Metrics
	var s *Sensor
	m = metrics.New(metrics.Sources{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := New(ctx, cfg, NewOptions{Logger: quiet(), Metrics: m,
		Sink: func(a *api.Alert, ev *event.Event) {
			select {
			case hits <- hit{*a, ev.PID}:
			default:
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	catShadow := func() int64 {
		cmd := exec.Command("cat", "/etc/shadow")
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		return int64(cmd.Process.Pid)
	}
	waitAlert := func(pid int64) api.Alert {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for {
			select {
			case h := <-hits:
				if h.pid == pid {
					return h.a
				}
			case <-deadline:
				t.Fatalf("no alert for pid %d", pid)
			}
		}
	}
	a := waitAlert(catShadow())
	if a.Rule != "Read sensitive file untrusted" || a.Hostname != "test-host" || a.OutputFields["fd.name"] != "/etc/shadow" {
		t.Errorf("alert %+v", a)
	}
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	waitAlert(catShadow())
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got, err := m.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if n := got["lookout_sensor_alerts_total|priority=Warning|rule=Read sensitive file untrusted"]; n < 2 {
		t.Errorf("alerts_total = %v, want ≥ 2", n)
	}
	if got["lookout_sensor_rules_reloads_total|result=ok"] != 1 || got["lookout_sensor_events_processed_total"] == 0 {
		t.Errorf("metrics %v", got)
	}
	if ps := s.ProbeStats(); ps.Syscall.Invocations == 0 || ps.Syscall.Emitted == 0 {
		t.Errorf("probe stats not refreshed: %+v", ps)
	}
}

// TestLoadRulesReportsOverrides: a rules.d file that only tunes the
// embedded rules reports what it changed, not just "0 rules".
func TestLoadRulesReportsOverrides(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "50-tune.yaml")
	if err := os.WriteFile(p, []byte(`- rule: Terminal shell in container
  enabled: false
  override: {enabled: replace}
- list: user_known_shell_spawn_binaries
  items: [my-agent]
  override: {items: append}
- macro: user_known_read_sensitive_files_activities
  condition: proc.name = my-agent
  override: {condition: replace}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Rules, cfg.Hostname = []string{dir}, "h"
	_, rep, err := LoadRules(cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Files) != 2 || rep.Files[0].Name != "falco_rules.yaml" || rep.Files[1].Name != p {
		t.Fatalf("files %+v, want the embedded file then %s", rep.Files, p)
	}
	want := []string{
		"rule 'Terminal shell in container' (enabled: replace)",
		"list 'user_known_shell_spawn_binaries' (items: append)",
		"macro 'user_known_read_sensitive_files_activities' (condition: replace)",
	}
	if got := rep.Files[1].Overrides; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("overrides %q, want %q", got, want)
	}
	if rep.Active != 24 {
		t.Errorf("active %d, want 24 (one upstream rule disabled)", rep.Active)
	}
}
