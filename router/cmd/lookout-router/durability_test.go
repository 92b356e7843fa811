package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestCrashLosesNothingAcked posts a stream of alerts from several clients,
// SIGKILLs the router mid-stream, restarts it and checks that every alert
// that got a 2xx reaches the sink. Duplicates (alerts in flight at the kill)
// are allowed and reported.
func TestCrashLosesNothingAcked(t *testing.T) {
	dir := t.TempDir()
	addr, sinkAddr := freeAddr(t), freeAddr(t)
	sink := newCountingSink(t, sinkAddr, 5*time.Millisecond) // slower than intake: a backlog at the kill
	cfg := writeConfig(t, dir, fmt.Sprintf(`
listen: %s
queue: {dir: %s}
outputs:
  - name: sink
    type: webhook
    concurrency: 2
    retry: {initial_backoff: 10ms, max_backoff: 200ms}
    webhook: {url: "http://%s/hook"}
`, addr, filepath.Join(dir, "queue"), sinkAddr))
	router := startRouter(t, cfg, addr)

	const clients, killAfter = 4, 1000
	var (
		mu    sync.Mutex
		acked []string
		sent  atomic.Int64
		next  atomic.Int64
		wg    sync.WaitGroup
		kill  = make(chan struct{})
		once  sync.Once
	)
	client := &http.Client{Timeout: 10 * time.Second}
	for range clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1))
				id, body := alertBody(i)
				sent.Add(1)
				resp, err := client.Post("http://"+addr+"/", "application/json", strings.NewReader(body))
				if err != nil {
					return // the router is gone
				}
				resp.Body.Close()
				if resp.StatusCode/100 == 2 {
					mu.Lock()
					acked = append(acked, id)
					if len(acked) == killAfter {
						once.Do(func() { close(kill) })
					}
					mu.Unlock()
				}
			}
		})
	}
	<-kill
	if err := router.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = router.Wait()
	wg.Wait()
	mu.Lock()
	ackedNow := append([]string(nil), acked...)
	mu.Unlock()
	_, before := sink.duplicates()

	startRouter(t, cfg, addr)
	sink.waitFor(t, ackedNow, 90*time.Second)
	dups, total := sink.duplicates()
	report := fmt.Sprintf("sent=%d acked=%d delivered_before_kill=%d delivered_unique=%d deliveries=%d duplicates=%d",
		sent.Load(), len(ackedNow), before, total-dups, total, dups)
	t.Log("crash test:", report)
	if f := os.Getenv("LOOKOUT_CRASH_REPORT"); f != "" {
		_ = os.WriteFile(f, []byte(report+"\n"), 0o644)
	}
}

// TestQueueFullAnswers503 fills a small store while the destination is down:
// ingest answers 503 with Retry-After, and once the destination is back every
// alert that got a 2xx is delivered exactly once.
func TestQueueFullAnswers503(t *testing.T) {
	dir := t.TempDir()
	addr, sinkAddr := freeAddr(t), freeAddr(t)
	cfg := writeConfig(t, dir, fmt.Sprintf(`
listen: %s
queue: {dir: %s, max_bytes: 8KiB}
outputs:
  - name: sink
    type: webhook
    retry: {initial_backoff: 10ms, max_backoff: 100ms}
    webhook: {url: "http://%s/hook"}
`, addr, filepath.Join(dir, "queue"), sinkAddr))
	startRouter(t, cfg, addr)
	acked, full := postUntilFull(t, addr, 1000, nil)
	if full == nil || full.Header.Get("Retry-After") == "" || len(acked) == 0 {
		t.Fatalf("no 503 with Retry-After after %d accepted alerts", len(acked))
	}
	sink := newCountingSink(t, sinkAddr, 0)
	sink.waitFor(t, acked, 60*time.Second)
	if dups, total := sink.duplicates(); dups != 0 || total != len(acked) {
		t.Fatalf("delivered %d with %d duplicates, want %d exactly once", total, dups, len(acked))
	}
	// Room again: ingest accepts.
	_, body := alertBody(5000)
	resp, err := http.Post("http://"+addr+"/", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("after draining: status %d", resp.StatusCode)
	}
}

// TestDeadLetterCLI dead-letters alerts a destination refuses with 400, then
// uses the CLI (router stopped) to list and replay them.
func TestDeadLetterCLI(t *testing.T) {
	dir := t.TempDir()
	addr, sinkAddr := freeAddr(t), freeAddr(t)
	var reject atomic.Bool
	reject.Store(true)
	got := make(chan string, 10)
	sink := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if reject.Load() {
			http.Error(w, "unknown index", http.StatusBadRequest)
			return
		}
		got <- r.Header.Get("X-Lookout-Alert-Id")
	})}
	l, err := netListen(sinkAddr)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = sink.Serve(l) }()
	defer sink.Close()
	cfg := writeConfig(t, dir, fmt.Sprintf(`
listen: %s
queue: {dir: %s}
outputs:
  - name: sink
    type: webhook
    webhook: {url: "http://%s/hook"}
`, addr, filepath.Join(dir, "queue"), sinkAddr))
	router := startRouter(t, cfg, addr)
	id, body := alertBody(1)
	resp, err := http.Post("http://"+addr+"/", "application/json", strings.NewReader(body))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("post: %v %v", err, resp)
	}
	resp.Body.Close()

	cli := func(args ...string) (string, error) {
		var out bytes.Buffer
		c := exec.Command(routerBinary(t), append([]string{"deadletter"}, append(args, "--config", cfg)...)...)
		c.Stdout, c.Stderr = &out, &out
		err := c.Run()
		return out.String(), err
	}
	// While the router runs, the CLI refuses clearly.
	if out, err := cli("list"); err == nil || !strings.Contains(out, "stop lookout-router first") {
		t.Fatalf("list while running: %v %s", err, out)
	}
	// Wait for the dead letter: the metric says so.
	for deadline := time.Now().Add(30 * time.Second); ; {
		if strings.Contains(scrape(t, addr), `lookout_router_output_dead_lettered_total{output="sink"} 1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no dead letter")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = router.Process.Signal(syscall.SIGTERM)
	if err := router.Wait(); err != nil {
		t.Fatalf("router exit: %v", err)
	}
	out, err := cli("list")
	if err != nil || !strings.Contains(out, id) || !strings.Contains(out, "status 400") || !strings.Contains(out, "unknown index") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if out, err := cli("list", "--json"); err != nil || !strings.Contains(out, `"attempts":1`) {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	if out, err := cli("replay"); err != nil || !strings.Contains(out, "sink: 1 re-queued") {
		t.Fatalf("replay: %v\n%s", err, out)
	}
	reject.Store(false)
	startRouter(t, cfg, addr)
	select {
	case h := <-got:
		if h != id {
			t.Fatalf("delivered %q, want %s", h, id)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("replayed alert not delivered")
	}
}

func scrape(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return b.String()
}

// postUntilFull posts alertBody(i) (rewritten by edit when not nil) one at a
// time until the router answers 503 or max alerts were sent; it returns
// the ids acked with 200 and the 503 response (nil if none came).
func postUntilFull(t *testing.T, addr string, max int, edit func(string) string) (acked []string, full *http.Response) {
	t.Helper()
	for i := 0; i < max && full == nil; i++ {
		id, body := alertBody(i)
		if edit != nil {
			body = edit(body)
		}
		resp, err := http.Post("http://"+addr+"/", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		switch resp.StatusCode {
		case 200:
			acked = append(acked, id)
		case 503:
			full = resp
		default:
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	return acked, full
}
