package container_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/sensor/internal/event"
	"github.com/lookout-sec/lookout/sensor/internal/state/container"
	"github.com/lookout-sec/lookout/sensor/internal/state/container/containertest"
)

const hexID = "3f4e2d1c0b9a8f7e6d5c4b3a29180716f5e4d3c2b1a09f8e7d6c5b4a39281706"

const imageID = "sha256:a8758716bb6aa4d90071160d27028fe4eaee7ce8166221a97d30440c8eac2be6"

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDockerFetch(t *testing.T) {
	f := containertest.NewDocker(t)
	f.AddContainer(hexID, readTestdata(t, "inspect_k8s.json"))
	f.AddImage(imageID, `{"Id":"`+imageID+`","RepoDigests":["other/nginx@sha256:1111","registry.example.com:5000/shop/nginx@sha256:2222"]}`)
	plain := strings.Repeat("b", 64)
	f.AddContainer(plain, `{"Id":"`+plain+`","Name":"/db","Created":"bad","Image":"sha256:zz","Config":{"Image":"postgres@sha256:3333"},"HostConfig":{}}`)
	broken := strings.Repeat("c", 64)
	f.AddContainer(broken, `{"Id":`)
	d := container.NewDocker(f.Socket)
	defer d.Close()

	tests := []struct {
		name    string
		id      string
		want    container.Metadata
		wantErr string
		notFnd  bool
	}{
		{name: "kubernetes container with image digest lookup", id: hexID, want: container.Metadata{
			Name:  "k8s_web_web-7d9f8b6c5-x2x4q_shop_0c3a11e2-9d1f-4e2b-8f6a-1b2c3d4e5f60_0",
			Image: "registry.example.com:5000/shop/nginx:1.25.3", ImageRepository: "registry.example.com:5000/shop/nginx",
			ImageTag: "1.25.3", ImageDigest: "sha256:2222", Privileged: ptr(true),
			CreatedTS: time.Date(2026, 11, 20, 8, 15, 42, 123456789, time.UTC).UnixNano(),
			StartedTS: time.Date(2026, 11, 20, 8, 15, 43, 1, time.UTC).UnixNano(),
			PodName:   "web-7d9f8b6c5-x2x4q", PodUID: "0c3a11e2-9d1f-4e2b-8f6a-1b2c3d4e5f60", Namespace: "shop",
			ImageID: "a8758716bb6a", HostPID: ptr(false), HostNetwork: ptr(false), HostIPC: ptr(true),
			Mounts: []event.Mount{
				{Source: "/var/lib/kubelet/pods/0c3a11e2/volumes/data", Dest: "/data", Mode: "Z", RW: true, Propagation: "rprivate"},
				{Source: "/etc", Dest: "/host/etc", Mode: "ro", RW: false, Propagation: "rslave"},
			},
			Healthcheck: "/bin/sh -c curl -f http://localhost/", IP: "10.88.0.7"}},
		{name: "plain container pinned by digest", id: plain, want: container.Metadata{Name: "db", Image: "postgres@sha256:3333",
			ImageRepository: "postgres", ImageDigest: "sha256:3333", Privileged: ptr(false),
			HostPID: ptr(false), HostNetwork: ptr(false), HostIPC: ptr(false)}},
		{name: "unknown container", id: strings.Repeat("d", 64), notFnd: true, wantErr: "not found"},
		{name: "bad JSON", id: broken, wantErr: "decode"},
		{name: "not an id", id: "../../info", wantErr: "not 64 hex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := d.Fetch(context.Background(), container.ID{FullID: tt.id, Runtime: container.RuntimeDocker})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || errors.Is(err, container.ErrNotFound) != tt.notFnd {
					t.Fatalf("err = %v, want %q (not found %v)", err, tt.wantErr, tt.notFnd)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			labels := m.Labels
			m.Labels = nil
			if !reflect.DeepEqual(m, tt.want) {
				t.Errorf("metadata =\n%+v\nwant\n%+v", m, tt.want)
			}
			if tt.id == hexID && labels["io.kubernetes.container.name"] != "web" {
				t.Errorf("labels = %v", labels)
			}
		})
	}

	f.FailNext(1)
	_, err := d.Fetch(context.Background(), container.ID{FullID: hexID})
	if err == nil || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "daemon busy") || errors.Is(err, container.ErrNotFound) {
		t.Fatalf("500: err = %v, want the status and message", err)
	}
	os.Remove(f.Socket)
	if _, err := container.NewDocker(f.Socket).Fetch(context.Background(), container.ID{FullID: hexID}); err == nil || !strings.Contains(err.Error(), f.Socket) {
		t.Fatalf("no socket: err = %v, want the socket path named", err)
	}
}

func TestSplitImage(t *testing.T) {
	for _, tc := range []struct{ ref, repo, tag, digest string }{
		{"nginx", "nginx", "latest", ""},
		{"nginx:1.25", "nginx", "1.25", ""},
		{"docker.io/library/nginx:1.25", "docker.io/library/nginx", "1.25", ""},
		{"registry:5000/team/app", "registry:5000/team/app", "latest", ""},
		{"registry:5000/team/app:v2", "registry:5000/team/app", "v2", ""},
		{"app:v2@sha256:abcd", "app", "v2", "sha256:abcd"},
		{"app@sha256:abcd", "app", "", "sha256:abcd"},
		{"sha256:" + strings.Repeat("e", 64), "", "", "sha256:" + strings.Repeat("e", 64)},
		{"", "", "", ""},
	} {
		repo, tag, digest := container.SplitImage(tc.ref)
		if repo != tc.repo || tag != tc.tag || digest != tc.digest {
			t.Errorf("container.SplitImage(%q) = %q %q %q, want %q %q %q", tc.ref, repo, tag, digest, tc.repo, tc.tag, tc.digest)
		}
	}
}

