package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDiskFullAnswers503 runs the real binary with queue.dir on a tiny
// tmpfs while the destination is down: once the disk is full, ingest answers
// 503 with Retry-After (queue.max_bytes is far away), and when the
// destination is back every acked alert is delivered exactly once.
func TestDiskFullAnswers503(t *testing.T) {
	dir := t.TempDir()
	qdir := filepath.Join(dir, "tmpfs")
	if err := os.Mkdir(qdir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", qdir, "tmpfs", 0, "size=512k"); err != nil {
		t.Skipf("cannot mount a tmpfs (needs root; CI runs as root): %v", err)
	}
	addr, sinkAddr := freeAddr(t), freeAddr(t)
	cfg := writeConfig(t, dir, fmt.Sprintf(`
listen: %s
queue: {dir: %s, max_bytes: 1GiB}
outputs:
  - name: sink
    type: webhook
    retry: {initial_backoff: 10ms, max_backoff: 100ms}
    webhook: {url: "http://%s/hook"}
`, addr, qdir, sinkAddr))
	router := startRouter(t, cfg, addr)
	// Unmount after the router is gone (cleanups run last-registered first).
	t.Cleanup(func() { _ = syscall.Unmount(qdir, 0) })
	t.Cleanup(func() { _ = router.Process.Kill(); _ = router.Wait() })

	pad := strings.Repeat("x", 4000)
	acked, full := postUntilFull(t, addr, 2000, func(body string) string {
		return strings.Replace(body, `"output":"alert`, `"output":"`+pad+` alert`, 1)
	})
	if full == nil || full.Header.Get("Retry-After") == "" || len(acked) == 0 {
		t.Fatalf("no 503 with Retry-After after %d accepted alerts on a 512k disk", len(acked))
	}
	if m := scrape(t, addr); !strings.Contains(m, `lookout_router_ingest_rejected_total{code="503"}`) {
		t.Error("503 not counted")
	}
	sink := newCountingSink(t, sinkAddr, 0)
	sink.waitFor(t, acked, 60*time.Second)
	if dups, total := sink.duplicates(); dups != 0 || total != len(acked) {
		t.Fatalf("delivered %d with %d duplicates, want %d exactly once", total, dups, len(acked))
	}
	// Delivered alerts free their space: ingest accepts again.
	var status int
	for i := 0; i < 100 && status != 200; i++ {
		_, body := alertBody(100000 + i)
		resp, err := http.Post("http://"+addr+"/", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		status = resp.StatusCode
		if status != 200 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if status != 200 {
		t.Fatalf("after draining a full disk: status %d", status)
	}
	t.Logf("disk full after %d acked alerts of ~4 KiB; all delivered once", len(acked))
}
