// Package zinctest runs ZincSearch, an Elasticsearch-API server written in
// Go, for integration tests: the Elasticsearch output's (outputs/elasticsearch)
// and the triage UI's Elasticsearch search (router/internal/history/elastic).
// `make test-deps-outputs` builds it into the repository's .tools/bin
// (Elasticsearch and OpenSearch are not installable on the CI machine).
//
// Zinc serves the ES API under /es, answers with the X-Elastic-Product
// header go-elasticsearch checks, makes documents searchable after a short
// delay, does not apply dynamic templates (explicit properties only) and
// caps open-ended date ranges at "now", so tests use closed ranges.
package zinctest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// The first admin's credentials of every server Start runs.
const (
	User     = "admin"
	Password = "Zinc-test-pa55#secret"
)

// Binary finds zincsearch on PATH or in .tools/bin of the repository that
// holds the working directory (the directory with go.work, walking up).
func Binary() (string, error) {
	if p, err := exec.LookPath("zincsearch"); err == nil {
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("zincsearch: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			break
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("zincsearch is not on PATH and no go.work was found above the working directory")
		}
		dir = up
	}
	p := filepath.Join(dir, ".tools", "bin", "zincsearch")
	if st, err := os.Stat(p); err != nil || st.Size() == 0 {
		return "", fmt.Errorf("zincsearch is neither on PATH nor at %s", p)
	}
	return p, nil
}

// Start runs ZincSearch on a free 127.0.0.1 port with a temporary data
// directory and telemetry off, stops it when the test ends, and returns its
// ES API base URL (http://127.0.0.1:PORT/es). In CI (CI=true) a missing
// binary fails the test; elsewhere it skips with the command that builds it.
func Start(t testing.TB) string {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v; CI must build it with `make test-deps-outputs`", err)
		}
		t.Skipf("%v; run `make test-deps-outputs` to build it (ZincSearch v0.4.10, ~5 min once)", err)
	}
	port := freePort(t)
	dir := t.TempDir()
	cmd := exec.Command(bin)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"ZINC_FIRST_ADMIN_USER="+User, "ZINC_FIRST_ADMIN_PASSWORD="+Password,
		"ZINC_DATA_PATH="+filepath.Join(dir, "data"), "ZINC_SERVER_ADDRESS=127.0.0.1",
		"ZINC_SERVER_PORT="+strconv.Itoa(port), "ZINC_TELEMETRY=false", "ZINC_SENTRY=false",
		"ZINC_PROFILER=false", "GIN_MODE=release")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("zincsearch output:\n%s", logs.String())
		}
	})
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("zincsearch exited before serving: %v", err)
		default:
		}
		if res, err := http.Get(base + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return base + "/es"
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("zincsearch did not answer /healthz on %s within 60s", base)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
