package config

import (
	"strings"
	"testing"
	"time"
)

func TestNoiseConfig(t *testing.T) {
	c, err := loadYAML(t, `
noise:
  baseline: {learn_for: 24h}
  retention: {max_age: 90d, max_findings: 5000}
  fingerprints:
    - {rules: ["Terminal shell in container"], fields: [k8s.ns.name, k8s.workload.name]}
  silences:
    - matchers: ['rule = "Read sensitive file untrusted"', 'proc.name in (node_exporter, datadog-agent)']
      comment: monitoring agents read /etc/shadow
      created_by: platform
      ends_at: 2027-01-01T00:00:00Z
      mark_expected: true
outputs:
  - name: slack
    type: stdout
    min_priority: warning
    notify: new
    repeat_interval: 24h
    group_by: [rule, k8s.ns.name]
    group_wait: 30s
    filters:
      fields:
        include: ['k8s.ns.name glob "prod-*"', ['k8s.ns.name = dev', 'priority in (critical, alert)']]
        exclude: ['proc.name = kubelet']
  - {name: es, type: stdout}
`)
	if err != nil {
		t.Fatal(err)
	}
	n := c.Noise
	if n.Baseline.LearnFor != 24*time.Hour || n.Retention.MaxAge != 90*24*time.Hour || n.Retention.MaxFindings != 5000 {
		t.Fatalf("noise: %+v", n)
	}
	if len(n.Silences) != 1 || len(n.Silences[0].Parsed) != 2 || !n.Silences[0].MarkExpected || n.Silences[0].EndsAt.Year() != 2027 {
		t.Fatalf("silences: %+v", n.Silences)
	}
	s := c.Outputs[0]
	if s.Noise.Notify != "new" || s.Noise.RepeatInterval != 24*time.Hour || len(s.Noise.GroupBy) != 2 || s.Noise.GroupWait != 30*time.Second {
		t.Fatalf("policy: %+v", s.Noise)
	}
	if len(s.Filters.Fields.Include) != 2 || len(s.Filters.Fields.Include[1]) != 2 || len(s.Filters.Fields.Exclude) != 1 {
		t.Fatalf("fields: %+v", s.Filters.Fields)
	}
	if c.Outputs[1].Noise.Notify != "all" || c.Outputs[1].Noise.Record {
		t.Fatalf("defaults: %+v", c.Outputs[1].Noise)
	}
}

func TestElasticsearchRecordsByDefault(t *testing.T) {
	c, err := loadYAML(t, "outputs:\n  - {name: es, type: elasticsearch, elasticsearch: {addresses: ['http://127.0.0.1:9200']}}\n")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Outputs[0].Noise.Record {
		t.Fatal("elasticsearch should record everything by default")
	}
}

func TestNoiseConfigErrors(t *testing.T) {
	out := "outputs:\n  - {name: a, type: stdout}\n"
	for _, c := range []struct{ name, yaml, want string }{
		{"unknown noise key", "noise: {baseline: {learn: 24h}}\n" + out, "noise.baseline.learn: unknown key (allowed: learn_for)"},
		{"bad duration", "noise: {baseline: {learn_for: 24}}\n" + out, "a duration needs a unit"},
		{"bad duration text", "noise: {retention: {max_age: forever}}\n" + out, `"forever" is not a duration`},
		{"silence without comment", "noise: {silences: [{matchers: ['rule = x']}]}\n" + out, "noise.silences[0].comment: is required"},
		{"silence bad matcher", "noise: {silences: [{matchers: ['rule ~ x'], comment: c}]}\n" + out, "noise.silences[0].matchers: matcher"},
		{"silence bad time", "noise: {silences: [{matchers: ['rule = x'], comment: c, ends_at: tomorrow}]}\n" + out, `"tomorrow" is not an RFC 3339 time`},
		{"bad notify", "outputs:\n  - {name: a, type: stdout, notify: first}\n", `outputs[0].notify: "first" is not allowed`},
		{"record and new", "outputs:\n  - {name: a, type: stdout, record: true, notify: new}\n", "outputs[0].record: an output that records everything"},
		{"group_wait without group_by", "outputs:\n  - {name: a, type: stdout, group_wait: 10s}\n", "outputs[0].group_wait/group_interval: need group_by"},
		{"bad field matcher", "outputs:\n  - {name: a, type: stdout, filters: {fields: {include: ['x']}}}\n", "outputs[0].filters.fields.include[0]: matcher"},
		{"bad fields key", "outputs:\n  - {name: a, type: stdout, filters: {fields: {only: ['x = y']}}}\n", "outputs[0].filters.fields.only: unknown key"},
		{"fingerprint without fields", "noise: {fingerprints: [{rules: [x]}]}\n" + out, "noise.fingerprints[0]: rules and fields are both required"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := loadYAML(t, c.yaml)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}
