package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// sink is a local webhook destination counting what it accepts.
type sink struct {
	addr    string
	srv     *http.Server
	n       atomic.Int64
	mu      sync.Mutex
	first   time.Time
	last    time.Time
	latency time.Duration
	hang    bool
	// With one request in flight at a time (concurrency 1), gap is the time
	// from an answer to the next request: the router's turnaround per alert.
	gaps, gapN    time.Duration
	slept, sleepN time.Duration
}

func newSink(latency time.Duration, hang bool) (*sink, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &sink{addr: l.Addr().String(), latency: latency, hang: hang}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.handle)}
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

func (s *sink) handle(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	s.mu.Lock()
	if !s.last.IsZero() {
		s.gaps += arrived.Sub(s.last)
		s.gapN++
	}
	s.mu.Unlock()
	_, _ = io.Copy(io.Discard, r.Body)
	if s.hang {
		<-r.Context().Done()
		return
	}
	if s.latency > 0 {
		t := time.Now()
		time.Sleep(s.latency)
		s.mu.Lock()
		s.slept += time.Since(t)
		s.sleepN++
		s.mu.Unlock()
	}
	now := time.Now()
	s.mu.Lock()
	if s.first.IsZero() {
		s.first = now
	}
	s.last = now
	s.mu.Unlock()
	s.n.Add(1)
}

func (s *sink) close() { _ = s.srv.Close() }

// turnaround returns the mean gap from an answer to the next request and
// the mean time the sink's sleep took.
func (s *sink) turnaround() (gap, sleep time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gapN > 0 {
		gap = s.gaps / s.gapN
	}
	if s.sleepN > 0 {
		sleep = s.slept / s.sleepN
	}
	return gap, sleep
}

// routerProc is a running lookout-router.
type routerProc struct {
	cmd  *exec.Cmd
	addr string
	dir  string
}

type outputSpec struct {
	name, url   string
	concurrency int
	timeout     string
}

func startRouter(ctx context.Context, o options, outs []outputSpec) (*routerProc, error) {
	dir, err := os.MkdirTemp("", "lookout-bench")
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	qdir := ""
	if o.durable {
		qdir = filepath.Join(dir, "queue")
	}
	var b strings.Builder
	queue := fmt.Sprintf("dir: %q", qdir) // max_bytes: the default (1 GiB durable, 32 MiB in memory) unless -max-bytes
	if o.maxBytes != "" {
		queue += fmt.Sprintf(", max_bytes: %q", o.maxBytes)
	}
	fmt.Fprintf(&b, "listen: %s\nqueue: {%s}\n", addr, queue)
	if o.cpuProfile != "" {
		fmt.Fprintf(&b, "admin: {tokens: [%s], pprof: true}\nui: {enabled: false}\n", profileToken)
	}
	if o.stateDSN != "" {
		fmt.Fprintf(&b, "state: {postgres: {dsn: %q}}\n", o.stateDSN)
	}
	notify := "notify: all"
	switch o.noise {
	case "off":
		b.WriteString("noise: {enabled: false}\n")
	case "new":
		notify = "notify: new"
	case "record":
		notify = "record: true"
	}
	b.WriteString("outputs:\n")
	for _, out := range outs {
		fmt.Fprintf(&b, "  - name: %s\n    type: webhook\n    %s\n    concurrency: %d\n    timeout: %s\n    retry: {initial_backoff: 20ms, max_backoff: 100ms}\n    webhook: {url: %q, timeout: 1m}\n",
			out.name, notify, out.concurrency, out.timeout, out.url)
	}
	cfg := filepath.Join(dir, "router.yaml")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, o.router, "--config", cfg, "--log-level", "error")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", o.router, err)
	}
	r := &routerProc{cmd: cmd, addr: addr, dir: dir}
	for range 200 {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return r, nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	r.stop(false)
	return nil, fmt.Errorf("router did not answer on %s", addr)
}

const profileToken = "loadgen-profile"

