package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/router/api"
)

const reloadRule = `- rule: E2E open %[1]s
  desc: the e2e test's own rule, version %[1]s
  condition: evt.type in (open, openat, openat2) and fd.name startswith "%[2]s/" and fd.name endswith ".%[1]s"
  output: e2e rule %[1]s saw %%fd.name opened by %%proc.cmdline
  priority: NOTICE
  tags: [e2e]
- rule: E2E keep
  desc: in every version of the file; must not miss an event across reloads
  condition: evt.type in (open, openat, openat2) and fd.name startswith "%[2]s/keep-"
  output: e2e keep %%fd.name
  priority: NOTICE
`

// TestReloadOnSIGHUP runs the sensor on a custom rules file, breaks the file
// and sends SIGHUP (the old rule must keep working), then fixes it with a
// new rule and sends SIGHUP again (the new rule must fire).
func TestReloadOnSIGHUP(t *testing.T) {
	needRoot(t)
	work := t.TempDir()
	routerBin, sensorBin := build(t)
	sk := newSink(t)
	routerURL := startRouter(t, routerBin, work, sk.srv.URL)
	data := t.TempDir()
	rulesFile := writeFile(t, filepath.Join(work, "rules.yaml"), fmt.Sprintf(reloadRule, "v1", data))
	sensor := startSensor(t, sensorBin, "--no-default-rules", "-r", rulesFile, "--router", routerURL,
		"--config", writeFile(t, filepath.Join(work, "sensor.yaml"), "metrics: {listen: \"\"}\noutputs: {router: {batch_interval: 10ms}}\n"))

	open := func(name string) string {
		p := filepath.Join(data, name)
		writeFile(t, p, "x")
		if err := exec.Command("cat", p).Run(); err != nil {
			t.Fatal(err)
		}
		return p
	}
	expect := func(rule, path string) {
		t.Helper()
		sk.waitFor(t, rule+" on "+path, alertWait, func(a *api.Alert) bool {
			return a.Rule == rule && field(a, "fd.name") == path && a.Priority == api.PriorityNotice
		})
	}
	expect("E2E open v1", open("first.v1"))

	writeFile(t, rulesFile, "- rule: broken\n  condition: evt.type = open and\n")
	if err := sensor.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	sensor.waitLog(t, "rules reload failed; the previous rules stay in force")
	if !strings.Contains(sensor.logText(), rulesFile) {
		t.Errorf("the reload error does not name the file %s:\n%s", rulesFile, sensor.logText())
	}
	expect("E2E open v1", open("second.v1"))

	// Reload while files matching "E2E keep" are opened without pause:
	// every one of them must alert, before, during and after the swap.
	stopOpens := make(chan struct{})
	opened := make(chan int)
	var progress atomic.Int64
	go func() {
		n := 0
		defer func() { opened <- n }()
		for {
			select {
			case <-stopOpens:
				return
			default:
			}
			if n == 3000 {
				time.Sleep(time.Millisecond)
				continue
			}
			if err := os.WriteFile(filepath.Join(data, fmt.Sprintf("keep-%d", n)), nil, 0o600); err != nil {
				return
			}
			n++
			progress.Store(int64(n))
			time.Sleep(time.Millisecond)
		}
	}()
	writeFile(t, rulesFile, fmt.Sprintf(reloadRule, "v2", data))
	if err := sensor.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitCount(t, sensor, `msg="rules loaded"`, 2)
	expect("E2E open v2", open("third.v2"))
	// On a loaded machine the reload can be quicker than the opener's
	// start: let it make a few opens after the swap too (bounded wait).
	for deadline := time.Now().Add(30 * time.Second); progress.Load() < 10 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	close(stopOpens)
	n := <-opened
	if n < 10 {
		t.Fatalf("only %d files opened around the reload", n)
	}
	for i := range n {
		p := filepath.Join(data, fmt.Sprintf("keep-%d", i))
		sk.waitFor(t, p, alertWait, func(a *api.Alert) bool { return a.Rule == "E2E keep" && field(a, "fd.name") == p })
	}
	t.Logf("%d opens around the reload, all alerted", n)
	sensor.stop(t)
}

// waitCount waits until the sensor logged want n times.
func waitCount(t *testing.T, s *sensorProc, want string, n int) {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		if strings.Count(s.logText(), want) >= n {
			return
		}
		select {
		case <-s.lines:
		case <-time.After(50 * time.Millisecond):
		case <-s.exited:
			t.Fatalf("sensor exited:\n%s", s.logText())
		case <-deadline:
			t.Fatalf("sensor logged %q fewer than %d times in a minute:\n%s", want, n, s.logText())
		}
	}
}

// TestRulesTestCommand runs `lookout-sensor rules test` as a user would.
func TestRulesTestCommand(t *testing.T) {
	needRoot(t)
	_, sensorBin := build(t)
	for _, c := range []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"expected rule fires", []string{"--expect", "Read sensitive file untrusted", "--", "cat", "/etc/shadow"}, 0, "PASS: Read sensitive file untrusted"},
		{"expected rule does not fire", []string{"--expect", "Read sensitive file untrusted", "--", "cat", "/etc/hostname"}, 1, "FAIL: Read sensitive file untrusted"},
		{"innocent action", []string{"--", "ls", "/"}, 0, "PASS: no alert, as expected"},
		{"alerting action where none is expected", []string{"--", "find", "/nonexistent", "-name", "id_rsa"}, 1, "alert: Search Private Keys or Passwords [Warning]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(sensorBin, append([]string{"rules", "test"}, c.args...)...)
			var out strings.Builder
			cmd.Stdout = &out
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != c.wantCode || !strings.Contains(out.String(), c.want) {
				t.Errorf("exit %d, want %d; output lacks %q:\n%s", code, c.wantCode, c.want, out.String())
			}
		})
	}
}
