package rules

import (
	"syscall"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/sensor/internal/event"
	"github.com/lookout-sec/lookout/sensor/internal/ruleset"
)

// benchMix is a realistic, mostly non-matching event mix: library and
// config opens, /proc reads, temp-file writes, common execs on the host and
// in a container, and connects to private and public addresses.
func benchMix() []*event.Event {
	host := hostChain()
	app := mkProc(procSpec{pid: 3000, name: "python3", exepath: "/usr/bin/python3.11", exe: "python3",
		args: []string{"/srv/app/main.py", "--port", "8080"}, user: userAlice}, host)
	ctr := mkProc(procSpec{pid: 2300, name: "node", exepath: "/usr/local/bin/node", exe: "node",
		args: []string{"server.js"}}, containerChain())
	var out []*event.Event
	for _, p := range []*event.Process{host, app, ctr} {
		for _, f := range []struct {
			path  string
			flags uint64
		}{
			{"/etc/ld.so.cache", 0o2000000},
			{"/usr/lib/x86_64-linux-gnu/libc.so.6", 0o2000000},
			{"/proc/self/stat", 0},
			{"/etc/hosts", 0},
			{"/tmp/app-cache/entry.json", oWRONLY | oCREAT | oTRUNC},
			{"/var/log/app/app.log", oWRONLY | oAPPEND | oCREAT},
			{"/home/alice/.config/app.toml", 0},
		} {
			out = append(out, openEvent(p, f.path, f.path, f.flags, 5))
		}
	}
	for _, c := range []struct{ name, exe string }{
		{"ls", "/usr/bin/ls"}, {"cat", "/usr/bin/cat"}, {"git", "/usr/bin/git"}, {"python3", "/usr/bin/python3.11"},
		{"curl", "/usr/bin/curl"}, {"ps", "/usr/bin/ps"},
	} {
		out = append(out, execEvent(mkProc(procSpec{pid: 4000, name: c.name, exepath: c.exe, args: []string{"-a", "/srv"}}, host)))
		out = append(out, execEvent(mkProc(procSpec{pid: 4100, name: c.name, exepath: c.exe, args: []string{"-x"}}, ctr)))
	}
	// Shells run by an interactive user and by a build script.
	out = append(out,
		execEvent(mkProc(procSpec{pid: 4200, name: "bash", exepath: "/usr/bin/bash", exe: "bash", args: []string{"-c", "make -j4"}, user: userAlice}, host)),
		execEvent(mkProc(procSpec{pid: 4300, name: "sh", exepath: "/usr/bin/dash", exe: "/bin/sh", args: []string{"./configure"}, user: userAlice}, app)),
	)
	out = append(out,
		connectEvent(app, "10.0.0.5:5432"),
		connectEvent(app, "93.184.216.34:443"),
		connectEvent(ctr, "172.16.3.4:6379"),
	)
	return out
}

// BenchmarkEngine evaluates the full upstream stable ruleset over benchMix
// (rule_matching: first); one op is one event. Sub-benchmarks split the
// mix by event class.
func BenchmarkEngine(b *testing.B) {
	e := loadDefault(b, MatchFirst)
	mix := benchMix()
	classes := map[string][]*event.Event{"mix": mix}
	for _, ev := range mix {
		var c string
		switch ev.Type {
		case event.TypeOpenat:
			c = "open"
		case event.TypeExecve:
			c = "exec"
		case event.TypeConnect:
			c = "connect"
		}
		classes[c] = append(classes[c], ev)
	}
	for _, name := range []string{"mix", "open", "exec", "connect"} {
		b.Run(name, func(b *testing.B) { benchEvents(b, e, classes[name]) })
	}
}

func benchEvents(b *testing.B, e *Engine, evs []*event.Event) {
	alerts := 0
	emit := func(*api.Alert) { alerts++ }
	for _, ev := range evs {
		e.Eval(ev, emit)
	}
	if alerts != 0 {
		b.Fatalf("the events raised %d alerts; they should be non-matching", alerts)
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	i := 0
	for b.Loop() {
		e.Eval(evs[i], emit)
		i++
		if i == len(evs) {
			i = 0
		}
	}
	// Wall time is inflated when the machine is shared; the process CPU
	// time per event is the per-core cost.
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
	}
}

// BenchmarkEngineAlert measures an event that raises an alert (Read
// sensitive file untrusted), alert building included.
func BenchmarkEngineAlert(b *testing.B) {
	e := loadDefault(b, MatchFirst)
	ev := goldenCases()[0].fire
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		e.Eval(ev, func(*api.Alert) { n++ })
	}
	if n == 0 {
		b.Fatal("no alert")
	}
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestEvalAllocs guards the zero-allocation non-matching path: no event
// of the benchmark mix may allocate, except shell execs, which reach
// proc.cmdline/proc.args (strings built per event).
func TestEvalAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	e := loadDefault(t, MatchFirst)
	emit := func(*api.Alert) { t.Error("alert") }
	for _, ev := range benchMix() {
		n := testing.AllocsPerRun(50, func() { e.Eval(ev, emit) })
		shell := ev.Type == event.TypeExecve && (ev.Proc.Name == "bash" || ev.Proc.Name == "sh")
		switch {
		case shell && n > 2:
			t.Errorf("%s %s: %.0f allocs, want at most 2", ev.Type, ev.Proc.Name, n)
		case !shell && n != 0:
			t.Errorf("%s %s: %.0f allocs, want 0", ev.Type, ev.Proc.Name, n)
		case shell:
			t.Logf("%s %s: %.0f allocs", ev.Type, ev.Proc.Name, n)
		}
	}
}

// BenchmarkLoad measures loading and compiling the upstream stable rules
// (the cost of a reload).
func BenchmarkLoad(b *testing.B) {
	tbl := utcTable()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Load([]Source{{Name: ruleset.DefaultName, Data: ruleset.Default}}, Options{MinPriority: api.PriorityDebug, Fields: tbl}); err != nil {
			b.Fatal(err)
		}
	}
}
