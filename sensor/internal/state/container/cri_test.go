package container

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeCRI is a CRI endpoint on a unix socket speaking gRPC over HTTP/2
// without TLS, as containerd and cri-o do, answering ContainerStatus from a
// table of encoded responses.
type fakeCRI struct {
	socket   string
	mu       sync.Mutex
	statuses map[string][]byte // container id -> ContainerStatusResponse
	verbose  bool              // the last request asked for verbose info
}

func (f *fakeCRI) set(id string, resp []byte) {
	f.mu.Lock()
	f.statuses[id] = resp
	f.mu.Unlock()
}

func (f *fakeCRI) askedVerbose() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.verbose
}

func newFakeCRI(t *testing.T) *fakeCRI {
	t.Helper()
	dir, err := os.MkdirTemp("", "cri")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	f := &fakeCRI{socket: filepath.Join(dir, "containerd.sock"), statuses: map[string][]byte{}}
	ln, err := net.Listen("unix", f.socket)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(f.serve), Protocols: new(http.Protocols)}
	srv.Protocols.SetUnencryptedHTTP2(true) // HTTP/2 only, with prior knowledge
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return f
}

func (f *fakeCRI) serve(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor != 2 || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/grpc" {
		http.Error(w, "not gRPC", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/grpc")
	if r.URL.Path != criStatusPath {
		w.Header().Set("Grpc-Status", "12") // UNIMPLEMENTED, trailers-only
		w.Header().Set("Grpc-Message", "unknown method "+r.URL.Path)
		w.WriteHeader(http.StatusOK)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var id string
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(body) >= 5 {
		walkProto(body[5:], func(n, wt int, v uint64, d []byte) error {
			if n == 1 && wt == 2 {
				id = string(d)
			}
			if n == 2 && wt == 0 {
				f.verbose = v == 1
			}
			return nil
		})
	}
	resp, ok := f.statuses[id]
	if !ok {
		w.Header().Set("Grpc-Status", "5") // NOT_FOUND, trailers-only
		w.Header().Set("Grpc-Message", "container \""+id+"\" in namespace \"k8s.io\": not found")
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Trailer", "Grpc-Status, Grpc-Message")
	w.WriteHeader(http.StatusOK)
	frame := make([]byte, 5, 5+len(resp))
	binary.BigEndian.PutUint32(frame[1:], uint32(len(resp)))
	w.Write(append(frame, resp...))
	w.Header().Set("Grpc-Status", "0")
	w.Header().Set("Grpc-Message", "")
}

// Protobuf encoding helpers for the fake's responses (field numbers from
// k8s.io/cri-api runtime/v1/api.proto).
func pbMsg(b []byte, num int, msg []byte) []byte {
	b = binary.AppendUvarint(b, uint64(num)<<3|2)
	b = binary.AppendUvarint(b, uint64(len(msg)))
	return append(b, msg...)
}

func pbVarint(b []byte, num int, v uint64) []byte {
	b = binary.AppendUvarint(b, uint64(num)<<3)
	return binary.AppendUvarint(b, v)
}

func pbMap(b []byte, num int, kv map[string]string) []byte {
	for k, v := range kv {
		b = pbMsg(b, num, appendProtoString(appendProtoString(nil, 1, k), 2, v))
	}
	return b
}

func TestCRIFetch(t *testing.T) {
	f := newFakeCRI(t)
	const hexID = "3f4e2d1c0b9a8f7e6d5c4b3a29180716f5e4d3c2b1a09f8e7d6c5b4a39281706"
	containerdInfo := `{"sandboxID":"9a8b","pid":4242,"config":{"metadata":{"name":"web"},"linux":{"security_context":{"privileged":true}}},"runtimeSpec":{"linux":{}}}`
	var st []byte
	st = appendProtoString(st, 1, hexID)
	st = pbMsg(st, 2, appendProtoString(pbVarint(nil, 2, 0), 1, "web")) // metadata {attempt, name}
	st = pbVarint(st, 3, 1)                                             // state RUNNING
	st = pbVarint(st, 4, 1763626542123456789)                           // created_at
	st = pbMsg(st, 8, appendProtoString(nil, 1, "docker.io/library/nginx:1.25.3"))
	st = appendProtoString(st, 9, "docker.io/library/nginx@sha256:4444")
	st = pbMap(st, 12, map[string]string{"io.kubernetes.pod.name": "web-1", "io.kubernetes.pod.namespace": "shop",
		"io.kubernetes.pod.uid": "uid-1", "io.kubernetes.container.name": "web"})
	st = pbMap(st, 13, map[string]string{"io.kubernetes.container.hash": "abc"})
	st = append(st, 0x2d, 1, 2, 3, 4) // a fixed32 field (wire type 5) is skipped
	f.set(hexID, pbMap(pbMsg(nil, 1, st), 2, map[string]string{"info": containerdInfo}))

	// cri-o: image given by id, the name only in image_ref; privileged at the top of info.
	crioID := strings.Repeat("a", 64)
	var st2 []byte
	st2 = pbMsg(st2, 2, appendProtoString(nil, 1, "sidecar"))
	st2 = pbMsg(st2, 8, appendProtoString(nil, 1, "sha256:"+strings.Repeat("b", 64)))
	st2 = appendProtoString(st2, 9, "quay.io/team/proxy@sha256:5555")
	f.set(crioID, pbMap(pbMsg(nil, 1, st2), 2, map[string]string{"info": `{"privileged":false}`}))

	// No verbose info: privileged unknown.
	bareID := strings.Repeat("c", 64)
	f.set(bareID, pbMsg(nil, 1, pbMsg(nil, 8, appendProtoString(nil, 1, "busybox"))))

	c := NewCRI(f.socket)
	defer c.Close()
	yes, no := true, false
	tests := []struct {
		name    string
		id      string
		want    Metadata
		wantErr string
		notFnd  bool
	}{
		{name: "containerd pod container", id: hexID, want: Metadata{Name: "web", Image: "docker.io/library/nginx:1.25.3",
			ImageRepository: "docker.io/library/nginx", ImageTag: "1.25.3", ImageDigest: "sha256:4444", Privileged: &yes,
			CreatedTS: 1763626542123456789, PodName: "web-1", PodUID: "uid-1", Namespace: "shop"}},
		{name: "cri-o, image from image_ref", id: crioID, want: Metadata{Name: "sidecar", Image: "quay.io/team/proxy",
			ImageRepository: "quay.io/team/proxy", ImageTag: "latest", ImageDigest: "sha256:5555", Privileged: &no}},
		{name: "no verbose info", id: bareID, want: Metadata{Image: "busybox", ImageRepository: "busybox", ImageTag: "latest"}},
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
			if tt.id == hexID && labels["io.kubernetes.container.name"] != "web" {
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

func TestCRIErrors(t *testing.T) {
	f := newFakeCRI(t)
	c := NewCRI(f.socket)
	defer c.Close()
	if _, err := c.unary(context.Background(), "/runtime.v1.RuntimeService/Nope", nil); err == nil || !strings.Contains(err.Error(), "gRPC status 12") {
		t.Fatalf("unimplemented method: err = %v", err)
	}
	const id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	f.set(id, []byte{0x0a, 0x05, 0x01}) // status field claims 5 bytes, has 1
	if _, err := c.Fetch(context.Background(), ID{FullID: id}); err == nil || !strings.Contains(err.Error(), "bad length") {
		t.Fatalf("truncated message: err = %v", err)
	}
	os.Remove(f.socket)
	if _, err := NewCRI(f.socket).Fetch(context.Background(), ID{FullID: id}); err == nil || !strings.Contains(err.Error(), f.socket) {
		t.Fatalf("no socket: err = %v", err)
	}
}

func FuzzParseStatusResponse(f *testing.F) {
	f.Add(pbMsg(nil, 1, pbMsg(appendProtoString(nil, 9, "a@sha256:1"), 2, appendProtoString(nil, 1, "n"))))
	f.Add([]byte{0x0a, 0x05, 0x01})
	f.Add(pbMap(nil, 2, map[string]string{"info": `{"privileged":true}`}))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := parseStatusResponse(b)
		if err == nil {
			infoPrivileged(st.info["info"])
		}
	})
}

func TestResolverCRI(t *testing.T) {
	f := newFakeCRI(t)
	id := strings.Repeat("e", 64)
	f.set(id, pbMsg(nil, 1, pbMsg(nil, 2, appendProtoString(nil, 1, "app"))))
	none := filepath.Join(t.TempDir(), "none.sock")
	r := NewResolver(ResolverOptions{DockerSocket: none, PodmanSocket: none, ContainerdSocket: f.socket, CRIOSocket: none,
		Logger: slog.New(slog.DiscardHandler)})
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
	if !r.Request(ID{FullID: id, Runtime: RuntimeContainerd}) {
		t.Fatal("request refused")
	}
	select {
	case res := <-r.Results():
		if res.Err != nil || res.Meta.Name != "app" {
			t.Fatalf("result = %+v", res)
		}
	case <-time.After(10 * time.Second): // hang guard only
		t.Fatal("no result from the resolver")
	}
}
