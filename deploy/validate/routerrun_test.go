package validate_test

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// syncBuffer is a bytes.Buffer safe for the router's stdout writer and
// the test's reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRouterRunsWithChartConfig starts the real router the way the
// StatefulSet does — the rendered default config, the token as
// LOOKOUT_AUTH_TOKENS — and checks what the chart relies on: /healthz (the
// probes) answers, ingest needs the token, and an alert reaches the default
// stdout output. Only the listen address and queue directory are moved to
// a free local port and a temporary directory.
func TestRouterRunsWithChartConfig(t *testing.T) {
	router := routerBinary(t)
	cm := mustFind[*corev1.ConfigMap](t, render(t), "ConfigMap", "lk-lookout-router")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "router.yaml")
	if err := os.WriteFile(cfg, []byte(cm.Data["router.yaml"]), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	var stdout, stderr syncBuffer
	cmd := exec.Command(router, "--config", cfg)
	cmd.Env = append(os.Environ(), "LOOKOUT_AUTH_TOKENS=chart-token", "LOOKOUT_LISTEN="+addr, "LOOKOUT_QUEUE_DIR="+filepath.Join(dir, "queue"))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-exited
	})

	base := "http://" + addr
	// Wait for the router to listen, as the startup probe does.
	ready := false
	for i := 0; i < 300 && !ready; i++ {
		select {
		case err := <-exited:
			t.Fatalf("router exited: %v\n%s", err, stderr.String())
		default:
		}
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			ready = resp.StatusCode == http.StatusOK
		}
		if !ready {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !ready {
		t.Fatalf("router never answered /healthz with 200\n%s", stderr.String())
	}

	alert, err := os.ReadFile(filepath.Join(repoRoot, "router/api/testdata/open_from_cat.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		token string
		want  int
	}{{"", http.StatusUnauthorized}, {"wrong", http.StatusUnauthorized}, {"chart-token", http.StatusOK}} {
		req, _ := http.NewRequest(http.MethodPost, base+"/", bytes.NewReader(alert))
		req.Header.Set("Content-Type", "application/json")
		if tt.token != "" {
			req.Header.Set("Authorization", "Bearer "+tt.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if ok := resp.StatusCode/100 == 2; ok != (tt.want/100 == 2) || (!ok && resp.StatusCode != tt.want) {
			t.Errorf("POST / with token %q: %d, want %d", tt.token, resp.StatusCode, tt.want)
		}
	}
	// The default output is stdout at notice and above; the alert is a Warning.
	for i := 0; i < 300 && !strings.Contains(stdout.String(), `"rule":"open_from_cat"`); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(stdout.String(), `"rule":"open_from_cat"`) {
		t.Fatalf("the alert never reached the stdout output\nstdout: %s\nstderr: %s", stdout.String(), stderr.String())
	}
}
