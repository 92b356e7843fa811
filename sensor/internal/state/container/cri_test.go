package container

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// fakeCRI is a real gRPC CRI RuntimeService on a unix socket, as containerd
// and cri-o serve it, answering ContainerStatus from a table; every other
// method is UNIMPLEMENTED.
type fakeCRI struct {
	runtimeapi.UnimplementedRuntimeServiceServer

	socket string
	srv    *grpc.Server

	mu        sync.Mutex
	statuses  map[string]*runtimeapi.ContainerStatusResponse
	sandboxes map[string]*runtimeapi.PodSandboxStatus
	verbose   bool // the last request asked for verbose info
	hold      bool // ContainerStatus waits until the caller gives up
}

// socketPath returns a path for a unix socket in a fresh temporary
// directory, short enough for the 108-byte limit on sun_path.
func socketPath(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cri.sock")
	if len(p) < 100 {
		return p
	}
	dir, err := os.MkdirTemp("", "cri")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "cri.sock")
}

// newFakeCRI starts a fake CRI endpoint on a new socket; it stops when the
// test ends.
func newFakeCRI(t *testing.T) *fakeCRI {
	t.Helper()
	f := &fakeCRI{socket: socketPath(t), statuses: map[string]*runtimeapi.ContainerStatusResponse{},
		sandboxes: map[string]*runtimeapi.PodSandboxStatus{}}
	f.start(t)
	return f
}

// start serves on f.socket (again, after stop).
func (f *fakeCRI) start(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("unix", f.socket)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	runtimeapi.RegisterRuntimeServiceServer(srv, f)
	go srv.Serve(ln)
	f.srv = srv
	t.Cleanup(srv.Stop)
}

// stop closes the listener (removing the socket) and every connection.
func (f *fakeCRI) stop() { f.srv.Stop() }

func (f *fakeCRI) set(id string, resp *runtimeapi.ContainerStatusResponse) {
	f.mu.Lock()
	f.statuses[id] = resp
	f.mu.Unlock()
}

func (f *fakeCRI) setHold(hold bool) {
	f.mu.Lock()
	f.hold = hold
	f.mu.Unlock()
}

func (f *fakeCRI) askedVerbose() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.verbose
}

