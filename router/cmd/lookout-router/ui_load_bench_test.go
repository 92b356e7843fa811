package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// BenchmarkUIUnderLoad posts alerts at a steady 1,000 alerts/s (a batch
// of 50 every 50 ms, at most 8 requests in flight) to the real binary for
// LOOKOUT_UI_LOAD_DURATION (default 20s) in three set-ups: the UI off, the
// UI on with nobody watching, and the UI on with headless Chromium keeping
// the live page open. It reports the ingest rate reached and the batch
// latency; with the browser, the page's event-loop lag (a 50 ms timer in
// the page, how late it fires) and how long a filter change takes to show
// its first matching row (debounce, reconnect and the next 500 ms batch
// included). Run it under flock /tmp/bench.lock (make bench-ui-load) and
// quote the load average with the figures (docs/ui.md).
func BenchmarkUIUnderLoad(b *testing.B) {
	d := 20 * time.Second
	if s := os.Getenv("LOOKOUT_UI_LOAD_DURATION"); s != "" {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			b.Fatalf("LOOKOUT_UI_LOAD_DURATION: %v", err)
		}
	}
	for _, mode := range []string{"ui=off", "ui=on", "ui=on+live-page"} {
		b.Run(mode, func(b *testing.B) {
			for range b.N {
				loadRun(b, mode, d)
			}
		})
	}
}

func loadRun(b *testing.B, mode string, d time.Duration) {
	dir := b.TempDir()
	addr := freeAddr(b)
	ui := "true"
	if mode == "ui=off" {
		ui = "false"
	}
	cfg := writeConfig(b, dir, fmt.Sprintf(`
listen: %s
admin: {tokens: [adm1n]}
queue: {dir: %s/q}
ui: {enabled: %s}
outputs:
  - {name: out, type: stdout}
`, addr, dir, ui))
	router := startRouter(b, cfg, addr)

	var (
		ctx  context.Context
		page *loadPage
	)
	var idle []time.Duration
	if mode == "ui=on+live-page" {
		ctx = browser(b)
		page = openLive(b, ctx, addr)
		time.Sleep(3 * time.Second) // the page's timer with no alerts coming
		idle = page.lag()
		_ = page.eval(`window.__lag = []; 0`)
	}
	b.ResetTimer()
	stop := make(chan struct{})
	var (
		gen     loadResult
		genDone = make(chan struct{})
	)
	cpu0 := cpuSeconds(b, router.Process.Pid)
	go func() { gen = generate(addr, stop); close(genDone) }()
	var filters []time.Duration
	if page != nil {
		time.Sleep(2 * time.Second) // the stream runs at full rate
		deadline := time.Now().Add(d - 2*time.Second)
		for i := 0; time.Now().Before(deadline); i++ {
			filters = append(filters, page.filterChange(fmt.Sprintf("rare%d", i%2)))
			time.Sleep(500 * time.Millisecond)
		}
	} else {
		time.Sleep(d)
	}
	close(stop)
	<-genDone
	cpu := cpuSeconds(b, router.Process.Pid) - cpu0
	b.StopTimer()
	b.ReportMetric(100*cpu/gen.elapsed.Seconds(), "router-cpu-%")

	b.ReportMetric(gen.rate(), "alerts/s")
	b.ReportMetric(ms(gen.behind), "behind-schedule-max-ms")
	b.ReportMetric(float64(gen.failed), "failed-batches")
	b.ReportMetric(ms(pct(gen.lat, 50)), "batch-p50-ms")
	b.ReportMetric(ms(pct(gen.lat, 99)), "batch-p99-ms")
	if mode != "ui=off" {
		// Let the history writer finish what is queued, then count.
		time.Sleep(2 * time.Second)
		b.ReportMetric(metric(b, addr, "lookout_ui_history_written_total"), "history-written")
		b.ReportMetric(metric(b, addr, "lookout_ui_history_dropped_total"), "history-dropped")
	}
	if page != nil {
		lag := page.lag()
		b.ReportMetric(ms(pct(idle, 99)), "page-lag-idle-p99-ms")
		b.ReportMetric(ms(pct(lag, 99)), "page-lag-p99-ms")
		b.ReportMetric(ms(pct(lag, 100)), "page-lag-max-ms")
		b.ReportMetric(ms(pct(filters, 50)), "filter-p50-ms")
		b.ReportMetric(ms(pct(filters, 100)), "filter-max-ms")
		b.Logf("%s: %d filter changes; status %q; %d rows", mode, len(filters), page.status(), page.rows())
	}
}

type loadResult struct {
	sent, failed int64
	behind       time.Duration // how far the posts fell behind their schedule, at most
	lat          []time.Duration
	elapsed      time.Duration
}

func (r loadResult) rate() float64 { return float64(r.sent) / r.elapsed.Seconds() }

