package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRedirectingSink: issue 16 item 4 against the binary. The sink answers
// 302 to a location that counts what reaches it. An output without
// follow_redirects dead-letters every alert with the Location in the error
// (nothing reaches the location: before, a body-less GET did and its 200
// counted as delivered); one with follow_redirects: true delivers every alert
// there as a POST with its body.
func TestRedirectingSink(t *testing.T) {
	dir := t.TempDir()
	addr, sinkAddr := freeAddr(t), freeAddr(t)
	var (
		mu    sync.Mutex
		posts = map[string]int{}
		other int
	)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/hook") {
			http.Redirect(w, r, "/final", http.StatusFound)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var a struct {
			UUID string `json:"uuid"`
		}
		mu.Lock()
		defer mu.Unlock()
		if r.Method != http.MethodPost || json.Unmarshal(b, &a) != nil || a.UUID == "" {
			other++
			return
		}
		posts[a.UUID]++
	})}
	l, err := net.Listen("tcp", sinkAddr)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	cfg := writeConfig(t, dir, fmt.Sprintf(`
listen: %s
queue: {dir: %s}
admin: {tokens: [adm]}
outputs:
  - name: strict
    type: webhook
    webhook: {url: "http://%s/hook/strict"}
  - name: follow
    type: webhook
    webhook: {url: "http://%s/hook/follow", follow_redirects: true}
`, addr, filepath.Join(dir, "queue"), sinkAddr, sinkAddr))
	router := startRouter(t, cfg, addr)
	const n = 20
	for i := range n {
		_, body := alertBody(i)
		if code := post(t, "http://"+addr+"/", body); code != 200 {
			t.Fatalf("post %d: %d", i, code)
		}
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		got := len(posts)
		mu.Unlock()
		dead := deadCount(t, addr, "strict")
		if got == n && dead == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("follow: %d of %d alerts reached the location; strict: %d dead letters", got, n, dead)
		}
	}
	stopRouter(t, router)
	out, err := exec.Command(routerBinary(t), "deadletter", "list", "--json", "--output", "strict", "--config", cfg).CombinedOutput()
	if err != nil {
		t.Fatalf("deadletter list: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != n || !strings.Contains(lines[0], `redirect 302 to \"http://`+sinkAddr+`/final\" not followed`) {
		t.Fatalf("strict: %d dead letters, want %d naming the Location:\n%s", len(lines), n, out)
	}
	mu.Lock()
	defer mu.Unlock()
	dups := 0
	for _, c := range posts {
		dups += c - 1
	}
	if other != 0 || dups != 0 {
		t.Errorf("the location got %d requests that were not the alert POSTed, and %d duplicates", other, dups)
	}
	t.Logf("%d acked to two outputs: strict dead-lettered %d with the Location, follow delivered %d by POST (0 lost, %d duplicated, %d body-less requests)", n, len(lines), len(posts), dups, other)
}

// deadCount lists output's dead letters through the admin API.
func deadCount(t *testing.T, addr, output string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+"/admin/deadletters?output="+output, nil)
	req.Header.Set("Authorization", "Bearer adm")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var dl []json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&dl); err != nil {
		t.Fatalf("admin list: %d %v", resp.StatusCode, err)
	}
	return len(dl)
}
