package noise

import (
	"testing"

	"github.com/lookout-sec/lookout/router/api"
)

func TestWorkload(t *testing.T) {
	for pod, want := range map[string]string{
		"app-dashboard-7d9f8b6c4-xk2lp": "app-dashboard", // Deployment
		"web-0":                         "web",           // StatefulSet
		"node-exporter-x8k2p":           "node-exporter", // DaemonSet
		"backup-28391040-x8k2p":         "backup",        // CronJob
		"migrate-db-q2w4z":              "migrate-db",    // Job
		"standalone":                    "standalone",
		"app-dashboard":                 "app-dashboard", // no random suffix: "board" has vowels
	} {
		if got, _ := Workload(pod); got != want {
			t.Errorf("Workload(%q) = %q, want %q", pod, got, want)
		}
	}
}

func TestNormalizePath(t *testing.T) {
	for in, want := range map[string]string{
		"/tmp/cc8Xk2aB.o":                           "/tmp/*",
		"/proc/4211/environ":                        "/proc/*/environ",
		"/home/u/.cache/go-build/3f/3fa9c0d1e2b4-d": "/home/u/.cache/go-build/*/*",
		"/tmp/tmp.Xq81LkP":                          "/tmp/*",
		"/etc/shadow":                               "/etc/shadow",
		"/usr/lib/x86_64-linux-gnu/libc.so.6":       "/usr/lib/x86_64-linux-gnu/libc.so.6",
		"/var/lib/dpkg/info/bash.list":              "/var/lib/dpkg/info/bash.list",
	} {
		if got := NormalizePath(in); got != want {
			t.Errorf("NormalizePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFingerprintIgnoresVolatileValues(t *testing.T) {
	a := &api.Alert{Rule: "Terminal shell in container", Source: "syscall", Hostname: "node-1", OutputFields: map[string]any{
		"k8s.ns.name": "dev", "k8s.pod.name": "web-7d9f8b6c4-xk2lp", "proc.exepath": "/bin/bash", "proc.pid": 11,
		"container.id": "aaaaaaaaaaaa", "evt.time": 1, "proc.cmdline": "bash -c x",
	}}
	b := &api.Alert{Rule: a.Rule, Source: "syscall", Hostname: "node-2", UUID: "x", OutputFields: map[string]any{
		"k8s.ns.name": "dev", "k8s.pod.name": "web-5c8f7d9b6-q2w4z", "proc.exepath": "/bin/bash", "proc.pid": 99,
		"container.id": "bbbbbbbbbbbb", "evt.time": 2, "proc.cmdline": "bash",
	}}
	f := Fingerprinter{}
	if ka, kb := f.Of(a), f.Of(b); ka.ID != kb.ID {
		t.Fatalf("same workload, different pods/nodes/pids: %v vs %v", ka.Fields, kb.Fields)
	}
	// A host alert (no namespace, no image) is per host.
	h1 := &api.Alert{Rule: "Write below etc", Source: "syscall", Hostname: "build-1", OutputFields: map[string]any{"fd.name": "/etc/x", "proc.name": "cp"}}
	h2 := &api.Alert{Rule: "Write below etc", Source: "syscall", Hostname: "build-2", OutputFields: map[string]any{"fd.name": "/etc/x", "proc.name": "cp"}}
	if f.Of(h1).ID == f.Of(h2).ID {
		t.Fatal("host alerts of two hosts share a fingerprint")
	}
	// A per-rule override.
	f = Fingerprinter{Rules: []FingerprintRule{{Rules: []string{"Terminal*"}, Fields: []string{"k8s.ns.name"}}}}
	c := &api.Alert{Rule: a.Rule, Source: "syscall", OutputFields: map[string]any{"k8s.ns.name": "dev", "proc.exepath": "/bin/sh"}}
	if k := f.Of(c); k.ID != f.Of(a).ID || len(k.Fields) != 1 {
		t.Fatalf("override: %v", k.Fields)
	}
}