// generate posts a batch of 50 alerts every 50 ms of a fixed schedule
// until stop: 1,000 alerts/s. At most 8 requests are in flight; when the
// router answers too slowly the posts fall behind the schedule (reported)
// and the rate reached drops below 1,000/s.
func generate(addr string, stop <-chan struct{}) loadResult {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	var (
		mu sync.Mutex
		r  loadResult
		wg sync.WaitGroup
	)
	slots := make(chan struct{}, 8)
	start := time.Now()
	done := func() loadResult {
		wg.Wait()
		r.elapsed = time.Since(start)
		return r
	}
	for n := 0; ; n++ {
		next := start.Add(time.Duration(n) * 50 * time.Millisecond)
		if d := time.Until(next); d > 0 {
			select {
			case <-stop:
				return done()
			case <-time.After(d):
			}
		}
		select {
		case <-stop:
			return done()
		case slots <- struct{}{}:
		}
		r.behind = max(r.behind, time.Since(next))
		wg.Add(1)
		go func(n int) {
			defer func() { <-slots; wg.Done() }()
			body := loadBatch(n, 50)
			t0 := time.Now()
			resp, err := client.Post("http://"+addr+"/v1/alerts", "application/x-ndjson", strings.NewReader(body))
			lat := time.Since(t0)
			ok := err == nil && resp.StatusCode == http.StatusOK
			if resp != nil {
				resp.Body.Close()
			}
			mu.Lock()
			defer mu.Unlock()
			if !ok {
				r.failed++
				return
			}
			r.lat = append(r.lat, lat)
			r.sent += 50
		}(n)
	}
}

// loadBatch is n alerts of 5 rules over 40 workloads; one in ten carries
// the word rare0, another rare1 (the filter changes look for them).
func loadBatch(batch, n int) string {
	rules := []string{"Terminal shell in container", "Read sensitive file untrusted", "Write below etc", "Contact K8S API Server From Container", "Drop and execute new binary in container"}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	var s strings.Builder
	for i := range n {
		k := batch*n + i
		word := ""
		switch k % 10 {
		case 3:
			word = " rare0"
		case 7:
			word = " rare1"
		}
		fmt.Fprintf(&s, `{"hostname":"node-%d","output":"load %d pid=%d%s","output_fields":{"k8s.ns.name":"team-%d","k8s.workload.name":"api-%d","proc.name":"sh","proc.pid":%d},"priority":"Warning","rule":%q,"source":"syscall","tags":["load"],"time":%q}`+"\n",
			k%8, k, k, word, k%5, k%40, k, rules[k%len(rules)], now)
	}
	return s.String()
}

type loadPage struct {
	b   *testing.B
	ctx context.Context
}

// openLive logs in and opens the live page, with a timer in the page
// recording how late each 50 ms tick fires.
func openLive(b *testing.B, ctx context.Context, addr string) *loadPage {
	p := &loadPage{b: b, ctx: ctx}
	base := "http://" + addr
	p.do("log in", chromedp.Navigate(base+"/ui/"), chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), "adm1n\r"), chromedp.WaitVisible(chromedp.CSS("nav")))
	for range 100 {
		if p.eval(`document.querySelector("h1") && document.querySelector("h1").textContent.indexOf("Overview") >= 0 ? 1 : 0`) == 1 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.do("open the live page", chromedp.Navigate(base+"/ui/live"), chromedp.WaitVisible(chromedp.CSS("#live-body")))
	_ = p.eval(`(function(){window.__lag=[];var last=performance.now();setInterval(function(){var n=performance.now();window.__lag.push(n-last-50);last=n},50);return 0})()`)
	return p
}

func (p *loadPage) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	ctx, cancel := context.WithTimeout(p.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.b.Fatalf("%s: %v", what, err)
	}
}

func (p *loadPage) eval(expr string) float64 {
	ctx, cancel := context.WithTimeout(p.ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[float64](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.b.Fatalf("evaluate: %v", err)
	}
	return v
}

// filterChange empties the table, types word into the filter and returns
// how long until a row holding it is drawn.
func (p *loadPage) filterChange(word string) time.Duration {
	v := p.eval(fmt.Sprintf(`new Promise(function(resolve){
  var body=document.getElementById("live-body"), q=document.getElementById("live-q");
  while(body.firstChild) body.removeChild(body.firstChild);
  var t0=performance.now();
  var mo=new MutationObserver(function(){
    for(var i=0;i<body.rows.length;i++){ if(body.rows[i].textContent.indexOf(%[1]q)>=0){ mo.disconnect(); resolve(performance.now()-t0); return; } }
  });
  mo.observe(body,{childList:true});
  q.value=%[1]q; q.dispatchEvent(new Event("input"));
})`, word))
	return time.Duration(v * float64(time.Millisecond))
}

// lag returns how late each tick of the page's timer fired.
func (p *loadPage) lag() []time.Duration {
	ctx, cancel := context.WithTimeout(p.ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`window.__lag`))
	if err != nil {
		p.b.Fatalf("read the lag: %v", err)
	}
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(max(x, 0) * float64(time.Millisecond))
	}
	return out
}

func (p *loadPage) status() string {
	ctx, cancel := context.WithTimeout(p.ctx, time.Minute)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("live-status").textContent`))
	return s
}

func (p *loadPage) rows() int {
	return int(p.eval(`document.getElementById("live-body").rows.length`))
}

// cpuSeconds is the user and system CPU time process pid used so far
// (/proc/PID/stat, in clock ticks of 1/100 s, Linux's USER_HZ).
func cpuSeconds(b *testing.B, pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatalf("router cpu: %v", err)
	}
	// The fields after the command name (in parentheses, may hold spaces).
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	ut, _ := strconv.ParseFloat(f[11], 64) // field 14, utime
	st, _ := strconv.ParseFloat(f[12], 64) // field 15, stime
	return (ut + st) / 100
}

// metric reads a counter (summed over its labels) from the router's
// /metrics.
func metric(b *testing.B, addr, name string) float64 {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		b.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var sum float64
	for _, l := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(l, name+" ") || strings.HasPrefix(l, name+"{") {
			f := strings.Fields(l)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum
}

// pct is the p-th percentile (100: the maximum) of ds; 0 without values.
func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := min(len(s)-1, len(s)*p/100)
	return s[i]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
