package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/outputs/registry"
)

func TestLoadErrors(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"bad priority", "outputs:\n  - {name: a, type: stdout, min_priority: warn}\n", `outputs[0].min_priority: "warn" is not a priority (allowed: emergency`},
		{"unknown top key", "lisen: x\noutputs:\n  - {name: a, type: stdout}\n", "lisen: unknown key"},
		{"unknown output key", "outputs:\n  - {name: a, type: stdout, colour: red}\n", "outputs[0].colour: unknown key"},
		{"unknown type", "outputs:\n  - {name: a, type: fax}\n", `outputs[0].type: "fax" is not a known output type`},
		{"no outputs", "listen: 127.0.0.1:1\n", "outputs: at least one output is required"},
		{"duplicate name", "outputs:\n  - {name: a, type: stdout}\n  - {name: a, type: stdout}\n", `outputs[1].name: "a" is used twice`},
		{"bad filter key", "outputs:\n  - {name: a, type: stdout, filters: {rule: {include: [x]}}}\n", "outputs[0].filters.rule: unknown key"},
		{"bad max_bytes", "queue: {max_bytes: 1GB2}\noutputs:\n  - {name: a, type: stdout}\n", "queue.max_bytes: 1GB2 is not a size such as 1GiB"},
		{"unknown queue key", "queue: {path: /x}\noutputs:\n  - {name: a, type: stdout}\n", "queue.path: unknown key (allowed: dir, max_bytes)"},
		{"bad overflow", "outputs:\n  - {name: a, type: stdout, overflow: drop}\n", "outputs[0].overflow: drop is not allowed (allowed: block, drop_oldest)"},
		{"bad concurrency", "outputs:\n  - {name: a, type: stdout, concurrency: 0}\n", "outputs[0].concurrency: 0 is not an integer >= 1"},
		{"bad timeout", "outputs:\n  - {name: a, type: stdout, timeout: 10}\n", "outputs[0].timeout: 10 is not a duration: a duration needs a unit"},
		{"unknown retry key", "outputs:\n  - {name: a, type: stdout, retry: {attempts: 3}}\n", "outputs[0].retry.attempts: unknown key"},
		{"backoff order", "outputs:\n  - {name: a, type: stdout, retry: {initial_backoff: 2s, max_backoff: 1s}}\n", "outputs[0].retry.max_backoff: 1s is shorter"},
		{"unknown admin key", "admin: {token: x}\noutputs:\n  - {name: a, type: stdout}\n", "admin.token: unknown key (allowed: pprof, tokens)"},
		{"empty admin token", "admin: {tokens: ['']}\noutputs:\n  - {name: a, type: stdout}\n", "admin.tokens: an empty token is not allowed"},
		{"bad body limit", "body_limit: -1\noutputs:\n  - {name: a, type: stdout}\n", "body_limit: -1 is not a positive integer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(f, []byte(c.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(f, registry.Builtin())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestLoadOK(t *testing.T) {
	f := filepath.Join(t.TempDir(), "c.yaml")
	y := "auth: {tokens: [s3cret]}\noutputs:\n  - {name: a, type: webhook, min_priority: info, webhook: {url: 'http://127.0.0.1:1/h'}}\n"
	if err := os.WriteFile(f, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(f, registry.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:2801" || c.BodyLimit != 1<<20 || len(c.Tokens) != 1 || c.Outputs[0].Block["webhook"].(map[string]any)["url"] != "http://127.0.0.1:1/h" {
		t.Fatalf("unexpected config: %+v", c)
	}
	if strings.Contains(c.String(), "s3cret") {
		t.Fatalf("secret printed: %s", c)
	}
}

func TestLoadDelivery(t *testing.T) {
	cases := []struct {
		name, yaml string
		queue      Queue
		d          Delivery
	}{
		{"defaults", "outputs:\n  - {name: a, type: stdout}\n",
			Queue{Dir: DefaultQueueDir, MaxBytes: 1 << 30},
			Delivery{Concurrency: 1, Timeout: 10 * time.Second, BatchSize: 1, Overflow: "block", Retry: Retry{MaxAge: 24 * time.Hour, InitialBackoff: 500 * time.Millisecond, MaxBackoff: time.Minute}}},
		{"everything", "queue: {dir: /tmp/q, max_bytes: 512MiB}\noutputs:\n  - {name: a, type: stdout, concurrency: 4, timeout: 3s, batch_size: 50, overflow: drop_oldest, retry: {max_attempts: 5, max_age: 0, initial_backoff: 100ms, max_backoff: 10s}}\n",
			Queue{Dir: "/tmp/q", MaxBytes: 512 << 20},
			Delivery{Concurrency: 4, Timeout: 3 * time.Second, BatchSize: 50, Overflow: "drop_oldest", DropOldest: true, Retry: Retry{MaxAttempts: 5, InitialBackoff: 100 * time.Millisecond, MaxBackoff: 10 * time.Second}}},
		{"memory", "queue: {dir: '', max_bytes: 1000}\noutputs:\n  - {name: a, type: stdout}\n",
			Queue{MaxBytes: 1000},
			Delivery{Concurrency: 1, Timeout: 10 * time.Second, BatchSize: 1, Overflow: "block", Retry: Retry{MaxAge: 24 * time.Hour, InitialBackoff: 500 * time.Millisecond, MaxBackoff: time.Minute}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(f, []byte(c.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(f, registry.Builtin())
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Queue != c.queue || cfg.Outputs[0].Delivery != c.d {
				t.Fatalf("got %+v %+v, want %+v %+v", cfg.Queue, cfg.Outputs[0].Delivery, c.queue, c.d)
			}
		})
	}
}

func TestParseBytes(t *testing.T) {
	cases := []struct {
		in   any
		want int64
		ok   bool
	}{
		{1048576, 1 << 20, true}, {"1GiB", 1 << 30, true}, {"10 MB", 10e6, true}, {"7B", 7, true},
		{"1.5GiB", 0, false}, {"-1", 0, false}, {"GiB", 0, false}, {true, 0, false},
	}
	for _, c := range cases {
		got, err := ParseBytes(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseBytes(%v) = %d, %v; want %d ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

func FuzzParseBytes(f *testing.F) {
	for _, s := range []string{"1GiB", "512 MiB", "10MB", "1048576", "7B", "-1", "1.5GiB", "99999999999TiB", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseBytes(s)
		if err == nil && n < 0 {
			t.Fatalf("ParseBytes(%q) = %d", s, n)
		}
	})
}
