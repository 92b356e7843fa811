package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/lookout-sec/lookout/router/api"
)

func load(t *testing.T, file string, args ...string) (Config, error) {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	AddFlags(fs)
	if file != "" {
		p := filepath.Join(t.TempDir(), "sensor.yaml")
		if err := os.WriteFile(p, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append([]string{"--config", p}, args...)
	}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return Load(fs)
}

func TestLoadFileAndFlags(t *testing.T) {
	cfg, err := load(t, `
rules: [/etc/lookout/rules.d, /tmp/extra.yaml]
min_priority: warning
rule_matching: all
hostname: node-1
time_format_iso_8601: true
suggested_output: false
rules_max_expanded_bytes: 1048576
default_rules: false
rules_strict: true
ring_size: 16777216
metrics:
  listen: 127.0.0.1:9999
log_level: debug
queue_size: 50
drop_alert_interval: 5s
spool:
  dir: /tmp/spool
  max_bytes: 10485760
outputs:
  router:
    url: http://router:2801
    token: s3cret
    gzip: true
    batch_size: 10
    batch_interval: 1s
    timeout: 3s
    retry_for: 2m
  file:
    path: /var/log/lookout.json
container_runtimes:
  podman_socket: /tmp/podman.sock
`)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Rules: []string{"/etc/lookout/rules.d", "/tmp/extra.yaml"}, DefaultRules: false, RulesStrict: true, RulesMaxExpandedBytes: 1 << 20, MinPriority: api.PriorityWarning,
		RuleMatching: "all", Hostname: "node-1", TimeISO8601: true, SuggestedOutput: false, RingSize: 16 << 20, MetricsListen: "127.0.0.1:9999",
		LogLevel: -4, QueueSize: 50, DropAlertInterval: 5 * time.Second,
		Outputs: Outputs{
			Router: RouterOutput{URL: "http://router:2801", Token: "s3cret", Gzip: true, BatchSize: 10,
				BatchInterval: time.Second, Timeout: 3 * time.Second, RetryFor: 2 * time.Minute},
			File: FileOutput{Path: "/var/log/lookout.json"},
		},
		Runtimes: RuntimeSockets{Podman: "/tmp/podman.sock"},
		Spool:    Spool{Dir: "/tmp/spool", MaxBytes: 10 << 20},
		Sources:  defaultSources(),
	}
	cfg.File = ""
	if fmt.Sprintf("%#v", cfg) != fmt.Sprintf("%#v", want) || cfg.Outputs.Router.Token.Value() != "s3cret" {
		t.Errorf("got  %#v\nwant %#v", cfg, want)
	}

	// Flags override the file.
	cfg, err = load(t, "rules: [a.yaml]\nmin_priority: warning\noutputs: {router: {url: http://a:1}}\n",
		"-r", "b.yaml", "--rules", "c", "--router", "http://b:2", "--router-token", "t", "--stdout", "--min-priority", "ERROR",
		"--no-default-rules", "--strict")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.Rules, ",") != "b.yaml,c" || cfg.Outputs.Router.URL != "http://b:2" ||
		cfg.Outputs.Router.Token != "t" || !cfg.Outputs.Stdout.Enabled || cfg.MinPriority != api.PriorityError ||
		cfg.DefaultRules || !cfg.RulesStrict {
		t.Errorf("flags did not override: %#v", cfg)
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := load(t, "", "--stdout")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinPriority != api.PriorityDebug || cfg.RuleMatching != MatchFirst || cfg.Rules != nil || !cfg.DefaultRules || cfg.RulesStrict || !cfg.SuggestedOutput || cfg.TimeISO8601 ||
		cfg.RingSize != 8<<20 || cfg.Hostname == "" || cfg.Outputs.Router.BatchSize != 100 {
		t.Errorf("defaults: %#v", cfg)
	}
}

func TestEnvironment(t *testing.T) {
	t.Setenv("LOOKOUT_MIN_PRIORITY", "notice")
	t.Setenv("LOOKOUT_OUTPUTS_ROUTER_URL", "http://env:1")
	t.Setenv("LOOKOUT_RULES", "x.yaml, y.yaml")
	cfg, err := load(t, "min_priority: error\n")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinPriority != api.PriorityNotice || cfg.Outputs.Router.URL != "http://env:1" || strings.Join(cfg.Rules, ",") != "x.yaml,y.yaml" {
		t.Errorf("env: %#v", cfg)
	}
	t.Setenv("LOOKOUT_QUEUE_SIZE", "lots")
	if _, err := load(t, ""); err == nil || !strings.Contains(err.Error(), `environment: key queue_size (env LOOKOUT_QUEUE_SIZE): expected an integer, got "lots"`) {
		t.Errorf("bad env value: %v", err)
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name, file string
		args       []string
		want       string
	}{
		{"unknown key", "outputs:\n  router:\n    tokn: x\n", nil, `unknown key "outputs.router.tokn" (known keys: rules, min_priority`},
		{"unknown top key", "prority: warning\n", nil, `unknown key "prority"`},
		{"bad priority", "min_priority: warn\n", []string{"--stdout"}, `key min_priority (env LOOKOUT_MIN_PRIORITY): unknown priority "warn" (allowed: emergency, alert, critical, error, warning, notice, informational (or info), debug)`},
		{"bad priority flag", "", []string{"--stdout", "--min-priority", "crit"}, `flag --min-priority: unknown priority "crit"`},
		{"bad matching", "rule_matching: any\n", []string{"--stdout"}, `rule_matching: must be "first" or "all", got "any"`},
		{"bad ring", "ring_size: 1000\n", []string{"--stdout"}, `ring_size: must be a power of two of at least`},
		{"bad duration", "drop_alert_interval: 30\n", []string{"--stdout"}, `key drop_alert_interval (env LOOKOUT_DROP_ALERT_INTERVAL): expected a duration such as 500ms or 30s, got "30"`},
		{"bad bool", "outputs: {stdout: {enabled: maybe}}\n", nil, `key outputs.stdout.enabled (env LOOKOUT_OUTPUTS_STDOUT_ENABLED): expected true or false, got "maybe"`},
		{"bad url", "", []string{"--router", "router:2801"}, `outputs.router.url: must be an http:// or https:// URL, got "router:2801"`},
		{"no output", "", nil, "outputs: no output enabled: set --router URL"},
		{"bad yaml", "rules: [\n", nil, "config "},
		{"bad batch", "outputs: {router: {url: 'http://x:1', batch_size: 0}}\n", nil, "outputs.router.batch_size: must be at least 1, got 0"},
		{"no rules at all", "default_rules: false\n", []string{"--stdout"}, "default_rules: is false (--no-default-rules) and no rules files are given"},
		{"no rules at all flag", "", []string{"--stdout", "--no-default-rules"}, "default_rules: is false (--no-default-rules) and no rules files are given"},
		{"bad level", "log_level: loud\n", []string{"--stdout"}, `key log_level (env LOOKOUT_LOG_LEVEL): must be debug, info, warn or error, got "loud"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := load(t, c.file, c.args...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v\nwant an error containing %q", err, c.want)
			}
		})
	}
}

func TestSecretRedacted(t *testing.T) {
	cfg := Default()
	cfg.Outputs.Router.Token = "hunter2"
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%v", cfg.Outputs.Router.Token)} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("secret printed: %s", s)
		}
	}
}
