package rules

import (
	"slices"
	"strings"
	"testing"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// ruleByName returns the RuleInfo called name.
func ruleByName(t *testing.T, e *Engine, name string) RuleInfo {
	t.Helper()
	for _, r := range e.Rules() {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no rule %q", name)
	return RuleInfo{}
}

func loadFiles(t *testing.T, files ...string) (*Engine, *Report, error) {
	t.Helper()
	var srcs []Source
	for i, f := range files {
		srcs = append(srcs, Source{Name: []string{"a.yaml", "b.yaml", "c.yaml"}[i], Data: []byte(f)})
	}
	return Load(srcs, Options{MinPriority: api.PriorityDebug, Fields: utcTable(), Hostname: "h"})
}

const baseRules = `
- macro: never_true
  condition: (evt.num = 0)
- list: shells
  items: [bash, sh]
- macro: spawned
  condition: evt.type = execve
- macro: my_exclusions
  condition: (never_true)
- rule: Shell
  desc: a shell ran
  condition: spawned and proc.name in (shells) and not my_exclusions
  output: shell %proc.name
  priority: WARNING
  tags: [shell, b_tag, a_tag]
`

// TestOverrides checks the compiled condition and behaviour after append,
// override and redefinition, as Falco's loader tests do.
func TestOverrides(t *testing.T) {
	tests := []struct {
		name     string
		override string
		compiled string
		prio     api.Priority
		tags     []string
		enabled  bool
	}{
		{"none", ``,
			"(evt.type = execve and proc.name in (bash, sh) and not evt.num = 0)", api.PriorityWarning, []string{"a_tag", "b_tag", "shell"}, true},
		{"list append", `
- list: shells
  items: [zsh]
  append: true`,
			"(evt.type = execve and proc.name in (bash, sh, zsh) and not evt.num = 0)", api.PriorityWarning, []string{"a_tag", "b_tag", "shell"}, true},
		{"list override append", `
- list: shells
  items: [zsh]
  override:
    items: append`,
			"(evt.type = execve and proc.name in (bash, sh, zsh) and not evt.num = 0)", api.PriorityWarning, []string{"a_tag", "b_tag", "shell"}, true},
		{"list override replace", `
- list: shells
  items: [zsh]
  override:
    items: replace`,
			"(evt.type = execve and proc.name in (zsh) and not evt.num = 0)", api.PriorityWarning, []string{"a_tag", "b_tag", "shell"}, true},
		{"list redefinition", `
- list: shells
  items: [fish]`,
			"(evt.type = execve and proc.name in (fish) and not evt.num = 0)", api.PriorityWarning, []string{"a_tag", "b_tag", "shell"}, true},
		{"macro redefinition", `
- macro: my_exclusions
  condition: proc.pname = sshd`,
			"(evt.type = execve and proc.name in (bash, sh) and not proc.pname = sshd)", api.PriorityWarning, []string{"a_tag", "b_tag", "shell"}, true},
		{"macro append", `
- macro: my_exclusions
  condition: or proc.pname = sshd
  append: true`,
			"(evt.type = execve and proc.name in (bash, sh) and not (evt.num = 0 or proc.pname = sshd))", api.PriorityWarning, []string{"a_tag", "b_tag", "shell"}, true},
		{"macro override append", `
- macro: my_exclusions
  condition: or proc.pname = sshd
  override:
    condition: append`,
			"(evt.type = execve and proc.name in (bash, sh) and not (evt.num = 0 or proc.pname = sshd))", api.PriorityWarning, []string{"a_tag", "b_tag", "shell"}, true},
		{"rule condition append", `
- rule: Shell
  condition: and proc.tty != 0
  append: true`,
			"(evt.type = execve and proc.name in (bash, sh) and not evt.num = 0 and proc.tty != 0)", api.PriorityWarning, []string{"a_tag", "b_tag", "shell"}, true},
		{"rule override condition replace, priority, tags append", `
- rule: Shell
  condition: evt.type = execve and proc.name = zsh
  priority: ERROR
  tags: [extra]
  override:
    condition: replace
    priority: replace
    tags: append`,
			"(evt.type = execve and proc.name = zsh)", api.PriorityError, []string{"a_tag", "b_tag", "extra", "shell"}, true},
		{"rule tags replace", `
- rule: Shell
  tags: [only]
  override:
    tags: replace`,
			"(evt.type = execve and proc.name in (bash, sh) and not evt.num = 0)", api.PriorityWarning, []string{"only"}, true},
		{"rule enabled replace", `
- rule: Shell
  enabled: false
  override:
    enabled: replace`,
			"(evt.type = execve and proc.name in (bash, sh) and not evt.num = 0)", api.PriorityWarning, []string{"a_tag", "b_tag", "shell"}, false},
		{"rule standalone enabled (deprecated)", `
- rule: Shell
  enabled: false`,
			"(evt.type = execve and proc.name in (bash, sh) and not evt.num = 0)", api.PriorityWarning, []string{"a_tag", "b_tag", "shell"}, false},
		{"rule redefinition", `
- rule: Shell
  desc: redefined
  condition: spawned and proc.name = fish
  output: fish
  priority: DEBUG`,
			"(evt.type = execve and proc.name = fish)", api.PriorityDebug, []string{}, true},
		{"rule exceptions append", `
- rule: Shell
  exceptions:
    - name: known
      fields: [proc.pname, proc.cwd]
      values:
        - [sshd, /root/]
        - [cron, "/var/spool cron/"]
  override:
    exceptions: append`,
			"((evt.type = execve and proc.name in (bash, sh) and not evt.num = 0) and not ((proc.pname = sshd and proc.cwd = /root/) or (proc.pname = cron and proc.cwd = \"/var/spool cron/\")))", api.PriorityWarning, []string{"a_tag", "b_tag", "shell"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := []string{baseRules}
			if tc.override != "" {
				files = append(files, tc.override)
			}
			e, _, err := loadFiles(t, files...)
			if err != nil {
				t.Fatal(err)
			}
			r := ruleByName(t, e, "Shell")
			if r.Condition != tc.compiled {
				t.Errorf("compiled\n got %s\nwant %s", r.Condition, tc.compiled)
			}
			if r.Priority != tc.prio || r.Enabled != tc.enabled || !slices.Equal(r.Tags, tc.tags) {
				t.Errorf("got priority %v enabled %v tags %q, want %v %v %q", r.Priority, r.Enabled, r.Tags, tc.prio, tc.enabled, tc.tags)
			}
			if tc.name == "none" && r.Source != "a.yaml:10:3" {
				t.Errorf("source %q", r.Source)
			}
		})
	}
}

// TestExceptionForms checks each form of exceptions Falco accepts, by
// behaviour on events.
func TestExceptionForms(t *testing.T) {
	y := `
- rule: Opens
  desc: d
  condition: evt.type = openat
  output: o %fd.name
  priority: INFO
  exceptions:
    - name: by_proc_and_file
      fields: [proc.name, fd.name]
      comps: [=, startswith]
      values:
        - [cat, /etc/]
    - name: by_names
      fields: proc.name
      values: [less, more]
    - name: by_dirs
      fields: fd.directory
      comps: pmatch
      values: [/var/lib]
    - name: by_tuple_list
      fields: [proc.name, fd.filename]
      comps: [=, in]
      values:
        - [vim, [a.txt, b.txt]]
    - name: no_values
      fields: [proc.name]
`
	e := loadYAML(t, y, MatchAll)
	open := func(proc, path string) *event.Event {
		p := hostCmd(proc, "/usr/bin/"+proc)
		return openEvent(p, path, path, oRDONLY, 3)
	}
	tests := []struct {
		proc, path string
		fire       bool
	}{
		{"cat", "/etc/hosts", false},
		{"cat", "/tmp/x", true},
		{"tac", "/etc/hosts", true},
		{"less", "/tmp/x", false},
		{"more", "/tmp/x", false},
		{"vi", "/var/lib/dpkg/status", false},
		{"vi", "/var/library", true},
		{"vim", "/home/a.txt", false},
		{"vim", "/home/c.txt", true},
	}
	for _, tc := range tests {
		got := len(evalAll(e, open(tc.proc, tc.path))) > 0
		if got != tc.fire {
			t.Errorf("%s %s: fired %v, want %v", tc.proc, tc.path, got, tc.fire)
		}
	}
	want := "(evt.type = openat and not (proc.name = cat and fd.name startswith /etc/) and not proc.name in (less, more) and not fd.directory pmatch (/var/lib) and not (proc.name = vim and fd.filename in (a.txt, b.txt)))"
	if got := ruleByName(t, e, "Opens").Condition; got != want {
		t.Errorf("compiled\n got %s\nwant %s", got, want)
	}
}

// TestVisibility checks Falco's rule that a macro sees only macros and
// lists defined before it, while rules see everything.
func TestVisibility(t *testing.T) {
	_, _, err := loadFiles(t, `
- macro: a
  condition: b and evt.type = execve
- macro: b
  condition: proc.name = x
- rule: R
  desc: d
  condition: a
  output: o
  priority: INFO
`)
	want := "a.yaml:3:14: rule 'R': Undefined macro 'b' used in filter.\n    b and evt.type = execve\n    ^"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	// A list item naming a later list is not expanded in the list, but
	// Falco's textual substitution runs over the condition for every list
	// in definition order, so the name left by "outer" is then replaced by
	// "inner"'s items (rule_loader_compiler.cpp resolve_list).
	e, _, err := loadFiles(t, `
- list: outer
  items: [inner, z]
- list: inner
  items: [x, y]
- rule: R
  desc: d
  condition: evt.type = execve and proc.name in (outer) and proc.pname in (inner)
  output: o
  priority: INFO
`)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ruleByName(t, e, "R").Condition, "(evt.type = execve and proc.name in (x, y, z) and proc.pname in (x, y))"; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

// TestMatching checks rule_matching first (load order) and all.
func TestMatching(t *testing.T) {
	y := `
- rule: One
  desc: d
  condition: evt.type = execve and proc.name = ls
  output: one
  priority: INFO
- rule: Two
  desc: d
  condition: evt.type in (execve, openat) and proc.name = ls
  output: two
  priority: CRITICAL
- rule: Off
  desc: d
  condition: evt.type = execve
  output: off
  priority: INFO
  enabled: false
`
	ev := execEvent(hostCmd("ls", "/usr/bin/ls"))
	if got := ruleNames(evalAll(loadYAML(t, y, MatchFirst), ev)); !slices.Equal(got, []string{"One"}) {
		t.Errorf("first: %q", got)
	}
	if got := ruleNames(evalAll(loadYAML(t, y, MatchAll), ev)); !slices.Equal(got, []string{"One", "Two"}) {
		t.Errorf("all: %q", got)
	}
	e, rep, err := Load([]Source{{Name: "m.yaml", Data: []byte(y)}}, Options{MinPriority: api.PriorityWarning, Matching: MatchAll})
	if err != nil {
		t.Fatal(err)
	}
	if got := ruleNames(evalAll(e, ev)); !slices.Equal(got, []string{"Two"}) {
		t.Errorf("min priority warning: %q", got)
	}
	if rep.Active != 1 || rep.Rules != 3 {
		t.Errorf("report: %+v", rep)
	}
	ts := e.EventTypes()
	if got := ts.Types(); !slices.Equal(got, []event.Type{event.TypeExecve, event.TypeOpenat}) {
		t.Errorf("event types %v", got)
	}
	if !slices.ContainsFunc(rep.Warnings, func(w string) bool { return strings.Contains(w, "less severe than the minimum priority Warning") }) {
		t.Errorf("warnings %q", rep.Warnings)
	}
}
