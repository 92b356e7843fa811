package sidekick

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lookout-sec/lookout/outputs/registry"
	"github.com/lookout-sec/lookout/router/internal/config"
)

// load writes y to a file and loads it as `lookout-router --check` does.
func load(t *testing.T, y []byte) *config.Config {
	t.Helper()
	p := filepath.Join(t.TempDir(), "lookout.yaml")
	if err := os.WriteFile(p, y, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(p, registry.Builtin())
	if err != nil {
		t.Fatalf("converted config does not load: %v\n%s", err, y)
	}
	return c
}

func convertFile(t *testing.T, name string, edit func(string) string) *Result {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if edit != nil {
		s = edit(s)
	}
	r, err := FromYAML([]byte(s))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return r
}

func warningKeys(r *Result) map[string]string {
	m := map[string]string{}
	for _, w := range r.Warnings {
		m[w.Key] = w.Message
	}
	return m
}

// TestConfigExample converts Falcosidekick's own config_example.yaml: as
// shipped no output is enabled (an error saying so); with the Slack and
// Elasticsearch lines filled in it converts, loads, and every other key
// that is set comes back as a warning naming it.
func TestConfigExample(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "config_example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := FromYAML(b); err == nil || !strings.Contains(err.Error(), "slack.webhookurl") {
		t.Fatalf("config_example.yaml as shipped: err = %v, want a no-output error naming the enabling keys", err)
	}
	r := convertFile(t, "config_example.yaml", func(s string) string {
		s = strings.Replace(s, `  webhookurl: "" # Slack WebhookURL`, `  webhookurl: "https://hooks.slack.com/services/T0/B0/Z" # Slack WebhookURL`, 1)
		return strings.Replace(s, `  # hostport: "" # http://{domain or ip}:{port}, if not empty, Elasticsearch`, `  hostport: "http://127.0.0.1:9200" # Elasticsearch`, 1)
	})
	y, err := r.YAML("config_example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := load(t, y)
	if len(c.Outputs) != 2 || c.Outputs[0].Name != "slack" || c.Outputs[1].Name != "elasticsearch" {
		t.Fatalf("outputs %v", c)
	}
	w := warningKeys(r)
	for _, key := range []string{
		"customfields", "outputfieldformat", "mutualtlsfilespath", "mutualtlsclient.certfile", "tlsserver.notlsport",
		"rocketchat.outputformat", "opsgenie.region", "statsd.namespace", "aws.sns.rawjson", "kubeless.port",
		"googlechat.messageformat", "pagerduty.region", "policyreport.kubeconfig",
	} {
		if _, ok := w[key]; !ok {
			t.Errorf("no warning for %s (warnings: %v)", key, r.Warnings)
		}
	}
	if !strings.Contains(w["opsgenie.region"], "no opsgenie output") || !strings.Contains(w["pagerduty.region"], "not enabled") {
		t.Errorf("warnings say why: %q, %q", w["opsgenie.region"], w["pagerduty.region"])
	}
	for _, key := range []string{"slack.webhookurl", "slack.outputformat", "elasticsearch.hostport", "debug"} {
		if msg, ok := w[key]; ok {
			t.Errorf("converted key %s warned: %s", key, msg)
		}
	}
	if !strings.Contains(string(y), "# warning: customfields:") {
		t.Errorf("warnings are not kept in the file's header:\n%s", y)
	}
}

func TestRealisticConfig(t *testing.T) {
	r := convertFile(t, "helm-values-style.yaml", nil)
	y, err := r.YAML("helm-values-style.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := load(t, y)
	if c.Listen != "0.0.0.0:2801" {
		t.Errorf("listen %s, want 0.0.0.0:2801 (Falcosidekick's empty listenaddress binds every address)", c.Listen)
	}
	got := map[string]config.Output{}
	for _, o := range c.Outputs {
		got[o.Name] = o
	}
	if len(got) != 4 {
		t.Fatalf("outputs %v", c.Outputs)
	}
	for name, want := range map[string]string{"slack": "Warning", "elasticsearch": "Notice", "pagerduty": "Critical", "webhook": "Error"} {
		if p := got[name].MinPriority.String(); p != want {
			t.Errorf("%s min_priority %s, want %s", name, p, want)
		}
	}
	wantRaw := map[string]map[string]any{
		"slack": {"webhook_url": "https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXX", "compat": "falcosidekick",
			"channel": "#falco-alerts", "username": "Falco", "icon_url": "https://example.com/falco.png", "footer": "prod-eu-1",
			"output_format": "fields", "message_format": "Alert: rule *{{ .Rule }}* on *{{ .Hostname }}*"},
		"elasticsearch": {"addresses": []any{"https://es.internal:9200"}, "compat": "falcosidekick", "index": "falco",
			"index_suffix": "monthly", "username": "falco_writer", "password": "es-pa55word", "headers": map[string]any{"X-Team": "sec"},
			"flatten_fields": true, "index_template": true, "shards": 3, "replicas": 1},
		"pagerduty": {"routing_key": "R0UT1NGKEY0000000000000000000000", "endpoint": "https://events.eu.pagerduty.com"},
		"webhook":   {"url": "http://soar.internal:8080/falco", "method": "PUT", "headers": map[string]any{"Authorization": "Bearer soar-token"}},
	}
	for name, want := range wantRaw {
		if !reflect.DeepEqual(normalise(got[name].TypeBlock()), normalise(want)) {
			t.Errorf("%s block:\n got %#v\nwant %#v", name, got[name].TypeBlock(), want)
		}
	}
	w := warningKeys(r)
	for _, key := range []string{"debug", "customfields", "teams.webhookurl", "teams.minimumpriority", "elasticsearch.checkcert", "slack.checkcert", "slack.mutualtls"} {
		if _, ok := w[key]; !ok {
			t.Errorf("no warning for %s: %v", key, r.Warnings)
		}
	}
	if strings.Contains(w["elasticsearch.checkcert"], "nothing to convert") {
		t.Errorf("checkcert: false must be flagged as a change: %s", w["elasticsearch.checkcert"])
	}
}

// normalise makes YAML-decoded and literal values comparable (viper
// lower-cases map keys; numbers may be int or float).
func normalise(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		switch v := v.(type) {
		case map[string]any:
			out[strings.ToLower(k)] = normalise(v)
		case []string:
			l := make([]any, len(v))
			for i, s := range v {
				l[i] = s
			}
			out[strings.ToLower(k)] = l
		case float64:
			out[strings.ToLower(k)] = int(v)
		default:
			out[strings.ToLower(k)] = v
		}
	}
	return out
}

func TestMinimalSlack(t *testing.T) {
	r := convertFile(t, "minimal-slack.yaml", nil)
	if len(r.Warnings) != 0 {
		t.Errorf("warnings %v", r.Warnings)
	}
	y, _ := r.YAML("minimal-slack.yaml")
	c := load(t, y)
	if o := c.Outputs[0]; o.MinPriority.String() != "Debug" || o.TypeBlock()["username"] != "Falcosidekick" || o.TypeBlock()["compat"] != "falcosidekick" {
		t.Errorf("slack output %+v", o)
	}
	if c.Listen != "127.0.0.1:2801" {
		t.Errorf("listen %s: without listen keys Lookout's default stays", c.Listen)
	}
}

func TestFromEnv(t *testing.T) {
	env := []string{
		"PATH=/usr/bin", "HOME=/root", "LISTENPORT=2802",
		"SLACK_WEBHOOKURL=https://hooks.slack.com/services/T2/B2/Q", "SLACK_MINIMUMPRIORITY=error", "SLACK_OUTPUTFORMAT=text",
		"ELASTICSEARCH_HOSTPORT=http://127.0.0.1:9200", "ELASTICSEARCH_FLATTENFIELDS=true", "ELASTICSEARCH_SUFFIX=none",
		"ELASTICSEARCH_CUSTOMHEADERS=X-A:1,X-B:two",
		"PAGERDUTY_ROUTINGKEY=rk-0123456789", "PAGERDUTY_MINIMUMPRIORITY=critical",
		"WEBHOOK_ADDRESS=http://127.0.0.1:9999/hook", "WEBHOOK_CUSTOMHEADERS=Authorization:Bearer t",
		"TEAMS_WEBHOOKURL=https://outlook.office.com/webhook/y", "ELASTICSEARCH_PIPELINE=falco",
		"ELASTICSEARCH_BATCHING_ENABLED=true", "ELASTICSEARCH_BATCHING_BATCHSIZE=1048576", "ELASTICSEARCH_BATCHING_FLUSHINTERVAL=1s",
	}
	r, err := FromEnv(env)
	if err != nil {
		t.Fatal(err)
	}
	y, _ := r.YAML("environment variables")
	c := load(t, y)
	if c.Listen != "0.0.0.0:2802" || len(c.Outputs) != 4 {
		t.Fatalf("listen %s outputs %v", c.Listen, c.Outputs)
	}
	es := c.Outputs[1].TypeBlock()
	if es["flatten_fields"] != true || es["index_suffix"] != "none" || !reflect.DeepEqual(normalise(es["headers"].(map[string]any)), map[string]any{"x-a": "1", "x-b": "two"}) {
		t.Errorf("elasticsearch from env: %#v", es)
	}
	if c.Outputs[0].MinPriority.String() != "Error" || c.Outputs[0].TypeBlock()["output_format"] != "text" {
		t.Errorf("slack from env: %+v", c.Outputs[0])
	}
	w := warningKeys(r)
	if c.Outputs[1].Delivery.BatchSize != 500 || es["flush_bytes"] != 1048576 {
		t.Errorf("batching: batch_size %d flush_bytes %v, want 500 and 1048576", c.Outputs[1].Delivery.BatchSize, es["flush_bytes"])
	}
	for _, key := range []string{"teams.webhookurl", "elasticsearch.pipeline", "elasticsearch.batching.flushinterval"} {
		if _, ok := w[key]; !ok {
			t.Errorf("no warning for %s: %v", key, r.Warnings)
		}
	}
	for k := range w {
		if strings.HasPrefix(k, "path") || strings.HasPrefix(k, "home") {
			t.Errorf("non-Falcosidekick variable %s reported", k)
		}
	}
}

func TestBadValues(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"priority": {"slack:\n  webhookurl: https://hooks.slack.com/x\n  minimumpriority: urgent\n", "slack.minimumpriority"},
		"suffix":   {"elasticsearch:\n  hostport: http://127.0.0.1:9200\n  suffix: weekly\n", "elasticsearch.suffix"},
		"region":   {"pagerduty:\n  routingkey: k\n  region: ap\n", "pagerduty.region"},
		"bool":     {"elasticsearch:\n  hostport: http://127.0.0.1:9200\n  flattenfields: maybe\n", "elasticsearch.flattenfields"},
		"yaml":     {"slack: [\n", "falcosidekick config"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := FromYAML([]byte(tc.yaml)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one naming %s", err, tc.want)
			}
		})
	}
}
