package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/sensor/internal/config"
	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// RuleTest is one `rules test` run: a command line executed under the
// sensor and the rules it is expected to fire.
type RuleTest struct {
	// Argv is the action's command line.
	Argv []string
	// Expect lists rule names that must fire for processes the action
	// started; empty means the action must raise no alert at all.
	Expect []string
	// Stdout and Stderr receive the action's output; nil discards it.
	Stdout, Stderr io.Writer
	// Wait bounds how long the sensor may lag behind the action; default
	// 10s.
	Wait time.Duration
}

// RuleTestResult is what a RuleTest saw.
type RuleTestResult struct {
	// Alerts are the alerts raised by the action's processes, in order.
	Alerts []api.Alert
	// Missing lists the expected rules that did not fire.
	Missing []string
	// ExitCode is the action's exit status (-1 if it did not run).
	ExitCode int
}

// OK reports whether the expectations held.
func (r *RuleTestResult) OK(t RuleTest) bool {
	if len(t.Expect) == 0 {
		return len(r.Alerts) == 0
	}
	return len(r.Missing) == 0
}

type taggedAlert struct {
	a    api.Alert
	pids []int64 // the process and its ancestors
}

// TestRules runs t.Argv under a sensor configured by cfg (its outputs are
// not used) and reports which alerts the action's processes raised. After
// the action exits, the sensor's own marker event (a failed open of a unique
// path) proves every earlier event has been evaluated, so the answer does
// not depend on timing.
func TestRules(ctx context.Context, cfg config.Config, t RuleTest, log *slog.Logger) (*RuleTestResult, error) {
	if len(t.Argv) == 0 {
		return nil, errors.New("rules test: no command given (usage: rules test --expect RULE -- COMMAND [ARG...])")
	}
	if t.Wait <= 0 {
		t.Wait = 10 * time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	marker := "/nonexistent-lookout-rules-test-" + uuid.NewString()
	self := int64(os.Getpid())
	var mu sync.Mutex
	var seen []taggedAlert
	markerSeen := make(chan struct{})
	var once sync.Once
	s, err := New(ctx, cfg, NewOptions{
		Logger: log,
		Sink: func(a *api.Alert, ev *event.Event) {
			if ev == nil {
				return
			}
			var pids []int64
			pids = append(pids, ev.PID)
			for p := ev.Proc; p != nil && len(pids) < 64; p = p.Parent {
				pids = append(pids, p.PID)
			}
			mu.Lock()
			seen = append(seen, taggedAlert{a: *a, pids: pids})
			mu.Unlock()
		},
		Observe: func(ev *event.Event) {
			if ev.PID != self {
				return
			}
			switch ev.Type {
			case event.TypeOpen, event.TypeOpenat, event.TypeOpenat2:
				if a := ev.Arg("name"); a != nil && a.Str == marker {
					once.Do(func() { close(markerSeen) })
				}
			}
		},
	})
	if err != nil {
		return nil, err
	}
	if err := checkExpect(t.Expect, s.Engine().Rules()); err != nil {
		s.probe.Close()
		return nil, err
	}
	lctx, stop := context.WithCancel(ctx)
	loopDone := make(chan error, 1)
	go func() { loopDone <- s.Run(lctx) }()
	defer func() { stop(); <-loopDone }()

	res := &RuleTestResult{ExitCode: -1}
	cmd := exec.CommandContext(ctx, t.Argv[0], t.Argv[1:]...)
	cmd.Stdout, cmd.Stderr = t.Stdout, t.Stderr
	runErr := cmd.Run()
	var ee *exec.ExitError
	switch {
	case runErr == nil:
		res.ExitCode = 0
	case errors.As(runErr, &ee):
		res.ExitCode = ee.ExitCode()
	default:
		return nil, fmt.Errorf("rules test: run %s: %w", t.Argv[0], runErr)
	}
	child := int64(cmd.Process.Pid)
	// The sensor's own events are filtered in the kernel; let the marker
	// through (everything before it has been evaluated once it arrives).
	if err := s.probe.SetExcludePID(0); err != nil {
		return nil, fmt.Errorf("rules test: %w", err)
	}
	if f, err := os.Open(marker); err == nil { // never exists; the failed open is the marker
		f.Close()
	}
	select {
	case <-markerSeen:
	case <-time.After(t.Wait):
		return nil, fmt.Errorf("rules test: the sensor did not see its marker event within %s (is the probe delivering opens?)", t.Wait)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	mu.Lock()
	for _, ta := range seen {
		for _, p := range ta.pids {
			if p == child {
				res.Alerts = append(res.Alerts, ta.a)
				break
			}
		}
	}
	mu.Unlock()
	for _, want := range t.Expect {
		found := false
		for _, a := range res.Alerts {
			if a.Rule == want {
				found = true
				break
			}
		}
		if !found {
			res.Missing = append(res.Missing, want)
		}
	}
	return res, nil
}

// Report writes a human-readable summary of res to w.
func (r *RuleTestResult) Report(w io.Writer, t RuleTest) {
	fmt.Fprintf(w, "action: %s (exit status %d)\n", strings.Join(t.Argv, " "), r.ExitCode)
	if len(r.Alerts) == 0 {
		fmt.Fprintln(w, "alerts: none")
	}
	for _, a := range r.Alerts {
		fmt.Fprintf(w, "alert: %s [%s] %s\n", a.Rule, a.Priority, a.Output)
	}
	if len(t.Expect) == 0 {
		if r.OK(t) {
			fmt.Fprintln(w, "PASS: no alert, as expected")
		} else {
			fmt.Fprintln(w, "FAIL: expected no alert")
		}
		return
	}
	for _, e := range t.Expect {
		status := "PASS"
		for _, m := range r.Missing {
			if m == e {
				status = "FAIL"
			}
		}
		fmt.Fprintf(w, "%s: %s\n", status, e)
	}
}
