package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runRouter runs the binary to completion (it must exit by itself within
// bound) and returns its combined output and error.
func runRouter(t *testing.T, bound time.Duration, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(routerBinary(t), args...)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(bound):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("lookout-router %v still running after %s:\n%s", args, bound, out)
	}
	return string(out), err
}

// TestDamagedQueueFileAgainstTheBinary: the real binary, a real queue file
// with acked alerts, then damage. Truncated to 0 bytes, removed, or with a
// destroyed page, the router refuses to start with an error naming the file
// and what to do (no panic, no silent empty start); queue check says what is
// readable; queue salvage copies it; the router started on the salvaged
// queue delivers it.
func TestDamagedQueueFileAgainstTheBinary(t *testing.T) {
	dir := t.TempDir()
	qdir := filepath.Join(dir, "queue")
	addr, sinkAddr := freeAddr(t), freeAddr(t) // nobody listens on sinkAddr yet: alerts stay queued
	// Noise control off: the test finds the queue's leaf pages by their
	// record count, and the annotation makes records larger.
	cfgText := `
listen: %s
queue: {dir: %s}
noise: {enabled: false}
outputs:
  - name: sink
    type: webhook
    retry: {initial_backoff: 10ms, max_backoff: 100ms}
    webhook: {url: "http://%s/hook"}
`
	cfg := writeConfig(t, dir, fmt.Sprintf(cfgText, addr, qdir, sinkAddr))
	router := startRouter(t, cfg, addr)
	const n = 500
	var acked []string
	for i := range n {
		id, body := alertBody(i)
		if code := post(t, "http://"+addr+"/", body); code != 200 {
			t.Fatalf("post %d: %d", i, code)
		}
		acked = append(acked, id)
	}
	stopRouter(t, router)
	path := filepath.Join(qdir, "queue.db")
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	// Zero length, then missing: refused, no panic.
	for name, damage := range map[string]func() error{
		"empty":   func() error { return os.Truncate(path, 0) },
		"missing": func() error { return os.Remove(path) },
	} {
		if err := damage(); err != nil {
			t.Fatal(err)
		}
		out, err := runRouter(t, 30*time.Second, "--config", cfg)
		if err == nil || !strings.Contains(out, path) || !strings.Contains(out, "--init-queue") || strings.Contains(out, "panic") {
			t.Errorf("%s queue file: exit %v, output:\n%s", name, err, out)
		}
		if err := os.WriteFile(path, orig, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// A destroyed leaf page: refused, check exits 1, salvage, restart.
	b := append([]byte(nil), orig...)
	var leaves []int
	ps := int(binary.LittleEndian.Uint32(b[24:])) // meta page 0: header, magic, version, page size
	for id := 2; (id+1)*ps <= len(b); id++ {
		p := b[id*ps:]
		if binary.LittleEndian.Uint64(p) == uint64(id) && binary.LittleEndian.Uint16(p[8:]) == 0x02 && binary.LittleEndian.Uint16(p[10:]) > 5 {
			leaves = append(leaves, id)
		}
	}
	if len(leaves) < 3 {
		t.Fatalf("%d leaf pages", len(leaves))
	}
	copy(b[leaves[len(leaves)/2]*ps:], "garbage!garbage!")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runRouter(t, 30*time.Second, "--config", cfg)
	if err == nil || !strings.Contains(out, path) || !strings.Contains(out, "queue salvage") || strings.Contains(out, "goroutine ") {
		t.Fatalf("damaged page: exit %v, output:\n%s", err, out)
	}
	out, err = runRouter(t, 30*time.Second, "queue", "check", "--config", cfg)
	if err == nil || !strings.Contains(out, "damaged: ") || !strings.Contains(out, "queue/sink") {
		t.Fatalf("queue check: exit %v, output:\n%s", err, out)
	}
	newDir := filepath.Join(dir, "salvaged")
	out, err = runRouter(t, 30*time.Second, "queue", "salvage", "--config", cfg, "--to", newDir)
	if err != nil || !strings.Contains(out, "copied ") {
		t.Fatalf("queue salvage: %v\n%s", err, out)
	}
	t.Logf("salvage said: %s", out[strings.Index(out, "copied "):])
	var copied int
	if _, err := fmt.Sscanf(out[strings.Index(out, "copied "):], "copied %d records", &copied); err != nil || copied <= 0 || copied >= n {
		t.Fatalf("salvage copied %d of %d (%v)", copied, n, err)
	}

	sink := newCountingSink(t, sinkAddr, 0)
	cfg2 := writeConfig(t, dir, fmt.Sprintf(cfgText, addr, newDir, sinkAddr))
	router = startRouter(t, cfg2, addr)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		sink.mu.Lock()
		got := len(sink.count)
		sink.mu.Unlock()
		if got >= copied {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after salvage: %d of %d salvaged alerts delivered", got, copied)
		}
	}
	stopRouter(t, router)
	delivered, dups := 0, 0
	sink.mu.Lock()
	for _, id := range acked {
		if c := sink.count[id]; c > 0 {
			delivered++
			dups += c - 1
		}
	}
	sink.mu.Unlock()
	if delivered != copied || dups != 0 {
		t.Errorf("after salvage: %d of %d acked delivered (%d duplicates), salvage copied %d", delivered, n, dups, copied)
	}
	t.Logf("%d acked, one leaf page destroyed: %d delivered after salvage, %d lost, %d duplicated", n, delivered, n-delivered, dups)
}
