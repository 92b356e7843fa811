package rules

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/sensor/internal/ruleset"
)

const okRule = `
- rule: R
  desc: d
  condition: evt.type = execve
  output: o
  priority: INFO
`

// TestLoadErrors checks the exact message of each kind of load error:
// file:line:col, the message, the offending line and a caret.
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"bad yaml", "- rule: [x\n", "a.yaml:1:1: invalid YAML: did not find expected ',' or ']'\n    - rule: [x\n    ^"},
		{"bad yaml line", okRule + "- rule: S\n  desc: a: b\n", "a.yaml:8:3: invalid YAML: mapping values are not allowed in this context\n      desc: a: b\n      ^"},
		{"not a sequence", "rule: x\n", "a.yaml:1:1: rules content is not yaml array of objects\n    rule: x\n    ^"},
		{"newer engine", "- required_engine_version: 0.99.0\n",
			"a.yaml:1:28: Rules require engine version 0.99.0, but engine version is 0.57.0\n    - required_engine_version: 0.99.0\n                               ^"},
		{"newer engine int", "- required_engine_version: 99\n",
			"a.yaml:1:28: Rules require engine version 0.99.0, but engine version is 0.57.0\n    - required_engine_version: 99\n                               ^"},
		{"bad engine version", "- required_engine_version: abc\n",
			"a.yaml:1:28: Unable to parse engine version 'abc' as a semver string. Expected \"x.y.z\" semver format\n    - required_engine_version: abc\n                               ^"},
		{"engine version shorthand", "- required_engine_version: 0.57\n",
			"a.yaml:1:28: Unable to parse engine version '0.57' as a semver string. Expected \"x.y.z\" semver format\n    - required_engine_version: 0.57\n                               ^"},
		{"other major engine", "- required_engine_version: 1.0.0\n",
			"a.yaml:1:28: Rules require engine version 1.0.0, but engine version is 0.57.0\n    - required_engine_version: 1.0.0\n                               ^"},
		{"unknown field", "- rule: R\n  desc: d\n  condition: evt.type = execve and proc.nmae = x\n  output: o\n  priority: INFO\n",
			"a.yaml:3:36: rule 'R': field 'proc.nmae': unknown field \"proc.nmae\"\n    evt.type = execve and proc.nmae = x\n                          ^"},
		{"bad operator", "- rule: R\n  desc: d\n  condition: evt.type = execve and proc.name equals x\n  output: o\n  priority: INFO\n",
			"a.yaml:3:46: rule 'R': expected an operator after field 'proc.name'\n    evt.type = execve and proc.name equals x\n                                    ^"},
		{"unknown macro", "- rule: R\n  desc: d\n  condition: >\n    evt.type = execve and\n    not my_macro\n  output: o\n  priority: INFO\n",
			"a.yaml:5:9: rule 'R': Undefined macro 'my_macro' used in filter.\n        not my_macro\n            ^"},
		{"unknown field in a folded condition using a list",
			"- list: shells\n  items: [bash, sh]\n- rule: R\n  desc: d\n  condition: >\n    evt.type = execve\n    and proc.name in (shells)\n    and proc.pnmae = sshd\n  output: o\n  priority: INFO\n",
			"a.yaml:8:9: rule 'R': field 'proc.pnmae': unknown field \"proc.pnmae\"\n        and proc.pnmae = sshd\n            ^"},
		{"unknown field in a literal condition",
			"- rule: R\n  desc: d\n  condition: |\n    evt.type = execve\n      and proc.pnmae = sshd\n  output: o\n  priority: INFO\n",
			"a.yaml:5:11: rule 'R': field 'proc.pnmae': unknown field \"proc.pnmae\"\n          and proc.pnmae = sshd\n              ^"},
		{"bad macro condition", "- macro: m\n  condition: proc.name = (\n" + strings.TrimPrefix(strings.Replace(okRule, "evt.type = execve", "evt.type = execve and m", 1), "\n"),
			"a.yaml:2:26: macro 'm': expected a value after '='\n    proc.name = (\n                ^"},
		{"bad priority", "- rule: R\n  desc: d\n  condition: evt.type = execve\n  output: o\n  priority: LOUD\n",
			"a.yaml:5:13: Invalid priority 'LOUD'\n      priority: LOUD\n                ^"},
		{"missing condition", "- rule: R\n  desc: d\n  output: o\n  priority: INFO\n",
			"a.yaml:1:3: Item has no mapping for key 'condition'\n    - rule: R\n      ^"},
		{"append to unknown rule", "- rule: X\n  condition: and proc.name = x\n  append: true\n",
			"a.yaml:1:3: Rule 'X' has 'append' or 'override' key but no rule by that name already exists\n    - rule: X\n      ^"},
		{"override bad key", okRule + "- rule: R\n  priority: ERROR\n  override:\n    priority: append\n",
			"a.yaml:10:15: Key 'priority' cannot be appended to, use 'replace' instead\n        priority: append\n                  ^"},
		{"override without key", okRule + "- rule: R\n  condition: and proc.name = x\n  override:\n    output: append\n",
			"a.yaml:10:5: An override for 'output' was specified but 'output' is not defined\n        output: append\n        ^"},
		{"unknown output field", "- rule: R\n  desc: d\n  condition: evt.type = execve\n  output: file=%fd.nme proc=%proc.name\n  priority: INFO\n",
			"a.yaml:4:17: rule 'R': output: unknown field \"fd.nme\"\n    file=%fd.nme proc=%proc.name\n          ^"},
		{"bad exception comps", "- rule: R\n  desc: d\n  condition: evt.type = execve\n  output: o\n  priority: INFO\n  exceptions:\n    - name: e\n      fields: [proc.name, proc.pname]\n      comps: [=]\n",
			"a.yaml:7:7: Exception 'e': Fields and comps lists must have equal length\n        - name: e\n          ^"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := loadFiles(t, tc.yaml)
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", err, tc.want)
			}
		})
	}
}

