package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/router/internal/pgtest"
)

// lockedBuffer collects a process's stderr for the test to read while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDatabaseDownKeepsIngest runs the real router on a real PostgreSQL and
// stops the server mid-stream: ingest still acks every alert, the notify:
// all and record outputs still get every alert, the notify: new output gets
// every alert too (safe mode: notify rather than suppress), each marked
// "state unavailable"; the metrics and the log say so; and when the server
// is back the router leaves safe mode by itself (a repeat is held again).
func TestDatabaseDownKeepsIngest(t *testing.T) {
	pg := pgtest.Start(t)
	dsn := pg.NewDB(t)
	dir := t.TempDir()
	notifyNew, newAddr := newBodySink(t)
	notifyAll, allAddr := newBodySink(t)
	record, recordAddr := newBodySink(t)
	dsnFile := filepath.Join(dir, "dsn")
	if err := os.WriteFile(dsnFile, []byte(dsn+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cfg := writeConfig(t, dir, fmt.Sprintf(`
listen: %s
queue: {dir: %s/q}
state: {postgres: {dsn_file: %s, timeout: 2s}}
outputs:
  - {name: slack, type: webhook, notify: new, retry: {initial_backoff: 10ms, max_backoff: 200ms}, webhook: {url: "http://%s/"}}
  - {name: pager, type: webhook, retry: {initial_backoff: 10ms, max_backoff: 200ms}, webhook: {url: "http://%s/"}}
  - {name: es, type: webhook, record: true, retry: {initial_backoff: 10ms, max_backoff: 200ms}, webhook: {url: "http://%s/"}}
`, addr, dir, dsnFile, newAddr, allAddr, recordAddr))
	logs := &lockedBuffer{}
	cmd := exec.Command(routerBinary(t), "--config", cfg, "--log-level", "info")
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("router log:\n%s", logs.String())
		}
	})
	waitHealthy(t, addr)

	client := &http.Client{Timeout: 30 * time.Second}
	next := 0
	post := func() string { // one alert of the same finding each time
		t.Helper()
		next++
		id, body := replicaAlert(next, 0, 1)
		start := time.Now()
		resp, err := client.Post("http://"+addr+"/", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatalf("alert %d: %v", next, err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("alert %d: %s after %v", next, resp.Status, time.Since(start))
		}
		return id
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	delivered := func(s *bodySink, ids []string) func() bool {
		return func() bool { return s.has(ids) == 0 }
	}

	// Up: the finding notifies slack once; pager and es get every alert.
	var up []string
	for range 3 {
		up = append(up, post())
	}
	waitFor("alerts with the store up", delivered(record, up))
	waitFor("pager with the store up", delivered(notifyAll, up))
	if notifyNew.has(up) != 2 {
		t.Fatalf("with the store up, notify: new got %d of 3 alerts of one finding, want 1", 3-notifyNew.has(up))
	}

	// Down: every alert is acked and reaches every output, marked unavailable.
	pg.Stop(t)
	var down []string
	for range 5 {
		down = append(down, post())
	}
	waitFor("record output with the store down", delivered(record, down))
	waitFor("notify: all output with the store down", delivered(notifyAll, down))
	waitFor("notify: new output in safe mode", delivered(notifyNew, down))
	for _, id := range down {
		if st := lookoutState(notifyNew, id); st != "unavailable" {
			t.Errorf("alert %s in safe mode: lookout.state = %q, want unavailable", id, st)
		}
	}
	m := scrape(t, addr)
	if !hasLine(m, "lookout_router_noise_state_up 0") {
		t.Errorf("metrics with the store down: want lookout_router_noise_state_up 0:\n%s", grepLines(m, "noise_state"))
	}
	if !hasLine(m, `lookout_router_noise_state_unavailable_total{output="slack"} 5`) {
		t.Errorf("metrics with the store down: want 5 safe-mode alerts for slack:\n%s", grepLines(m, "noise_state"))
	}
	if !strings.Contains(logs.String(), "shared state store unavailable: safe mode") {
		t.Errorf("the log does not say the router is in safe mode:\n%s", logs.String())
	}

	// Back: the router leaves safe mode by itself; a repeat is held again.
	pg.Start(t)
	var during []string
	waitFor("lookout_router_noise_state_up 1 after the server is back", func() bool {
		during = append(during, post()) // decisions are what probe the store
		time.Sleep(200 * time.Millisecond)
		return hasLine(scrape(t, addr), "lookout_router_noise_state_up 1")
	})
	last := post()
	waitFor("record output after recovery", delivered(record, append(during, last)))
	waitFor("notify: all output after recovery", delivered(notifyAll, append(during, last)))
	if notifyNew.has([]string{last}) != 1 {
		t.Error("after recovery a repeat of a known finding still notified slack")
	}
	if st := lookoutState(record, last); st != "" {
		t.Errorf("after recovery lookout.state = %q, want none", st)
	}
	if !strings.Contains(logs.String(), "shared state store available again") {
		t.Errorf("the log does not say the router left safe mode:\n%s", logs.String())
	}
	t.Logf("store down: %d alerts acked and delivered to every output in safe mode; recovered after %d probe alerts", len(down), len(during))
}

func waitHealthy(t *testing.T, addr string) {
	t.Helper()
	for range 400 {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("router on %s never answered", addr)
}

// lookoutState is the "lookout"."state" annotation of the alert id as the sink got it.
func lookoutState(s *bodySink, id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	lk, _ := s.alerts[id]["lookout"].(map[string]any)
	st, _ := lk["state"].(string)
	return st
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// hasLine: a metrics exposition has this exact sample line (not in a HELP text).
func hasLine(s, line string) bool {
	return slices.Contains(strings.Split(s, "\n"), line)
}
