package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/router/api"
)

// TestLongCommandLinesReachRouter is issue 16's 413: alerts with long
// command lines, in batches of 100, made bodies over the real router's
// limit, which it refused, and the sensor dropped whole batches. Here the
// probe's 4 KB command lines make ~5 KB alerts and the router's limit is
// 128 KB: the sensor cuts bodies by bytes (learning the limit from the
// router's /v1/limits, its header, or its first 413) and every alert
// arrives.
func TestLongCommandLinesReachRouter(t *testing.T) {
	needRoot(t)
	routerBin, sensorBin := build(t)
	work := t.TempDir()
	sk := newSink(t)
	url := startRouterAt(t, routerBin, work, sk.srv.URL, freeAddr(t), "body_limit: 131072")
	cfg := writeFile(t, filepath.Join(work, "sensor.yaml"), "metrics: {listen: \"\"}\noutputs: {router: {batch_size: 100, batch_interval: 2s}}\n")
	s := startSensor(t, sensorBin, "--config", cfg, "--router", url)
	dir := t.TempDir()
	long := strings.Repeat("x", 200)
	var args []string
	for range 80 { // 80 arguments of 200 bytes: ~16 KB of command line
		args = append(args, filepath.Join(dir, long))
	}
	const n = 150
	for range n {
		_ = exec.Command("cat", append([]string{"/etc/shadow"}, args...)...).Run()
	}
	match := func(a *api.Alert) bool {
		return a.Rule == "Read sensitive file untrusted" && strings.Contains(field(a, "proc.cmdline"), dir)
	}
	deadline := time.Now().Add(2 * time.Minute)
	got := 0
	for {
		got = 0
		for _, r := range sk.all() {
			if match(r.a) {
				got++
			}
		}
		if got >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.stop(t)
	if got != n {
		t.Fatalf("%d of %d alerts with long command lines reached the sink:\n%s", got, n, s.logText())
	}
	log := s.logText()
	if strings.Contains(log, `level=ERROR msg="emit:`) || !strings.Contains(log, "too_large:0") {
		t.Errorf("the sensor dropped alerts:\n%s", log)
	}
	// A router that advertises its limit is never sent a body over it; one
	// that does not answers 413 once and the sensor splits.
	t.Logf("413 met and split: %v; limit advertised: %v", strings.Contains(log, "(413); splitting"),
		strings.Contains(log, "destination body limit"))
}