// TestSkipIfUnknownFilter checks that a rule with an unknown field is
// skipped with a warning when it asks for it, and loads otherwise.
func TestSkipIfUnknownFilter(t *testing.T) {
	y := okRule + `
- rule: Future
  desc: d
  condition: evt.type = execve and proc.future_field = x
  output: o
  priority: INFO
  skip-if-unknown-filter: true
`
	e, rep, err := loadFiles(t, y)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Skipped, []string{"Future"}) || len(e.Rules()) != 2 || rep.Active != 1 {
		t.Fatalf("skipped %q, rules %d, report %+v", rep.Skipped, len(e.Rules()), rep)
	}
	if r := e.Rules()[1]; r.Active || r.Inactive != `skip-if-unknown-filter: field 'proc.future_field': unknown field "proc.future_field"` {
		t.Errorf("skipped rule listed as %+v", r)
	}
	want := "a.yaml:8:3: rule 'Future' skipped: field 'proc.future_field': unknown field \"proc.future_field\""
	if !slices.Contains(rep.Warnings, want) {
		t.Errorf("warnings %q, want %q", rep.Warnings, want)
	}
}

// TestReport checks per-file counts, the engine version and plugin
// requirements for the upstream file plus an override file.
func TestReport(t *testing.T) {
	override := `
- list: shell_binaries
  items: [fish]
  override:
    items: append
- macro: user_known_system_user_login
  condition: (proc.name = backup)
  override:
    condition: replace
- rule: Terminal shell in container
  enabled: false
  override:
    enabled: replace
`
	_, rep, err := loadFiles(t, string(ruleset.Default), override)
	if err != nil {
		t.Fatal(err)
	}
	want := []FileReport{{Name: "a.yaml", Rules: 25, Macros: 87, Lists: 49}, {Name: "b.yaml", Overrides: []string{
		"list 'shell_binaries' (items: append)",
		"macro 'user_known_system_user_login' (condition: replace)",
		"rule 'Terminal shell in container' (enabled: replace)",
	}}}
	if !reflect.DeepEqual(rep.Files, want) {
		t.Errorf("files %+v, want %+v", rep.Files, want)
	}
	if rep.RequiredEngineVersion != "0.57.0" || len(rep.Plugins) != 1 || rep.Plugins[0].Name != "container" || rep.Plugins[0].Version != "0.4.0" {
		t.Errorf("engine %q plugins %+v", rep.RequiredEngineVersion, rep.Plugins)
	}
	if rep.Rules != 25 || rep.Active != 24 {
		t.Errorf("rules %d active %d", rep.Rules, rep.Active)
	}
}