// ContainerStatus answers from the table: NOT_FOUND, worded as containerd
// does, for an unknown id.
func (f *fakeCRI) ContainerStatus(ctx context.Context, req *runtimeapi.ContainerStatusRequest) (*runtimeapi.ContainerStatusResponse, error) {
	f.mu.Lock()
	f.verbose = req.GetVerbose()
	resp, ok := f.statuses[req.GetContainerId()]
	hold := f.hold
	f.mu.Unlock()
	if hold {
		<-ctx.Done() // the client's deadline, sent as grpc-timeout, or its cancel
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	if !ok {
		return nil, status.Errorf(codes.NotFound, "an error occurred when try to find container %q: not found", req.GetContainerId())
	}
	return resp, nil
}

// PodSandboxStatus answers from the sandbox table; NOT_FOUND otherwise.
func (f *fakeCRI) PodSandboxStatus(_ context.Context, req *runtimeapi.PodSandboxStatusRequest) (*runtimeapi.PodSandboxStatusResponse, error) {
	f.mu.Lock()
	st, ok := f.sandboxes[req.GetPodSandboxId()]
	f.mu.Unlock()
	if !ok {
		return nil, status.Errorf(codes.NotFound, "sandbox %q not found", req.GetPodSandboxId())
	}
	return &runtimeapi.PodSandboxStatusResponse{Status: st}, nil
}

// criResp builds a ContainerStatusResponse with info["info"] set when info
// is not empty.
func criResp(st *runtimeapi.ContainerStatus, info string) *runtimeapi.ContainerStatusResponse {
	r := &runtimeapi.ContainerStatusResponse{Status: st}
	if info != "" {
		r.Info = map[string]string{"info": info}
	}
	return r
}

func TestCRIFetch(t *testing.T) {
	f := newFakeCRI(t)
	const hexID = "3f4e2d1c0b9a8f7e6d5c4b3a29180716f5e4d3c2b1a09f8e7d6c5b4a39281706"
	sandboxID := strings.Repeat("9", 64)
	f.mu.Lock()
	f.sandboxes[sandboxID] = &runtimeapi.PodSandboxStatus{Id: sandboxID,
		Labels:  map[string]string{"app": "web", "pod-template-hash": "7d9f8b"},
		Network: &runtimeapi.PodSandboxNetworkStatus{Ip: "10.244.1.7"},
		Linux: &runtimeapi.LinuxPodSandboxStatus{Namespaces: &runtimeapi.Namespace{Options: &runtimeapi.NamespaceOption{
			Network: runtimeapi.NamespaceMode_NODE, Pid: runtimeapi.NamespaceMode_CONTAINER, Ipc: runtimeapi.NamespaceMode_POD}}}}
	f.mu.Unlock()
	// containerd: privileged in the container config's security context.
	f.set(hexID, criResp(&runtimeapi.ContainerStatus{
		Id:        hexID,
		Metadata:  &runtimeapi.ContainerMetadata{Name: "web"},
		State:     runtimeapi.ContainerState_CONTAINER_RUNNING,
		CreatedAt: 1763626542123456789,
		Image:     &runtimeapi.ImageSpec{Image: "docker.io/library/nginx:1.25.3"},
		ImageRef:  "docker.io/library/nginx@sha256:4444",
		Labels: map[string]string{"io.kubernetes.pod.name": "web-1", "io.kubernetes.pod.namespace": "shop",
			"io.kubernetes.pod.uid": "uid-1", "io.kubernetes.container.name": "web"},
		Annotations: map[string]string{"io.kubernetes.container.hash": "abc"},
		Mounts: []*runtimeapi.Mount{
			{ContainerPath: "/host/etc", HostPath: "/etc", Readonly: true, Propagation: runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER},
			{ContainerPath: "/data", HostPath: "/var/lib/kubelet/pods/uid-1/volumes/data"},
		},
	}, `{"sandboxID":"`+sandboxID+`","pid":4242,"config":{"metadata":{"name":"web"},"linux":{"security_context":{"privileged":true}}},"runtimeSpec":{"linux":{}}}`))

	// cri-o: image given by id, the name only in image_ref; privileged at the top of info.
	crioID := strings.Repeat("a", 64)
	f.set(crioID, criResp(&runtimeapi.ContainerStatus{
		Metadata: &runtimeapi.ContainerMetadata{Name: "sidecar"},
		Image:    &runtimeapi.ImageSpec{Image: "sha256:" + strings.Repeat("b", 64)},
		ImageRef: "quay.io/team/proxy@sha256:5555",
	}, `{"privileged":false}`))

	// Privileged only under runtimeSpec, as Falco also reads it.
	specID := strings.Repeat("1", 64)
	f.set(specID, criResp(&runtimeapi.ContainerStatus{Image: &runtimeapi.ImageSpec{Image: "alpine:3.20"}},
		`{"runtimeSpec":{"linux":{"security_context":{"privileged":true}}}}`))

	// No verbose info, or info that is not JSON: privileged unknown.
	bareID := strings.Repeat("c", 64)
	f.set(bareID, criResp(&runtimeapi.ContainerStatus{Image: &runtimeapi.ImageSpec{Image: "busybox"}}, ""))
	badInfoID := strings.Repeat("2", 64)
	f.set(badInfoID, criResp(&runtimeapi.ContainerStatus{Image: &runtimeapi.ImageSpec{Image: "busybox"}}, "{not json"))

	// An empty status: everything unknown, no panic on the nil messages.
	emptyID := strings.Repeat("3", 64)
	f.set(emptyID, &runtimeapi.ContainerStatusResponse{})

	c := NewCRI(f.socket)
	defer c.Close()
	yes, no := true, false
	busybox := Metadata{Image: "busybox", ImageRepository: "busybox", ImageTag: "latest"}
	tests := []struct {
		name    string
		id      string
		want    Metadata
		wantErr string
		notFnd  bool
	}{
		{name: "containerd pod container, privileged", id: hexID, want: Metadata{Name: "web", Image: "docker.io/library/nginx:1.25.3",
			ImageRepository: "docker.io/library/nginx", ImageTag: "1.25.3", ImageDigest: "sha256:4444", Privileged: &yes,
			CreatedTS: 1763626542123456789, PodName: "web-1", PodUID: "uid-1", Namespace: "shop",
			Mounts: []event.Mount{
				{Source: "/etc", Dest: "/host/etc", RW: false, Propagation: "rslave"},
				{Source: "/var/lib/kubelet/pods/uid-1/volumes/data", Dest: "/data", RW: true, Propagation: "rprivate"},
			},
			SandboxID: sandboxID, PodLabels: map[string]string{"app": "web", "pod-template-hash": "7d9f8b"},
			HostNetwork: &yes, HostPID: &no, HostIPC: &no, IP: "10.244.1.7"}},
		{name: "cri-o, image from image_ref, not privileged", id: crioID, want: Metadata{Name: "sidecar", Image: "quay.io/team/proxy",
			ImageRepository: "quay.io/team/proxy", ImageTag: "latest", ImageDigest: "sha256:5555", Privileged: &no}},
		{name: "privileged from runtimeSpec", id: specID, want: Metadata{Image: "alpine:3.20", ImageRepository: "alpine",
			ImageTag: "3.20", Privileged: &yes}},
		{name: "no verbose info, privileged unknown", id: bareID, want: busybox},
		{name: "info not JSON, privileged unknown", id: badInfoID, want: busybox},
		{name: "empty status", id: emptyID, want: Metadata{}},
		{name: "unknown container", id: strings.Repeat("d", 64), wantErr: "not found", notFnd: true},
		{name: "not an id", id: "x", wantErr: "not 64 hex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := c.Fetch(context.Background(), ID{FullID: tt.id, Runtime: RuntimeContainerd})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || errors.Is(err, ErrNotFound) != tt.notFnd {
					t.Fatalf("err = %v, want %q (not found %v)", err, tt.wantErr, tt.notFnd)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !f.askedVerbose() {
				t.Error("request did not ask for verbose info")
			}
			labels := m.Labels
			m.Labels = nil
			if !metaEqual(m, tt.want) {
				t.Errorf("metadata =\n%+v (privileged %v)\nwant\n%+v (privileged %v)", m, deref(m.Privileged), tt.want, deref(tt.want.Privileged))
			}
			if tt.id == hexID && (len(labels) != 4 || labels["io.kubernetes.container.name"] != "web") {
				t.Errorf("labels = %v", labels)
			}
		})
	}
}

