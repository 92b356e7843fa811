package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/router/internal/pgtest"
)

// bodySink keeps, per uuid, how often an alert arrived and the alert.
type bodySink struct {
	mu     sync.Mutex
	count  map[string]int
	alerts map[string]map[string]any
}

func newBodySink(t *testing.T) (*bodySink, string) {
	t.Helper()
	s := &bodySink{count: map[string]int{}, alerts: map[string]map[string]any{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var a map[string]any
		if err := json.Unmarshal(b, &a); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		id, _ := a["uuid"].(string)
		s.mu.Lock()
		s.count[id]++
		s.alerts[id] = a
		s.mu.Unlock()
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s, l.Addr().String()
}

// distinct returns, per value of key(alert), the distinct uuids that
// arrived, and how many deliveries repeated a uuid.
func (s *bodySink) distinct(key func(map[string]any) string) (map[string][]string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]string{}
	dups := 0
	for id, a := range s.alerts {
		k := key(a)
		out[k] = append(out[k], id)
		dups += s.count[id] - 1
	}
	return out, dups
}

func (s *bodySink) has(ids []string) (missing int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if s.count[id] == 0 {
			missing++
		}
	}
	return missing
}

func replicaAlert(i, finding, rules int) (string, string) {
	id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
	return id, fmt.Sprintf(`{"hostname":"node-%d","output":"alert %d","output_fields":{"k8s.ns.name":"dev","proc.exepath":"/bin/p%d","proc.pid":%d},"priority":"Warning","rule":"rule %d","source":"syscall","tags":[],"time":"2026-12-03T10:00:00.000000000Z","uuid":%q}`,
		i%7, i, finding, i, finding%rules, id)
}

// TestReplicasShareNoiseState runs three router processes on one real
// PostgreSQL. Clients post one stream of alerts to random replicas
// (another replica on a connection error, as the sensor does); one
// replica is SIGKILLed mid-stream and restarted. Every acked alert reaches
// the record output; the notify-new output hears of each finding by one
// alert, the grouped output gets one digest per group, and a uuid
// delivered twice (only possible for alerts in flight at the kill) is
// counted.
func TestReplicasShareNoiseState(t *testing.T) {
	pg := pgtest.Start(t)
	dsn := pg.NewDB(t)
	dir := t.TempDir()
	notify, notifyAddr := newBodySink(t)
	digest, digestAddr := newBodySink(t)
	record, recordAddr := newBodySink(t)
	dsnFile := filepath.Join(dir, "dsn")
	if err := os.WriteFile(dsnFile, []byte(dsn+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const replicas = 3
	addrs := make([]string, replicas)
	cfgs := make([]string, replicas)
	routers := make([]*os.Process, replicas)
	for i := range replicas {
		addrs[i] = freeAddr(t)
		rdir := filepath.Join(dir, fmt.Sprint("r", i))
		if err := mkdir(rdir); err != nil {
			t.Fatal(err)
		}
		cfgs[i] = writeConfig(t, rdir, fmt.Sprintf(`
listen: %s
queue: {dir: %s/q}
state: {postgres: {dsn_file: %s}}
outputs:
  - {name: slack, type: webhook, notify: new, retry: {initial_backoff: 10ms, max_backoff: 200ms}, webhook: {url: "http://%s/"}}
  - {name: chat, type: webhook, group_by: [rule], group_wait: 1s, group_interval: 1h, webhook: {url: "http://%s/"}}
  - {name: es, type: webhook, record: true, retry: {initial_backoff: 10ms, max_backoff: 200ms}, webhook: {url: "http://%s/"}}
`, addrs[i], rdir, dsnFile, notifyAddr, digestAddr, recordAddr))
		routers[i] = startRouter(t, cfgs[i], addrs[i]).Process
	}

	const nAlerts, nFindings, nRules, clients = 1200, 40, 4, 4
	var (
		mu     sync.Mutex
		acked  []string
		next   atomic.Int64
		killed = make(chan struct{})
		once   sync.Once
		wg     sync.WaitGroup
	)
	client := &http.Client{Timeout: 30 * time.Second}
	for c := range clients {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(c), 18))
			for {
				i := int(next.Add(1))
				if i > nAlerts {
					return
				}
				id, body := replicaAlert(i, r.IntN(nFindings), nRules)
				for attempt := 0; ; attempt++ {
					resp, err := client.Post("http://"+addrs[r.IntN(replicas)]+"/", "application/json", strings.NewReader(body))
					if err == nil {
						resp.Body.Close()
						if resp.StatusCode/100 == 2 {
							mu.Lock()
							acked = append(acked, id)
							if len(acked) == nAlerts/3 {
								once.Do(func() { close(killed) })
							}
							mu.Unlock()
							break
						}
					}
					if attempt > 200 {
						t.Errorf("alert %s: no replica took it", id)
						return
					}
					time.Sleep(10 * time.Millisecond) // then another replica, at random
				}
			}
		})
	}
	<-killed
	if err := routers[1].Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = routers[1].Wait()
	wg.Wait()
	startRouter(t, cfgs[1], addrs[1]) // its queue drains

	mu.Lock()
	ackedNow := append([]string(nil), acked...)
	mu.Unlock()
	if len(ackedNow) != nAlerts {
		t.Fatalf("%d of %d alerts acked", len(ackedNow), nAlerts)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for record.has(ackedNow) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d acked alerts never reached the record output", record.has(ackedNow))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The digests: one per group (group_interval 1h: no second one).
	for {
		byRule, _ := digest.distinct(func(a map[string]any) string { return a["rule"].(string) })
		if len(byRule) == nRules || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // a second digest or notification would have come by now

	findings, notifyDups := notify.distinct(func(a map[string]any) string {
		return a["output_fields"].(map[string]any)["proc.exepath"].(string)
	})
	groups, digestDups := digest.distinct(func(a map[string]any) string { return a["rule"].(string) })
	_, recordDups := record.distinct(func(map[string]any) string { return "" })
	t.Logf("replicas=%d alerts=%d findings=%d notified_findings=%d digests_groups=%d duplicates: notify=%d digest=%d record=%d",
		replicas, nAlerts, nFindings, len(findings), len(groups), notifyDups, digestDups, recordDups)
	if len(findings) != nFindings {
		t.Errorf("notify-new output heard of %d findings, want %d", len(findings), nFindings)
	}
	for f, ids := range findings {
		if len(ids) != 1 {
			t.Errorf("finding %s notified by %d alerts, want 1: %v", f, len(ids), ids)
		}
	}
	if len(groups) != nRules {
		t.Errorf("grouped output got digests for %d groups, want %d", len(groups), nRules)
	}
	for g, ids := range groups {
		if len(ids) != 1 {
			t.Errorf("group %s: %d digests, want 1", g, len(ids))
		}
	}
}
