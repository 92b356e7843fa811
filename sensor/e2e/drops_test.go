package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lookout-sec/lookout/router/api"
)

// TestKernelDropsRaiseAlert runs the sensor with the smallest ring, floods
// it with opens and expects the "Lookout internal: syscall event drop"
// alert in the file output, as a valid Falco-shaped alert.
func TestKernelDropsRaiseAlert(t *testing.T) {
	needRoot(t)
	_, sensorBin := build(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "alerts.json")
	cfg := writeFile(t, filepath.Join(dir, "sensor.yaml"), fmt.Sprintf(
		"ring_size: %d\nmetrics: {listen: \"\"}\ndrop_alert_interval: 1s\noutputs: {file: {path: %s}}\n", os.Getpagesize(), out))
	s := startSensor(t, sensorBin, "--config", cfg)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		for range 20000 {
			if fd, err := unix.Open("/etc/hostname", unix.O_RDONLY, 0); err == nil {
				unix.Close(fd)
			}
		}
		b, _ := os.ReadFile(out)
		if line, ok := findLine(string(b), "Lookout internal: syscall event drop"); ok {
			a, err := api.DecodeAlert([]byte(line))
			if err != nil {
				t.Fatalf("drop alert is not a valid alert: %v\n%s", err, line)
			}
			if a.Priority != api.PriorityCritical || a.Source != "internal" || a.UUID == "" || a.OutputFields["n_drops"] == nil {
				t.Errorf("drop alert: %+v", a)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no kernel drop alert after 2 minutes of opens with a %d-byte ring:\n%s", os.Getpagesize(), s.logText())
		}
	}
	s.stop(t)
}

func findLine(s, substr string) (string, bool) {
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, substr) {
			return l, true
		}
	}
	return "", false
}

// TestRouterOutageNoLoss starts the sensor while its router is down: the
// alert raised meanwhile is retried and reaches the sink once the router
// starts. The router requires a bearer token and the sensor gzips.
func TestRouterOutageNoLoss(t *testing.T) {
	needRoot(t)
	routerBin, sensorBin := build(t)
	work := t.TempDir()
	addr := freeAddr(t)
	cfg := writeFile(t, filepath.Join(work, "sensor.yaml"), "metrics: {listen: \"\"}\noutputs: {router: {batch_interval: 10ms, retry_for: 5m, gzip: true}}\n")
	s := startSensor(t, sensorBin, "--config", cfg, "--router", "http://"+addr, "--router-token", "e2e-s3cret")
	dir := t.TempDir()
	_ = command("cat", "/etc/shadow", "$dir/outage")(t, dir).Run()
	s.waitLog(t, "emit: delivery failed; retrying")
	sk := newSink(t)
	startRouterAt(t, routerBin, work, sk.srv.URL, addr, "auth: {tokens: [e2e-s3cret]}")
	sk.waitFor(t, "the alert raised while the router was down", 2*time.Minute, func(a *api.Alert) bool {
		return a.Rule == "Read sensitive file untrusted" && strings.Contains(field(a, "proc.cmdline"), dir)
	})
	s.stop(t)
	if strings.Contains(s.logText(), "e2e-s3cret") {
		t.Errorf("the router token appears in the sensor's log")
	}
}
