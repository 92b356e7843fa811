package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestEndToEnd builds the real binary, starts it with a webhook output to a
// local sink, posts a fixture and checks what arrives.
func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	bin := routerBinary(t)
	got := make(chan string, 4)
	sink := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r.Header.Get("X-Team") + " " + string(b)
	})}
	sl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = sink.Serve(sl) }()
	defer sink.Close()
	rl, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := rl.Addr().String()
	rl.Close()
	cfg := fmt.Sprintf("listen: %s\nqueue: {dir: %s}\nauth: {tokens: [s3cret]}\noutputs:\n  - name: triage\n    type: webhook\n    min_priority: warning\n    webhook:\n      url: http://%s/hook\n      headers: {X-Team: sec}\n", addr, filepath.Join(dir, "queue"), sl.Addr())
	cfgFile := filepath.Join(dir, "router.yaml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config", cfgFile)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	var resp *http.Response
	for range 200 {
		req, _ := http.NewRequest("POST", "http://"+addr+"/", strings.NewReader(mustRead(t, "../../api/testdata/open_from_cat.json")))
		req.Header.Set("Authorization", "Bearer s3cret")
		req.Header.Set("Content-Type", "application/json")
		if resp, err = http.DefaultClient.Do(req); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("router never answered: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	msg := <-got
	if !strings.HasPrefix(msg, "sec ") || !strings.Contains(msg, `"rule":"open_from_cat"`) || !strings.Contains(msg, `"uuid":"`) {
		t.Fatalf("sink got %q", msg)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("router did not exit cleanly on SIGTERM: %v", err)
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