func metaEqual(a, b Metadata) bool {
	pa, pb := a.Privileged, b.Privileged
	a.Privileged, b.Privileged = nil, nil
	if (pa == nil) != (pb == nil) || (pa != nil && *pa != *pb) {
		return false
	}
	return a.Name == b.Name && a.Image == b.Image && a.ImageRepository == b.ImageRepository &&
		a.ImageTag == b.ImageTag && a.ImageDigest == b.ImageDigest && a.CreatedTS == b.CreatedTS &&
		a.PodName == b.PodName && a.PodUID == b.PodUID && a.Namespace == b.Namespace
}

func deref(p *bool) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestCRIServerDown: a runtime that is not listening is a retryable error
// naming the socket (never "not found"), and the same client reconnects
// once the runtime is back.
func TestCRIServerDown(t *testing.T) {
	f := newFakeCRI(t)
	id := ID{FullID: strings.Repeat("f", 64), Runtime: RuntimeContainerd}
	f.set(id.FullID, criResp(&runtimeapi.ContainerStatus{Metadata: &runtimeapi.ContainerMetadata{Name: "back"}}, ""))
	c := NewCRI(f.socket)
	defer c.Close()
	if _, err := c.Fetch(context.Background(), id); err != nil {
		t.Fatalf("runtime up: %v", err)
	}

	f.stop()
	_, err := c.Fetch(context.Background(), id)
	if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), f.socket) || status.Code(err) != codes.Unavailable {
		t.Fatalf("runtime down: err = %v, want UNAVAILABLE naming %s, not ErrNotFound", err, f.socket)
	}

	f.start(t)
	deadline := time.Now().Add(30 * time.Second) // hang guard only: grpc-go redials within its 5 s backoff
	for {
		m, err := c.Fetch(context.Background(), id)
		if err == nil {
			if m.Name != "back" {
				t.Fatalf("after restart: name = %q", m.Name)
			}
			break
		}
		if errors.Is(err, ErrNotFound) || time.Now().After(deadline) {
			t.Fatalf("after restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCRINoSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "absent.sock")
	c := NewCRI(sock)
	defer c.Close()
	_, err := c.Fetch(context.Background(), ID{FullID: strings.Repeat("0", 64)})
	if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), sock) {
		t.Fatalf("no socket: err = %v", err)
	}
}