// TestUnknownSource checks that rules of a source Lookout has no events
// for are skipped with a warning, as Falco does without the source's
// plugin, and that rules list still shows them with the reason.
func TestUnknownSource(t *testing.T) {
	e, rep, err := loadFiles(t, okRule+`
- rule: Trail
  desc: d
  condition: ct.name = CreateUser
  output: o
  priority: INFO
  source: aws_cloudtrail
`)
	if err != nil {
		t.Fatal(err)
	}
	want := "a.yaml:8:3: rule 'Trail' skipped: unknown source aws_cloudtrail (supported: syscall, k8s_audit)"
	if !slices.Equal(rep.Skipped, []string{"Trail"}) || !slices.Contains(rep.Warnings, want) {
		t.Errorf("skipped %q warnings %q", rep.Skipped, rep.Warnings)
	}
	infos := e.Rules()
	if len(infos) != 2 || infos[1].EventSource != "aws_cloudtrail" || infos[1].Active ||
		infos[1].Inactive != "unknown source aws_cloudtrail (supported: syscall, k8s_audit)" {
		t.Errorf("rules %+v", infos)
	}
}

// TestSourceNotEnabled checks that a k8s_audit rule compiles but does not
// run in an engine fed only syscalls, and says why.
func TestSourceNotEnabled(t *testing.T) {
	y := okRule + `
- rule: Audit
  desc: d
  condition: ka.verb = create and ka.target.resource = pods
  output: created (user=%ka.user.name)
  priority: INFO
  source: k8s_audit
`
	e, rep, err := Load([]Source{{Name: "a.yaml", Data: []byte(y)}}, Options{MinPriority: api.PriorityDebug, Sources: []string{SourceSyscall}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Active != 1 || e.ActiveRules(SourceK8sAudit) != 0 {
		t.Fatalf("active %d, k8s_audit %d", rep.Active, e.ActiveRules(SourceK8sAudit))
	}
	want := "1 enabled rules of source k8s_audit will not run: the k8s_audit source is not enabled in this sensor (sources.k8s_audit)"
	if !slices.Contains(rep.Warnings, want) {
		t.Errorf("warnings %q, want %q", rep.Warnings, want)
	}
	r := e.Rules()[1]
	if r.Active || r.EventSource != SourceK8sAudit || r.Inactive != "source k8s_audit is not enabled in this sensor (sources.k8s_audit)" {
		t.Errorf("rule %+v", r)
	}
	// And the reverse pitfall: the source on, no rule for it.
	_, rep, err = Load([]Source{{Name: "a.yaml", Data: []byte(okRule)}}, Options{MinPriority: api.PriorityDebug, Sources: []string{SourceSyscall, SourceK8sAudit}})
	if err != nil {
		t.Fatal(err)
	}
	want = "the k8s_audit source is enabled but no rule of source k8s_audit is loaded: its events are received and never match (load k8s_audit_rules.yaml)"
	if !slices.Contains(rep.Warnings, want) {
		t.Errorf("warnings %q, want %q", rep.Warnings, want)
	}
}

// TestOverrideExampleFromDocs loads the override example of
// docs/rules-engine.md on top of the upstream rules and checks its C2 rule
// fires on a connect to the listed network.
func TestOverrideExampleFromDocs(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/rules-engine.md")
	if err != nil {
		t.Skipf("docs not found: %v", err)
	}
	_, rest, ok := strings.Cut(string(doc), "# 20-site.yaml\n")
	if !ok {
		t.Fatal("example not found in docs/rules-engine.md")
	}
	example, _, _ := strings.Cut(rest, "```")
	e, _, err := loadFiles(t, string(ruleset.Default), example)
	if err != nil {
		t.Fatal(err)
	}
	if got := ruleNames(evalAll(e, connectEvent(hostCmd("curl", "/usr/bin/curl"), "203.0.113.77:443"))); !slices.Equal(got, []string{"Outbound to C2"}) {
		t.Errorf("C2 connect raised %q", got)
	}
	if got := evalAll(e, connectEvent(hostCmd("curl", "/usr/bin/curl"), "198.51.100.8:443")); len(got) != 0 {
		t.Errorf("other connect raised %q", ruleNames(got))
	}
	if ruleByName(t, e, "Terminal shell in container").Enabled {
		t.Error("Terminal shell in container still enabled")
	}
	ev := openEvent(hostCmd("vault-agent", "/usr/bin/vault-agent"), "/etc/shadow", "/etc/shadow", oRDONLY, 3)
	if got := evalAll(e, ev); len(got) != 0 {
		t.Errorf("excepted read raised %q", ruleNames(got))
	}
}

// TestWarnEvttypes checks the warning for a rule without an evt.type
// restriction, and that warn_evttypes: false silences it.
func TestWarnEvttypes(t *testing.T) {
	y := `
- rule: Any
  desc: d
  condition: proc.name = x
  output: o
  priority: INFO
- rule: Quiet
  desc: d
  condition: proc.name = y
  output: o
  priority: INFO
  warn_evttypes: false
`
	e, rep, err := loadFiles(t, y)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a.yaml:2:3: rule 'Any' matches every event type (no evt.type restriction): it runs on every event, which costs CPU; add evt.type conditions or warn_evttypes: false"}
	if !slices.Equal(rep.Warnings, want) {
		t.Errorf("warnings %q", rep.Warnings)
	}
	if got := ruleNames(evalAll(e, execEvent(hostCmd("x", "/usr/bin/x")))); !slices.Equal(got, []string{"Any"}) {
		t.Errorf("got %q", got)
	}
}

// TestUncapturedEventTypes checks the warning for evt.type names the
// sensor does not capture.
func TestUncapturedEventTypes(t *testing.T) {
	_, rep, err := loadFiles(t, `
- rule: Writes
  desc: d
  condition: evt.type in (write, openat, pwrite64) and fd.name = /x
  output: o
  priority: INFO
`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a.yaml:2:3: rule 'Writes': event types not captured by the sensor, never matched: write, pwrite64"}
	if !slices.Equal(rep.Warnings, want) {
		t.Errorf("warnings %q", rep.Warnings)
	}
}

// TestSpecErrors pins the messages of the remaining loader error paths.
func TestSpecErrors(t *testing.T) {
	rule := "- rule: R\n  desc: d\n  condition: evt.type = execve\n  output: o\n  priority: INFO\n"
	tests := []struct{ yaml, want string }{
		{okRule + "- rule: R\n  condition: and x\n  append: true\n  override:\n    condition: append\n",
			"a.yaml:10:3: Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.\n      override:\n      ^"},
		{okRule + "- rule: R\n  condition: and proc.name = x\n  output: o2\n  override:\n    condition: append\n",
			"a.yaml:9:3: Unexpected key 'output': no corresponding entry under 'override' is defined.\n      output: o2\n      ^"},
		{okRule + "- rule: R\n  condition: and proc.name = x\n  override:\n    condition: prepend\n",
			"a.yaml:10:16: Invalid override operation for key 'condition': 'prepend' (must be 'append' or 'replace')\n        condition: prepend\n                   ^"},
		{rule + "  enabled: maybe\n", "a.yaml:6:12: Value for key 'enabled' must be a boolean, got 'maybe'\n      enabled: maybe\n               ^"},
		{rule + "  tags: shell\n", "a.yaml:6:9: Value for key 'tags' must be a list of strings\n      tags: shell\n            ^"},
		{rule + "  exceptions: {name: x}\n", "a.yaml:6:15: Rule exceptions must be a sequence\n      exceptions: {name: x}\n                  ^"},
		{rule + "  exceptions:\n    - name: e\n      fields: proc.name\n      comps: startswith\n",
			"a.yaml:9:14: Exception 'e': single-field comps must be a list operator (in, pmatch, intersects or '<op> oneof|anyof|allof'), got 'startswith'\n          comps: startswith\n                 ^"},
		{rule + "  exceptions:\n    - name: e\n      fields: [proc.name, proc.pname]\n      values:\n        - [a]\n",
			"a.yaml:10:11: Exception 'e': Fields and values lists must have equal length\n            - [a]\n              ^"},
		{okRule + "- rule: R\n  exceptions:\n    - name: e\n      fields: [proc.name]\n  override:\n    exceptions: append\n- rule: R\n  exceptions:\n    - name: e\n      fields: [proc.pname]\n  override:\n    exceptions: append\n",
			"a.yaml:15:7: Can not append exception fields or comps to existing exception 'e', only values\n        - name: e\n          ^"},
		{"- macro: m\n  condition: or x\n  append: true\n", "a.yaml:1:3: Macro 'm' has 'append' key but no macro by that name already exists\n    - macro: m\n      ^"},
		{"- just a string\n", "a.yaml:1:3: unexpected element type; each element should be a yaml associative array\n    - just a string\n      ^"},
		{"- rule: X\n  enabled: false\n", "a.yaml:1:3: Rule 'X' has 'enabled' key but no rule by that name already exists\n    - rule: X\n      ^"},
		{"- list: l\n  items: {a: b}\n", "a.yaml:2:10: Value for key 'items' must be a list of strings\n      items: {a: b}\n             ^"},
		{"- required_plugin_versions:\n  - name: k8saudit\n", "a.yaml:2:5: Item has no mapping for key 'version'\n      - name: k8saudit\n        ^"},
	}
	for _, tc := range tests {
		_, _, err := loadFiles(t, tc.yaml)
		if err == nil || err.Error() != tc.want {
			t.Errorf("got\n%v\nwant\n%s", err, tc.want)
		}
	}
}
