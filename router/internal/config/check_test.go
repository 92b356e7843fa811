package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lookout-sec/lookout/outputs/registry"
)

// TestOutputBlocksValidated: mistakes inside an output's own block fail at
// Load (and so in --check), naming the file and a key path that does not
// repeat the type.
func TestOutputBlocksValidated(t *testing.T) {
	const first = "outputs:\n  - {name: out, type: stdout}\n"
	for _, c := range []struct{ name, yaml, want string }{
		{"slack typo", first + "  - {name: s, type: slack, slack: {webhok_url: 'https://hooks.slack.com/services/T/B/x'}}\n",
			"outputs[1].slack.webhok_url: unknown key (allowed: api_url, blocks, channel, "},
		{"es suffix", first + "  - {name: es, type: elasticsearch, elasticsearch: {addresses: ['http://127.0.0.1:9200'], index_suffix: weekly}}\n",
			`outputs[1].elasticsearch.index_suffix: "weekly" is not one of daily, monthly, annually, none`},
		{"webhook url", first + "  - {name: w, type: webhook, webhook: {}}\n", "outputs[1].webhook.url: is required"},
		{"webhook missing block", first + "  - {name: w, type: webhook}\n", "outputs[1].webhook.url: is required"},
		{"pagerduty key", first + "  - {name: p, type: pagerduty, pagerduty: {routing_key: 42}}\n", "outputs[1].pagerduty.routing_key"},
		{"block not a mapping", first + "  - {name: w, type: webhook, webhook: [x]}\n", "outputs[1].webhook: must be a mapping"},
		{"slack template", first + "  - {name: s, type: slack, slack: {webhook_url: 'https://hooks.slack.com/services/T/B/x', template: \"ok\\n{{ .Rulee }}\"}}\n",
			`outputs[1].slack.template: with a sample alert: template: slack.template:2:3: executing "slack.template" at <.Rulee>: can't evaluate field Rulee`},
		{"webhook body", first + "  - {name: w, type: webhook, webhook: {url: 'http://127.0.0.1:1/', body: '{{ .Rule }}'}}\n",
			"outputs[1].webhook.body: with a sample alert it renders no valid JSON"},
		{"no type", first + "  - {name: w}\n", "outputs[1].type: is required (one of: elasticsearch, pagerduty, slack, stdout, webhook)"},
		{"another type's block", first + "  - {name: w, type: webhook, slack: {}}\n", "outputs[1].slack: unknown key (allowed: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "router.yaml")
			if err := os.WriteFile(f, []byte(c.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(f, registry.Builtin())
			if err == nil {
				t.Fatal("accepted")
			}
			want := "config " + f + ": " + c.want
			if !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("got  %v\nwant %s...", err, want)
			}
			for _, typ := range registry.Builtin().Types() {
				if strings.Contains(err.Error(), typ+"."+typ+".") {
					t.Errorf("repeated segment in %v", err)
				}
			}
		})
	}
}

// TestSeveralErrorsAtOnce: every unknown key is reported, one line each.
func TestSeveralErrorsAtOnce(t *testing.T) {
	_, err := loadYAML(t, "lisen: x\nqueue: {path: /x}\noutputs:\n  - {name: a, type: stdout}\n")
	if err == nil {
		t.Fatal("accepted")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "lisen: unknown key") || !strings.Contains(lines[1], "queue.path: unknown key (allowed: dir, max_bytes)") {
		t.Fatalf("got %q", lines)
	}
}