// TestCRISlowServer: the caller's deadline ends a call the runtime does not
// answer; the error is the context's (retryable), not "not found".
func TestCRISlowServer(t *testing.T) {
	f := newFakeCRI(t)
	f.setHold(true)
	c := NewCRI(f.socket)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Fetch(ctx, ID{FullID: strings.Repeat("9", 64)})
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), f.socket) {
		t.Fatalf("err = %v, want context.DeadlineExceeded naming %s", err, f.socket)
	}
}

func TestCRIClosed(t *testing.T) {
	f := newFakeCRI(t)
	c := NewCRI(f.socket)
	c.Close()
	c.Close() // twice is harmless
	if _, err := c.Fetch(context.Background(), ID{FullID: strings.Repeat("8", 64)}); err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("fetch after Close: err = %v", err)
	}
}

// TestResolverCRI runs the resolver on a containerd socket: found, not
// found (ErrNotFound, which state never retries), and a runtime slower than
// the resolver's timeout (an error state retries).
func TestResolverCRI(t *testing.T) {
	f := newFakeCRI(t)
	found := strings.Repeat("e", 64)
	f.set(found, criResp(&runtimeapi.ContainerStatus{Metadata: &runtimeapi.ContainerMetadata{Name: "app"},
		Labels: map[string]string{"io.kubernetes.pod.namespace": "ns"}}, `{"privileged":true}`))
	none := filepath.Join(t.TempDir(), "none.sock")
	r := NewResolver(ResolverOptions{DockerSocket: none, PodmanSocket: none, ContainerdSocket: f.socket, CRIOSocket: none,
		Timeout: 200 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if !r.Serves(RuntimeContainerd) || r.Serves(RuntimeCRIO) || r.Serves(RuntimeDocker) {
		t.Fatal("the containerd socket did not select the CRI client alone")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	get := func(id string) Result {
		t.Helper()
		if !r.Request(ID{FullID: id, Runtime: RuntimeContainerd}) {
			t.Fatal("request refused")
		}
		select {
		case res := <-r.Results():
			if res.ID.FullID != id {
				t.Fatalf("result for %s, want %s", res.ID.FullID, id)
			}
			return res
		case <-time.After(10 * time.Second): // hang guard only
			t.Fatal("no result from the resolver")
		}
		return Result{}
	}

	res := get(found)
	if res.Err != nil || res.Meta.Name != "app" || res.Meta.Namespace != "ns" || res.Meta.Privileged == nil || !*res.Meta.Privileged {
		t.Fatalf("found: result = %+v", res)
	}
	if res := get(strings.Repeat("d", 64)); !errors.Is(res.Err, ErrNotFound) {
		t.Fatalf("unknown container: err = %v, want ErrNotFound", res.Err)
	}
	f.setHold(true)
	if res := get(found); res.Err == nil || errors.Is(res.Err, ErrNotFound) || !errors.Is(res.Err, context.DeadlineExceeded) {
		t.Fatalf("slow runtime: err = %v, want a deadline error, not ErrNotFound", res.Err)
	}
	if st := r.Stats(); st.Fetched != 1 || st.Failed != 2 {
		t.Fatalf("stats = %+v", st)
	}
}
