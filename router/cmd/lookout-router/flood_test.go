package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// rssMiB reads a process's resident set size.
func rssMiB(t *testing.T, pid int) float64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.Atoi(f[1])
			return float64(kb) / 1024
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// getsThrough posts one alert until it is accepted (503s from the limits
// are expected under a flood) and fails after bound.
func getsThrough(t *testing.T, addr string, i int, bound time.Duration) {
	t.Helper()
	id, body := alertBody(i)
	c := &http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(bound)
	last := ""
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest("POST", "http://"+addr+"/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "bearer s3cret") // lower case: the scheme is case-insensitive
		resp, err := c.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && strings.Contains(string(b), id) {
				return
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, b)
		} else {
			last = err.Error()
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("a normal client never got through the flood (last: %s)", last)
}

// TestSlowAndIdleClientFloods: issue 16 item 5 against the real binary.
// 300 authenticated clients each send the headers and all but the last byte
// of a ~1 MB body and hold it; then 600 connections open and stay idle.
// The router's memory must stay bounded (it grew by ~350 MB before: every
// slow body was buffered for as long as the client liked), the clients past
// server.max_requests and server.max_connections must be refused, idle
// connections closed, and a normal client must get through.
func TestSlowAndIdleClientFloods(t *testing.T) {
	dir := t.TempDir()
	addr, sinkAddr := freeAddr(t), freeAddr(t)
	sink := newCountingSink(t, sinkAddr, 0)
	cfg := writeConfig(t, dir, fmt.Sprintf(`
listen: %s
auth: {tokens: [s3cret]}
queue: {dir: %s}
server: {max_requests: 16, max_connections: 200, body_timeout: 3s, read_header_timeout: 3s, idle_timeout: 3s}
outputs:
  - name: sink
    type: webhook
    webhook: {url: "http://%s/hook"}
`, addr, filepath.Join(dir, "queue"), sinkAddr))
	router := startRouter(t, cfg, addr)
	pid := router.Process.Pid
	before := rssMiB(t, pid)

	// Slow clients: at most 150 at once so they fit under max_connections
	// with room for the normal client; 300 in all.
	const slow, bodySize = 300, 1000 << 10
	chunk := []byte(strings.Repeat(" ", 64<<10))
	var (
		wg               sync.WaitGroup
		mu               sync.Mutex
		refused, dropped int
		peak             float64
		sem              = make(chan struct{}, 150)
	)
	for i := range slow {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(30 * time.Second))
			fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", bodySize)
			for sent := 0; sent+len(chunk) < bodySize; sent += len(chunk) {
				if _, err := c.Write(chunk); err != nil {
					break
				}
			}
			line, _ := bufio.NewReader(c).ReadString('\n') // the answer: 503 now, or 400/408 after body_timeout
			mu.Lock()
			if strings.Contains(line, " 503 ") {
				refused++
			} else {
				dropped++
			}
			if i%20 == 0 {
				peak = max(peak, rssMiB(t, pid))
			}
			mu.Unlock()
		})
	}
	getsThrough(t, addr, 1, 60*time.Second)
	wg.Wait()
	peak = max(peak, rssMiB(t, pid))

	// Idle clients: 600 connections that never send a request.
	var idle []net.Conn
	for range 600 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		idle = append(idle, c)
	}
	getsThrough(t, addr, 2, 60*time.Second)
	closed := 0
	for _, c := range idle {
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		// The router answers (503 past the cap) or closes the connection
		// (read_header_timeout); only our own read deadline means it is open.
		_, err := c.Read(make([]byte, 512))
		if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
			closed++
		}
		c.Close()
	}
	peak = max(peak, rssMiB(t, pid))
	sink.waitFor(t, []string{mustID(1), mustID(2)}, 30*time.Second)
	stopRouter(t, router)
	t.Logf("RSS %.0f MiB before, peak %.0f MiB; %d slow clients (~1 MB bodies held): %d refused with 503, %d cut by body_timeout; %d idle connections all answered or closed",
		before, peak, slow, refused, dropped, len(idle))
	if peak-before > 150 {
		t.Errorf("RSS grew from %.0f to %.0f MiB under the slow-client flood; max_requests=16 bounds it to about 16 bodies", before, peak)
	}
	if refused == 0 {
		t.Error("no slow client was refused: max_requests is not enforced")
	}
	if closed != len(idle) {
		t.Errorf("%d of %d idle connections still open", len(idle)-closed, len(idle))
	}
}

func mustID(i int) string { id, _ := alertBody(i); return id }
