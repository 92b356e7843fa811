package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/router/internal/pgtest"
)

// TestReplicasShareUIHistory runs two router processes with the UI on one
// real PostgreSQL (state.postgres): an alert posted to one replica is
// found by the other one's UI, which keeps its history in the database.
func TestReplicasShareUIHistory(t *testing.T) {
	pg := pgtest.Start(t)
	dir := t.TempDir()
	dsnFile := filepath.Join(dir, "dsn")
	if err := os.WriteFile(dsnFile, []byte(pg.NewDB(t)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, sinkAddr := newBodySink(t)
	addrs := []string{freeAddr(t), freeAddr(t)}
	for i, addr := range addrs {
		rdir := filepath.Join(dir, fmt.Sprint("r", i))
		if err := mkdir(rdir); err != nil {
			t.Fatal(err)
		}
		cfg := writeConfig(t, rdir, fmt.Sprintf(`
listen: %s
admin: {tokens: [adm1n]}
queue: {dir: %s/q}
state: {postgres: {dsn_file: %s}}
outputs:
  - {name: es, type: webhook, record: true, webhook: {url: "http://%s/"}}
`, addr, rdir, dsnFile, sinkAddr))
		startRouter(t, cfg, addr)
	}
	ids := make([]string, 2)
	for i, addr := range addrs {
		id, body := replicaAlert(100+i, i, 2)
		ids[i] = id
		resp, err := http.Post("http://"+addr+"/", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("post to replica %d: %s", i, resp.Status)
		}
	}
	// Each replica's UI opens the alert the other one ingested.
	for i, addr := range addrs {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		resp, err := c.PostForm("http://"+addr+"/ui/login", url.Values{"token": {"adm1n"}, "name": {"alice"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		other := ids[1-i]
		deadline := time.Now().Add(30 * time.Second)
		for {
			resp, err := c.Get("http://" + addr + "/ui/alerts/" + other)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(string(body), fmt.Sprintf("alert %d", 100+1-i)) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica %d's UI never showed alert %s of the other replica: %s\n%.2000s", i, other, resp.Status, body)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}
