package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/outputs/registry"
)

func loadYAML(t *testing.T, y string) (*Config, error) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(f, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(f, registry.Builtin())
}

func TestServerBlock(t *testing.T) {
	const outs = "outputs:\n  - {name: a, type: stdout}\n"
	c, err := loadYAML(t, outs)
	if err != nil {
		t.Fatal(err)
	}
	want := Server{DefaultReadHeaderTimeout, DefaultBodyTimeout, DefaultReadTimeout, DefaultWriteTimeout, DefaultIdleTimeout,
		DefaultMaxHeaderBytes, DefaultMaxConnections, DefaultMaxRequests}
	if c.Server != want {
		t.Errorf("defaults: %+v, want %+v", c.Server, want)
	}
	c, err = loadYAML(t, "server: {read_header_timeout: 1s, body_timeout: 2s, read_timeout: 3s, write_timeout: 4s, idle_timeout: 5s, max_header_bytes: 8KiB, max_connections: 10, max_requests: 3}\n"+outs)
	if err != nil {
		t.Fatal(err)
	}
	want = Server{time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second, 5 * time.Second, 8 << 10, 10, 3}
	if c.Server != want {
		t.Errorf("set: %+v, want %+v", c.Server, want)
	}
	for y, msg := range map[string]string{
		"server: {idle: 1s}\n":              "server.idle: unknown key (allowed: body_timeout, idle_timeout, max_connections",
		"server: {idle_timeout: 5}\n":       "server.idle_timeout: 5 is not a duration",
		"server: {body_timeout: -1s}\n":     "server.body_timeout: -1s is not a positive duration",
		"server: {max_requests: 0}\n":       "server.max_requests: 0 is not a positive integer",
		"server: {max_header_bytes: 10}\n":  "server.max_header_bytes: 10 is not a size of at least 1KiB",
		"server: [1]\n":                     "server: must be a mapping",
		"server: {max_connections: many}\n": "server.max_connections: many is not an integer",
	} {
		if _, err := loadYAML(t, y+outs); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: error %v, want %q", y, err, msg)
		}
	}
}
