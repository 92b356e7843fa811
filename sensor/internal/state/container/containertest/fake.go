// Package containertest provides a fake Docker Engine API on a unix socket
// for tests of the container metadata path: real HTTP over a real socket,
// answering GET /containers/{id}/json and /images/{id}/json from canned
// JSON bodies.
package containertest

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Docker is a fake Engine API. Its zero value is not usable; call NewDocker.
type Docker struct {
	// Socket is the path of the listening unix socket.
	Socket string

	mu         sync.Mutex
	containers map[string]string
	images     map[string]string
	block      chan struct{}
	fail       atomic.Int32
	hits       atomic.Int32
}

// NewDocker starts a fake Engine API on a socket in a new short temporary
// directory (unix socket paths are limited to 108 bytes); it stops when the
// test ends.
func NewDocker(t testing.TB) *Docker {
	t.Helper()
	dir, err := os.MkdirTemp("", "dock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	d := &Docker{Socket: filepath.Join(dir, "docker.sock"), containers: map[string]string{}, images: map[string]string{}}
	ln, err := net.Listen("unix", d.Socket)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(d.serve))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() {
		d.Unblock()
		srv.Close()
	})
	return d
}

// AddContainer serves inspect (a JSON body) for the container's full id.
func (d *Docker) AddContainer(fullID, inspect string) {
	d.mu.Lock()
	d.containers[fullID] = inspect
	d.mu.Unlock()
}

// AddImage serves inspect (a JSON body) for the image id.
func (d *Docker) AddImage(id, inspect string) {
	d.mu.Lock()
	d.images[id] = inspect
	d.mu.Unlock()
}

// FailNext answers the next n requests with 500 {"message":"daemon busy"}.
func (d *Docker) FailNext(n int) { d.fail.Store(int32(n)) }

// Block makes container requests wait until Unblock.
func (d *Docker) Block() {
	d.mu.Lock()
	if d.block == nil {
		d.block = make(chan struct{})
	}
	d.mu.Unlock()
}

// Unblock releases blocked and future container requests.
func (d *Docker) Unblock() {
	d.mu.Lock()
	if d.block != nil {
		close(d.block)
		d.block = nil
	}
	d.mu.Unlock()
}

// Hits returns the number of requests served.
func (d *Docker) Hits() int { return int(d.hits.Load()) }

func (d *Docker) serve(w http.ResponseWriter, r *http.Request) {
	d.hits.Add(1)
	if d.fail.Load() > 0 {
		d.fail.Add(-1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(`{"message":"daemon busy"}`))
		return
	}
	var body string
	var ok bool
	p := r.URL.Path
	switch {
	case r.Method != http.MethodGet:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	case strings.HasPrefix(p, "/containers/") && strings.HasSuffix(p, "/json"):
		d.mu.Lock()
		block := d.block
		d.mu.Unlock()
		if block != nil {
			select {
			case <-block:
			case <-r.Context().Done():
				return
			}
		}
		d.mu.Lock()
		body, ok = d.containers[strings.TrimSuffix(strings.TrimPrefix(p, "/containers/"), "/json")]
		d.mu.Unlock()
	case strings.HasPrefix(p, "/images/") && strings.HasSuffix(p, "/json"):
		d.mu.Lock()
		body, ok = d.images[strings.TrimSuffix(strings.TrimPrefix(p, "/images/"), "/json")]
		d.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/json")
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"message":"No such container"}`))
		return
	}
	w.Write([]byte(body))
}