// profile fetches the router's CPU profile over d into file.
func (r *routerProc) profile(ctx context.Context, d time.Duration, file string) error {
	url := fmt.Sprintf("http://%s/admin/debug/pprof/profile?seconds=%d", r.addr, max(int(d.Seconds()), 1))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+profileToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("cpu profile: %s", resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// commits reads the router's queue commit metrics: commits, mean seconds
// and mean writes per commit.
func (r *routerProc) commits() (n, meanSec, meanWrites float64) {
	resp, err := http.Get("http://" + r.addr + "/metrics")
	if err != nil {
		return 0, 0, 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	val := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 2 && strings.HasPrefix(f[0], "lookout_router_queue_commit_") {
			val[f[0]], _ = strconv.ParseFloat(f[1], 64)
		}
	}
	n = val["lookout_router_queue_commit_seconds_count"]
	if n == 0 {
		return 0, 0, 0
	}
	return n, val["lookout_router_queue_commit_seconds_sum"] / n, val["lookout_router_queue_commit_writes_sum"] / n
}

// peakRSS reads the router's VmHWM from /proc in MiB.
func (r *routerProc) peakRSS() float64 { return r.status()["VmHWM:"] }

// status reads the router's /proc/PID/status memory lines in MiB: VmHWM
// (peak resident), RssAnon (heap, stacks) and RssFile (mapped file pages:
// the bbolt file's, reclaimable).
func (r *routerProc) status() map[string]float64 {
	out := map[string]float64{}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", r.cmd.Process.Pid))
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && (strings.HasPrefix(f[0], "Vm") || strings.HasPrefix(f[0], "Rss")) {
			kb, _ := strconv.ParseFloat(f[1], 64)
			out[f[0]] = kb / 1024
		}
	}
	return out
}

func (r *routerProc) stop(keep bool) {
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	if !keep {
		_ = os.RemoveAll(r.dir)
	}
}

var bodyPrefix = `{"hostname":"bench-host","output":"2016-08-04T16:17:57.881781397+0000: Warning An open was seen (command=cat /dev/null)","priority":"Warning","rule":"open_from_cat","source":"syscall","tags":["filesystem","process","testing"],"time":"2016-08-04T16:17:57.881781397Z","output_fields":{"evt.time.iso8601":1470327477881781397,"proc.cmdline":"cat /dev/null"},"uuid":"`

func body(i int64) string {
	return fmt.Sprintf("%s00000000-0000-4000-8000-%012d\"}", bodyPrefix, i)
}

// loadResult is what a load run measured.
type loadResult struct {
	sent, ok, full, other int64
	elapsed               time.Duration
	lat                   []time.Duration // of 2xx answers
}

// load posts single alerts from o.clients clients for o.duration (or until
// total alerts were sent when total > 0).
// With batch > 1 each request posts batch alerts as NDJSON to /v1/alerts
// (the sensor's path); counts are in alerts, latencies per request.
// load posts from clients connections for d (or until total alerts are
// sent). With rate > 0 the requests follow a fixed schedule of rate
// requests/s spread over the clients (open loop), and a request's latency
// counts from its scheduled time, so time spent waiting for a late answer
// is not hidden (no coordinated omission).
func load(ctx context.Context, addr string, clients int, d time.Duration, total int64, batch int, rate float64) loadResult {
	batch = max(batch, 1)
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	var (
		res  loadResult
		next atomic.Int64
		mu   sync.Mutex
		wg   sync.WaitGroup
	)
	start := time.Now()
	end := start.Add(d)
	for k := range clients {
		wg.Go(func() {
			var lat []time.Duration
			var ok, full, other int64
			for n := 0; ctx.Err() == nil && (total > 0 || time.Now().Before(end)); n++ {
				var due time.Time
				if rate > 0 {
					due = start.Add(time.Duration(float64(n*clients+k) / rate * float64(time.Second)))
					if !due.Before(end) {
						break
					}
					time.Sleep(time.Until(due))
				}
				i := next.Add(int64(batch)) - int64(batch) + 1
				if total > 0 && i > total {
					break
				}
				url, payload := "http://"+addr+"/", body(i)
				if batch > 1 {
					var b strings.Builder
					for j := range int64(batch) {
						b.WriteString(body(i + j))
						b.WriteByte('\n')
					}
					url, payload = "http://"+addr+"/v1/alerts", b.String()
				}
				t0 := time.Now()
				if rate > 0 {
					t0 = due
				}
				resp, err := client.Post(url, "application/json", strings.NewReader(payload))
				if err != nil {
					other += int64(batch)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch {
				case resp.StatusCode/100 == 2:
					ok += int64(batch)
					lat = append(lat, time.Since(t0))
				case resp.StatusCode == 503:
					full += int64(batch)
				default:
					other += int64(batch)
				}
			}
			mu.Lock()
			res.ok += ok
			res.full += full
			res.other += other
			res.lat = append(res.lat, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.sent = res.ok + res.full + res.other
	return res
}

func listenSinkAt(addr string, latency time.Duration) (*sink, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &sink{addr: addr, latency: latency}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.handle)}
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}
