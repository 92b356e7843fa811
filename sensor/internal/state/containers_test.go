package state

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/sensor/internal/event"
	"github.com/lookout-sec/lookout/sensor/internal/state/container"
	"github.com/lookout-sec/lookout/sensor/internal/state/container/containertest"
)

const ctrID = "3f4e2d1c0b9a8f7e6d5c4b3a29180716f5e4d3c2b1a09f8e7d6c5b4a39281706"

const ctrInspect = `{"Id":"` + ctrID + `","Name":"/k8s_web_web-1_shop_uid_0","Created":"2026-11-20T08:15:42Z",
 "Image":"sha256:zz","HostConfig":{"Privileged":true},
 "Config":{"Image":"nginx:1.25","Labels":{"io.kubernetes.pod.name":"web-1","io.kubernetes.pod.namespace":"shop","io.kubernetes.pod.uid":"uid","tier":"front"}}}`

// fakeProc writes ProcRoot/PID/cgroup (and the container's passwd under
// ProcRoot/PID/root/etc when inContainer).
func fakeProc(t *testing.T, procRoot string, pid int, cgroup string, passwd string) {
	t.Helper()
	dir := filepath.Join(procRoot, strconv.Itoa(pid))
	if err := os.MkdirAll(filepath.Join(dir, "root/etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup"), []byte(cgroup), 0o644); err != nil {
		t.Fatal(err)
	}
	if passwd != "" {
		if err := os.WriteFile(filepath.Join(dir, "root/etc/passwd"), []byte(passwd), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// ctrSetup returns tables whose procfs has pids 4242 and 4243 in the docker
// container ctrID and 4300 on the host, with a resolver on the fake docker.
func ctrSetup(t *testing.T, dock *containertest.Docker) (*Tables, *container.Resolver) {
	t.Helper()
	dir := t.TempDir()
	r := container.NewResolver(container.ResolverOptions{DockerSocket: dock.Socket, PodmanSocket: filepath.Join(dir, "none.sock"),
		ContainerdSocket: filepath.Join(dir, "none.sock"), CRIOSocket: filepath.Join(dir, "none.sock"),
		Logger: slog.New(slog.DiscardHandler)})
	tb := newTestTables(t, Options{Containers: r})
	inCtr := "0::/system.slice/docker-" + ctrID + ".scope\n"
	passwd := "root:x:0:0:root:/root:/bin/sh\nnginx:x:101:101:nginx:/var/cache/nginx:/sbin/nologin\n"
	fakeProc(t, tb.opts.ProcRoot, 4242, inCtr, passwd)
	fakeProc(t, tb.opts.ProcRoot, 4243, inCtr, passwd)
	fakeProc(t, tb.opts.ProcRoot, 4300, "0::/user.slice/user-0.slice/session-1.scope\n", "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return tb, r
}

// applyUntil applies filler events for tid until cond holds; the deadline
// only guards against a hang.
func applyUntil(t *testing.T, tb *Tables, b *evb, tid int64, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached: metadata never applied")
		}
		time.Sleep(time.Millisecond)
		tb.Apply(b.ev(event.TypeSendto, tid, tid, 0, fdarg("fd", 1)))
	}
}

func TestContainerMetadata(t *testing.T) {
	dock := containertest.NewDocker(t)
	dock.AddContainer(ctrID, ctrInspect)
	dock.Block() // the first fetch hangs until released: Apply must not wait
	tb, _ := ctrSetup(t, dock)
	b := &evb{}
	tb.Apply(execEv(b, 1, "/sbin/init", "", "/", 0))
	tb.Apply(fork(b, 4242, 1))
	ex := execEv(b, 4242, "/usr/sbin/nginx", "-g\x00daemon off;", "/", 101)
	tb.Apply(ex)
	c := ex.Proc.Container
	if c == nil || c.ID != ctrID[:12] || c.FullID != ctrID || c.Runtime != container.RuntimeDocker || c.Metadata {
		t.Fatalf("container after exec = %+v, want id %s without metadata yet", c, ctrID[:12])
	}
	if u := ex.Proc.User; u == nil || u.Name != "nginx" || u.HomeDir != "/var/cache/nginx" {
		t.Fatalf("user = %+v, want nginx from the container's passwd", u)
	}
	if ex.Proc.Group != nil {
		t.Errorf("group = %+v, want nil: the container has no etc/group", ex.Proc.Group)
	}
	// A second process of the container shares the Container.
	tb.Apply(fork(b, 4243, 1))
	ex2 := execEv(b, 4243, "/bin/sh", "", "/", 0)
	tb.Apply(ex2)
	if ex2.Proc.Container != c {
		t.Fatal("two processes of one container do not share its Container")
	}
	// A host process has none.
	tb.Apply(fork(b, 4300, 1))
	hx := execEv(b, 4300, "/usr/bin/top", "", "/", 1000)
	tb.Apply(hx)
	if hx.Proc.Container != nil || hx.Proc.User == nil || hx.Proc.User.Name != "alice" {
		t.Fatalf("host process: container %+v user %+v", hx.Proc.Container, hx.Proc.User)
	}
	dock.Unblock()
	applyUntil(t, tb, b, 4242, func() bool { return c.Metadata })
	if c.Name != "k8s_web_web-1_shop_uid_0" || c.Image != "nginx:1.25" || c.ImageRepository != "nginx" || c.ImageTag != "1.25" ||
		c.Privileged == nil || !*c.Privileged || c.PodName != "web-1" || c.Namespace != "shop" || c.PodUID != "uid" ||
		c.Labels["tier"] != "front" || c.StartTS != time.Date(2026, 11, 20, 8, 15, 42, 0, time.UTC).UnixNano() {
		t.Fatalf("metadata = %+v", c)
	}
	if s := tb.Stats(); s.Containers != 1 || s.MetadataFetched != 1 || s.MetadataFailed != 0 {
		t.Fatalf("stats = %+v", s)
	}
	// Later execs in the container do not ask again.
	hits := dock.Hits()
	tb.Apply(execEv(b, 4243, "/bin/cat", "", "/", 0))
	tb.Apply(b.ev(event.TypeSendto, 4243, 4243, 0, fdarg("fd", 1)))
	if dock.Hits() != hits {
		t.Errorf("an exec in a resolved container fetched again (%d -> %d requests)", hits, dock.Hits())
	}
}

func TestContainerMetadataRetry(t *testing.T) {
	dock := containertest.NewDocker(t)
	dock.AddContainer(ctrID, ctrInspect)
	dock.FailNext(6)
	tb, r := ctrSetup(t, dock)
	b := &evb{}
	tb.Apply(fork(b, 4242, 1))
	ex := execEv(b, 4242, "/usr/sbin/nginx", "", "/", 101)
	tb.Apply(ex)
	c := ex.Proc.Container
	// The first five failures are retried quickly (50 ms doubling, in
	// event time: the container may be too new for its runtime's API),
	// and meanwhile its metadata counts as pending: its events wait.
	for i := 1; i <= 5; i++ {
		applyUntil(t, tb, b, 4242, func() bool { return tb.Stats().MetadataFailed == uint64(i) })
		if !tb.MetadataPending(c) {
			t.Fatalf("after failed fetch %d the metadata does not count as pending", i)
		}
		if s := r.Stats(); s.Requested != uint64(i) {
			t.Fatalf("retried before the quick retry was due: %+v", s)
		}
		b.ts += int64(time.Second)
	}
	applyUntil(t, tb, b, 4242, func() bool { return tb.Stats().MetadataFailed == 6 })
	if tb.MetadataPending(c) {
		t.Fatal("after the quick retries the metadata still counts as pending")
	}
	// Not due yet: within 30 s of event time it is not asked again.
	tb.Apply(execEv(b, 4242, "/usr/sbin/nginx", "", "/", 101))
	if s := r.Stats(); s.Requested != 6 {
		t.Fatalf("retried before the retry interval: %+v", s)
	}
	// Past the retry interval it is asked again without waiting for an exec.
	b.ts += int64(31 * time.Second)
	applyUntil(t, tb, b, 4242, func() bool { return c.Metadata })
	if s := r.Stats(); s.Requested != 7 || s.Fetched != 1 || s.Failed != 6 {
		t.Fatalf("resolver stats = %+v", s)
	}

	// A container the runtime does not know is asked again quickly (it
	// may not be registered yet), then never again.
	gone := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	fakeProc(t, tb.opts.ProcRoot, 5000, "0::/docker/"+gone+"\n", "")
	tb.Apply(fork(b, 5000, 1))
	tb.Apply(execEv(b, 5000, "/bin/sh", "", "/", 0))
	for i := 7; i <= 12; i++ {
		applyUntil(t, tb, b, 5000, func() bool { return tb.Stats().MetadataFailed == uint64(i) })
		b.ts += int64(time.Second)
	}
	b.ts += int64(time.Hour)
	tb.Apply(execEv(b, 5000, "/bin/sh", "", "/", 0))
	if s := r.Stats(); s.Requested != 13 {
		t.Fatalf("a not-found container was asked again: %+v", s)
	}
}

func TestContainerMetadataQueueFull(t *testing.T) {
	dock := containertest.NewDocker(t)
	dock.AddContainer(ctrID, ctrInspect)
	other := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	dock.AddContainer(other, `{"Id":"`+other+`","Name":"/db","Config":{"Image":"postgres:16"},"HostConfig":{}}`)
	dir := t.TempDir()
	none := filepath.Join(dir, "none.sock")
	r := container.NewResolver(container.ResolverOptions{DockerSocket: dock.Socket, PodmanSocket: none,
		ContainerdSocket: none, CRIOSocket: none, Queue: 1, Workers: 1, Logger: slog.New(slog.DiscardHandler)})
	tb := newTestTables(t, Options{Containers: r})
	fakeProc(t, tb.opts.ProcRoot, 4242, "0::/docker/"+ctrID+"\n", "")
	fakeProc(t, tb.opts.ProcRoot, 5000, "0::/docker/"+other+"\n", "")
	b := &evb{}
	for _, pid := range []int64{4242, 5000} {
		tb.Apply(fork(b, pid, 1))
		tb.Apply(execEv(b, pid, "/bin/sh", "", "/", 0))
	}
	if s := r.Stats(); s.Requested != 1 || s.Dropped != 1 {
		t.Fatalf("resolver stats before Run = %+v, want 1 queued and 1 refused", s)
	}
	// The resolver starts late; the refused container is asked again by
	// the sweep, with no further exec.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	c1, c2 := tb.Process(4242).Container, tb.Process(5000).Container
	applyUntil(t, tb, b, 4242, func() bool {
		b.ts += int64(100 * time.Millisecond)
		return c1.Metadata && c2.Metadata
	})
	if c2.Name != "db" || c2.ImageTag != "16" {
		t.Fatalf("second container = %+v", c2)
	}
}

func TestContainerFromExecCgroups(t *testing.T) {
	tb := newTestTables(t, Options{})
	b := &evb{}
	tb.Apply(execEv(b, 1, "/sbin/init", "", "/", 0))
	tb.Apply(fork(b, 70, 1))
	// No /proc entry (the process is gone): the exec's cgroups parameter
	// decides, as Falco's does.
	for _, tc := range []struct {
		name, cgroups string
		want          string // short id; "" for the host
	}{
		{"cgroup v1 list", "cpuset=/\x00cpu=/docker/" + ctrID + "\x00memory=/docker/" + ctrID + "\x00", ctrID[:12]},
		{"cgroup v2", "=/system.slice/docker-" + ctrID + ".scope", ctrID[:12]},
		{"host", "=/user.slice/user-0.slice/session-3.scope", ""},
	} {
		ex := execEv(b, 70, "/bin/cat", "", "/", 0)
		ex.Args = append(ex.Args, barg("cgroups", tc.cgroups))
		tb.Apply(ex)
		got := ""
		if c := ex.Proc.Container; c != nil {
			got = c.ID
		}
		if got != tc.want {
			t.Errorf("%s: container %q, want %q", tc.name, got, tc.want)
		}
	}
}