// waitResult reads one result; the timeout only guards against a hang.
func waitResult(t *testing.T, r *container.Resolver) container.Result {
	t.Helper()
	select {
	case res := <-r.Results():
		return res
	case <-time.After(10 * time.Second):
		t.Fatal("no result from the resolver")
		return container.Result{}
	}
}

func TestResolver(t *testing.T) {
	f := containertest.NewDocker(t)
	f.AddContainer(hexID, readTestdata(t, "inspect_k8s.json"))
	none := filepath.Join(t.TempDir(), "none.sock")
	r := container.NewResolver(container.ResolverOptions{DockerSocket: f.Socket, PodmanSocket: none,
		ContainerdSocket: none, CRIOSocket: none, Queue: 2, Workers: 1,
		Logger: slog.New(slog.DiscardHandler)})
	if !r.Enabled() || !r.Serves(container.RuntimeDocker) || r.Serves(container.RuntimePodman) || r.Serves(container.RuntimeContainerd) {
		t.Fatalf("served runtimes: docker %v podman %v containerd %v", r.Serves(container.RuntimeDocker), r.Serves(container.RuntimePodman), r.Serves(container.RuntimeContainerd))
	}
	if r.Request(container.ID{FullID: hexID, Runtime: container.RuntimeContainerd}) {
		t.Fatal("request for a runtime without a socket was queued")
	}
	// Before Run starts, the queue (2) fills and the third request is
	// refused without blocking.
	gone := strings.Repeat("f", 64)
	for i, id := range []string{hexID, gone} {
		if !r.Request(container.ID{FullID: id, Runtime: container.RuntimeDocker}) {
			t.Fatalf("request %d refused", i)
		}
	}
	if r.Request(container.ID{FullID: hexID, Runtime: container.RuntimeDocker}) {
		t.Fatal("request beyond the queue was accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	got := map[string]container.Result{}
	for range 2 {
		res := waitResult(t, r)
		got[res.ID.FullID] = res
	}
	if res := got[hexID]; res.Err != nil || res.Meta.PodName != "web-7d9f8b6c5-x2x4q" || res.Meta.Privileged == nil || !*res.Meta.Privileged {
		t.Errorf("result for %s = %+v", hexID[:12], res)
	}
	if res := got[gone]; !errors.Is(res.Err, container.ErrNotFound) {
		t.Errorf("result for a gone container = %+v, want container.ErrNotFound", res)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := r.Stats(); s != (container.ResolverStats{Requested: 2, Dropped: 1, Fetched: 1, Failed: 1}) {
		t.Errorf("stats = %+v", s)
	}
}

func TestResolverWithoutRuntime(t *testing.T) {
	dir := t.TempDir()
	none := container.ResolverOptions{DockerSocket: filepath.Join(dir, "docker.sock"), PodmanSocket: filepath.Join(dir, "podman.sock"),
		ContainerdSocket: filepath.Join(dir, "containerd.sock"), CRIOSocket: filepath.Join(dir, "crio.sock"),
		Logger: slog.New(slog.DiscardHandler)}
	r := container.NewResolver(none)
	if r.Enabled() || r.Request(container.ID{FullID: hexID, Runtime: container.RuntimeDocker}) {
		t.Fatal("a resolver without sockets accepted a request")
	}
	var nilR *container.Resolver
	if nilR.Enabled() || nilR.Request(container.ID{FullID: hexID, Runtime: container.RuntimeDocker}) || nilR.Stats() != (container.ResolverStats{}) {
		t.Fatal("nil resolver is not inert")
	}
	// A regular file where the socket should be is not a runtime.
	if err := os.WriteFile(filepath.Join(dir, "docker.sock"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if container.NewResolver(none).Enabled() {
		t.Fatal("a regular file was taken for a socket")
	}
}

func ptr[T any](v T) *T { return &v }

// TestResolverSocketAppearsLater: a runtime whose socket appears after the
// resolver started (podman socket-activated, containerd restarted) is
// picked up by the periodic re-discovery and then serves requests.
func TestResolverSocketAppearsLater(t *testing.T) {
	dir := t.TempDir()
	podman := filepath.Join(dir, "podman.sock")
	none := filepath.Join(dir, "none.sock")
	r := container.NewResolver(container.ResolverOptions{DockerSocket: none, PodmanSocket: podman,
		ContainerdSocket: none, CRIOSocket: none, Rediscover: 20 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)})
	if r.Enabled() || r.Serves(container.RuntimePodman) {
		t.Fatal("a resolver without sockets serves podman")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	f := containertest.NewDocker(t)
	f.AddContainer(hexID, readTestdata(t, "inspect_k8s.json"))
	if err := os.Symlink(f.Socket, podman); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second) // a hang guard, not a timing assertion
	for !r.Serves(container.RuntimePodman) {
		if time.Now().After(deadline) {
			t.Fatal("the podman socket created after start was never picked up")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !r.Request(container.ID{FullID: hexID, Runtime: container.RuntimePodman}) {
		t.Fatal("request refused after the socket appeared")
	}
	if res := waitResult(t, r); res.Err != nil || res.Meta.PodName != "web-7d9f8b6c5-x2x4q" {
		t.Fatalf("result = %+v", res)
	}
}