// TestExpandEnv: ${VAR} anywhere in a value, $$ for a literal $, an unset
// variable named with its key.
func TestExpandEnv(t *testing.T) {
	t.Setenv("LOOKOUT_TEST_HOOK", "https://hooks.slack.com/services/T/B/fromenv")
	t.Setenv("LOOKOUT_TEST_CONC", "3")
	c, err := loadYAML(t, `outputs:
  - name: s
    type: slack
    concurrency: ${LOOKOUT_TEST_CONC}
    slack: {webhook_url: "${LOOKOUT_TEST_HOOK}", username: "pay $$5 $x"}
`)
	if err != nil {
		t.Fatal(err)
	}
	if c.Outputs[0].Delivery.Concurrency != 3 {
		t.Errorf("concurrency %d", c.Outputs[0].Delivery.Concurrency)
	}
	b := c.Outputs[0].Block["slack"].(map[string]any)
	if b["webhook_url"] != "https://hooks.slack.com/services/T/B/fromenv" || b["username"] != "pay $5 $x" {
		t.Errorf("block %v", b)
	}
	for y, want := range map[string]string{
		"outputs:\n  - {name: s, type: slack, slack: {webhook_url: '${LOOKOUT_TEST_UNSET_X}'}}\n": "outputs[0].slack.webhook_url: ${LOOKOUT_TEST_UNSET_X}: environment variable LOOKOUT_TEST_UNSET_X is not set",
		"auth: {tokens: ['${A B}']}\noutputs:\n  - {name: a, type: stdout}\n":                     "auth.tokens[0]: ${A B}: not a variable name",
		"listen: '${OPEN'\noutputs:\n  - {name: a, type: stdout}\n":                               "listen: unterminated ${",
	} {
		if _, err := loadYAML(t, y); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", y, err, want)
		}
	}
}

// TestEnvOverrides: LOOKOUT_<KEY> replaces top-level and nested scalars
// and token lists.
func TestEnvOverrides(t *testing.T) {
	t.Setenv("LOOKOUT_LISTEN", "127.0.0.1:9999")
	t.Setenv("LOOKOUT_AUTH_TOKENS", "a b")
	t.Setenv("LOOKOUT_QUEUE_MAX_BYTES", "2MiB")
	t.Setenv("LOOKOUT_SERVER_MAX_REQUESTS", "7")
	t.Setenv("LOOKOUT_BODY_LIMIT", "4096")
	c, err := loadYAML(t, "listen: 127.0.0.1:1\nqueue: {dir: ''}\noutputs:\n  - {name: a, type: stdout}\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9999" || len(c.Tokens) != 2 || c.Queue.MaxBytes != 2<<20 || c.Server.MaxRequests != 7 || c.BodyLimit != 4096 || c.Queue.Dir != "" {
		t.Fatalf("%+v", c)
	}
	t.Setenv("LOOKOUT_SERVER_MAX_REQUESTS", "lots")
	if _, err := loadYAML(t, "outputs:\n  - {name: a, type: stdout}\n"); err == nil || !strings.Contains(err.Error(), "server.max_requests: lots is not an integer") {
		t.Fatalf("bad override: %v", err)
	}
}

func TestExpand(t *testing.T) {
	env := map[string]string{"A": "x", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for in, want := range map[string]string{
		"plain": "plain", "${A}": "x", "a${A}b${A}": "axbx", "$$": "$", "$${A}": "${A}", "${EMPTY}": "", "$": "$", "5$": "5$", "$a": "$a",
	} {
		if got, err := Expand(in, lookup); err != nil || got != want {
			t.Errorf("Expand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"${", "${}", "${1A}", "${NOPE}"} {
		if _, err := Expand(in, lookup); err == nil {
			t.Errorf("Expand(%q): no error", in)
		}
	}
}

// TestPagerDutyRulesAreFilters: pagerduty.rules becomes the output's
// filter allow-list (so the router counts skipped alerts as filtered).
func TestPagerDutyRulesAreFilters(t *testing.T) {
	c, err := loadYAML(t, "outputs:\n  - {name: pd, type: pagerduty, pagerduty: {routing_key: k, rules: ['Terminal shell in container']}}\n  - {name: pd2, type: pagerduty, pagerduty: {routing_key: k}}\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Outputs[0].Filters.AllowRules; len(got) != 1 || got[0] != "Terminal shell in container" {
		t.Errorf("allow-list %v", got)
	}
	if got := c.Outputs[1].Filters.AllowRules; got != nil {
		t.Errorf("no rules: allow-list %v, want nil", got)
	}
}
