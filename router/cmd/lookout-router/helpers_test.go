package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// routerBinary builds lookout-router once per test run.
func routerBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lookout-router-e2e")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "lookout-router")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// freeAddr returns a 127.0.0.1 address nobody listens on right now.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// startRouter starts the binary with cfg and waits until /healthz answers.
func startRouter(t testing.TB, cfgFile, addr string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(routerBinary(t), "--config", cfgFile, "--log-level", "warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for range 400 {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			return cmd
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("router on %s never answered", addr)
	return nil
}

// countingSink accepts alerts and counts deliveries per uuid.
type countingSink struct {
	mu    sync.Mutex
	count map[string]int
	total int
	addr  string
	srv   *http.Server
	delay time.Duration
}

func newCountingSink(t *testing.T, addr string, delay time.Duration) *countingSink {
	t.Helper()
	s := &countingSink{count: map[string]int{}, addr: addr, delay: delay}
	s.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var a struct {
			UUID string `json:"uuid"`
		}
		if err := json.Unmarshal(b, &a); err != nil || a.UUID == "" {
			http.Error(w, "no uuid", http.StatusBadRequest)
			return
		}
		if s.delay > 0 {
			time.Sleep(s.delay)
		}
		s.mu.Lock()
		s.count[a.UUID]++
		s.total++
		s.mu.Unlock()
	})}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.srv.Serve(l) }()
	t.Cleanup(func() { _ = s.srv.Close() })
	return s
}

// waitFor blocks until every uuid in want arrived, failing after bound.
func (s *countingSink) waitFor(t *testing.T, want []string, bound time.Duration) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		s.mu.Lock()
		missing := 0
		for _, u := range want {
			if s.count[u] == 0 {
				missing++
			}
		}
		s.mu.Unlock()
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acked alerts never reached the sink", missing, len(want))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *countingSink) duplicates() (dups, total int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.count {
		if n > 1 {
			dups += n - 1
		}
	}
	return dups, s.total
}

func alertBody(i int) (string, string) {
	id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
	return id, fmt.Sprintf(`{"hostname":"h","output":"alert %d","output_fields":{"n":%d},"priority":"Warning","rule":"Crash test","source":"syscall","tags":[],"time":"2026-11-23T10:00:00.000000000Z","uuid":%q}`, i, i, id)
}

func writeConfig(t testing.TB, dir, body string) string {
	t.Helper()
	f := filepath.Join(dir, "router.yaml")
	if err := os.WriteFile(f, []byte(strings.TrimSpace(body)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func netListen(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }
