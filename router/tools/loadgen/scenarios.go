package main

import (
	"context"
	"fmt"
	"slices"
	"time"
)

func pct(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	i := int(float64(len(lat)-1) * p)
	return lat[i]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }

// intake runs the intake, delivery and saturate scenarios.
func intake(ctx context.Context, o options) error {
	s, err := newSink(o.sinkLatency, false)
	if err != nil {
		return err
	}
	defer s.close()
	start := startRouter
	if o.peer != "" {
		start = startPeer
	}
	r, err := start(ctx, o, []outputSpec{{name: "sink", url: "http://" + s.addr + "/hook", concurrency: o.concurrency, timeout: "10s"}})
	if err != nil {
		return err
	}
	defer r.stop(o.keep)
	profiled := make(chan error, 1)
	if o.cpuProfile != "" {
		go func() { profiled <- r.profile(ctx, o.duration-time.Second, o.cpuProfile) }()
	}
	res := load(ctx, r.addr, o.clients, o.duration, 0, o.batch, o.rate)
	if o.cpuProfile != "" {
		if err := <-profiled; err != nil {
			return err
		}
		fmt.Printf("  cpu profile: %s (go tool pprof %s %s)\n", o.cpuProfile, o.router, o.cpuProfile)
	}
	deliveredDuringLoad := s.n.Load()
	mem := r.status()
	rss := mem["VmHWM:"]
	if o.peer != "" {
		fmt.Printf("peer=%s (Falcosidekick's webhook output to the same sink; its queue is in memory) ", o.peer)
	}
	fmt.Printf("scenario=%s rate=%s durable=%v clients=%d batch=%d duration=%s sink_latency=%s output_concurrency=%d noise=%s state=%s\n",
		o.scenario, rateName(o.rate), o.durable, o.clients, max(o.batch, 1), o.duration, o.sinkLatency, o.concurrency, o.noise, stateName(o))
	fmt.Printf("  intake (alerts; latency per request): sent=%d ok=%d 503=%d other=%d rate=%.0f/s p50=%s p99=%s max=%s\n",
		res.sent, res.ok, res.full, res.other, float64(res.ok)/res.elapsed.Seconds(),
		ms(pct(res.lat, 0.50)), ms(pct(res.lat, 0.99)), ms(pct(res.lat, 1)))
	fmt.Printf("  delivery during load: %d alerts, %.0f/s\n", deliveredDuringLoad, float64(deliveredDuringLoad)/res.elapsed.Seconds())
	if gap, slept := s.turnaround(); o.concurrency == 1 && o.sinkLatency > 0 {
		fmt.Printf("  sink: answer to next request %.2fms (the router's turnaround per alert), sleep of %s took %.2fms\n",
			float64(gap)/1e6, o.sinkLatency, float64(slept)/1e6)
	}
	fmt.Printf("  router peak RSS (VmHWM): %.1f MiB; at the end RssAnon %.1f MiB, RssFile %.1f MiB\n", rss, mem["RssAnon:"], mem["RssFile:"])
	if n, sec, w := r.commits(); n > 0 {
		fmt.Printf("  queue commits: %.0f, %.0f/s, mean %.2fms, %.1f writes each\n", n, n/res.elapsed.Seconds(), sec*1e3, w)
	}
	if o.scenario != "saturate" {
		deadline := time.Now().Add(2 * time.Minute)
		for s.n.Load() < res.ok && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(50 * time.Millisecond)
		}
		fmt.Printf("  delivered in all: %d of %d acked\n", s.n.Load(), res.ok)
	}
	return nil
}

// hung measures a healthy output's delivery rate over a backlog, with a hung
// neighbour and alone.
func hung(ctx context.Context, o options) error {
	rates := map[bool][]float64{}
	for range max(o.repeat, 1) { // alternate, so drifting load hits both alike
		for _, withHung := range []bool{false, true} {
			rate, err := drainRate(ctx, o, withHung)
			if err != nil {
				return err
			}
			rates[withHung] = append(rates[withHung], rate)
			fmt.Printf("scenario=hung durable=%v backlog=%d hung_neighbour=%v healthy_delivery_rate=%.0f/s\n", o.durable, o.backlog, withHung, rate)
		}
	}
	alone, with := median(rates[false]), median(rates[true])
	fmt.Printf("  median: alone %.0f/s, with a hung neighbour %.0f/s (%+.1f%%)\n", alone, with, 100*(with-alone)/alone)
	return nil
}

func drainRate(ctx context.Context, o options, withHung bool) (float64, error) {
	// The healthy sink's address is reserved now and served only after the
	// backlog is queued, so both runs drain the same backlog.
	healthy, err := newSink(o.sinkLatency, false)
	if err != nil {
		return 0, err
	}
	addr := healthy.addr
	healthy.close()
	outs := []outputSpec{{name: "healthy", url: "http://" + addr + "/hook", concurrency: o.concurrency, timeout: "10s"}}
	if withHung {
		h, err := newSink(0, true)
		if err != nil {
			return 0, err
		}
		defer h.close()
		outs = append(outs, outputSpec{name: "hung", url: "http://" + h.addr + "/hook", concurrency: o.concurrency, timeout: "2s"})
	}
	r, err := startRouter(ctx, o, outs)
	if err != nil {
		return 0, err
	}
	defer r.stop(o.keep)
	res := load(ctx, r.addr, o.clients, 0, int64(o.backlog), 100, 0)
	if res.ok != int64(o.backlog) {
		return 0, fmt.Errorf("backlog: %d of %d accepted", res.ok, o.backlog)
	}
	s, err := listenSinkAt(addr, o.sinkLatency)
	if err != nil {
		return 0, err
	}
	defer s.close()
	deadline := time.Now().Add(5 * time.Minute)
	for s.n.Load() < int64(o.backlog) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	s.mu.Lock()
	span := s.last.Sub(s.first)
	s.mu.Unlock()
	if span <= 0 {
		return 0, fmt.Errorf("no delivery")
	}
	return float64(s.n.Load()-1) / span.Seconds(), nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func rateName(r float64) string {
	if r <= 0 {
		return "max"
	}
	return fmt.Sprintf("%.0f/s", r)
}

func stateName(o options) string {
	if o.stateDSN != "" {
		return "postgres"
	}
	return "embedded"
}
