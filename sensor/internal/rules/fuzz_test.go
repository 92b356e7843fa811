package rules

import (
	"testing"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/sensor/internal/ruleset"
)

// FuzzLoad loads two rules files (a base and an override file) and, when
// they load, evaluates a few events: nothing may panic, and an error must
// be a located message.
func FuzzLoad(f *testing.F) {
	f.Add(ruleset.Default, []byte(""))
	f.Add([]byte(baseRules), []byte(`
- list: shells
  items: [zsh]
  override:
    items: append
- rule: Shell
  exceptions:
    - name: e
      fields: [proc.pname, proc.cwd]
      comps: [=, startswith]
      values: [[sshd, /root]]
  override:
    exceptions: append
`))
	f.Add([]byte(okRule), []byte("- required_engine_version: 0.26.0\n- required_plugin_versions:\n  - name: container\n    version: 0.4.0\n"))
	f.Add([]byte("- macro: m\n  condition: >\n    proc.name = x\n- rule: R\n  desc: d\n  condition: m and evt.type in (execve, openat)\n  output: \"%proc.name %fd.name %evt.arg.flags %toupper(user.name)\"\n  priority: INFO\n"), []byte("- rule: R\n  enabled: false\n"))
	e := testEvents()
	f.Fuzz(func(t *testing.T, base, override []byte) {
		eng, _, err := Load([]Source{{Name: "a.yaml", Data: base}, {Name: "b.yaml", Data: override}},
			Options{MinPriority: api.PriorityDebug, Matching: MatchAll, Fields: utcTable()})
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		for _, ev := range e {
			eng.Eval(ev, func(*api.Alert) {})
		}
		eng.Rules()
	})
}
