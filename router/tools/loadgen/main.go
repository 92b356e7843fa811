// Command loadgen benchmarks lookout-router on loopback: it starts a local
// webhook sink (with optional latency, or hung), starts the real router
// binary with a generated config, drives single-alert POSTs from concurrent
// clients, and reports intake rate and latency percentiles, delivery rate,
// and the router's peak RSS. It is a benchmark tool (make bench-router), not
// a test. Scenarios:
//
//	intake    single-alert POSTs for -duration; one webhook output (add -durable=false for in-memory
//	          queues, -batch N for NDJSON batches to /v1/alerts)
//	delivery  the same while the sink answers after -sink-latency (default 10ms): delivery rate under load
//	saturate  many clients, slow sink: peak RSS while the backlog grows
//	hung      delivery rate of a healthy output with a hung neighbour versus alone (backlog of -backlog alerts)
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"
)

type options struct {
	router      string
	scenario    string
	durable     bool
	clients     int
	duration    time.Duration
	sinkLatency time.Duration
	concurrency int
	backlog     int
	repeat      int
	batch       int
	keep        bool
	noise       string
	stateDSN    string
	cpuProfile  string
	rate        float64
	peer        string
	maxBytes    string
}

func main() {
	var o options
	flag.StringVar(&o.router, "router", "bin/lookout-router", "path to the lookout-router binary")
	flag.StringVar(&o.scenario, "scenario", "intake", "intake, delivery, saturate or hung")
	flag.BoolVar(&o.durable, "durable", true, "durable queue (queue.dir set); false: in memory")
	flag.IntVar(&o.clients, "clients", 16, "concurrent HTTP clients")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long to post")
	flag.DurationVar(&o.sinkLatency, "sink-latency", 0, "sink's answer delay (delivery and saturate default to 10ms)")
	flag.IntVar(&o.concurrency, "concurrency", 4, "the webhook output's concurrency")
	flag.IntVar(&o.backlog, "backlog", 20000, "hung scenario: alerts queued before the sinks start")
	flag.IntVar(&o.batch, "batch", 1, "alerts per request; >1 posts NDJSON to /v1/alerts (the sensor's path)")
	flag.IntVar(&o.repeat, "repeat", 3, "hung scenario: alternating runs of each case (the median is reported)")
	flag.BoolVar(&o.keep, "keep", false, "keep the router's work directory")
	flag.StringVar(&o.noise, "noise", "all", "noise stage: all (on, notify: all), record (on, record: true: alerts carry the annotation), new (on, notify: new) or off (noise.enabled: false)")
	flag.StringVar(&o.stateDSN, "state-dsn", "", "noise state in this PostgreSQL (state.postgres.dsn); empty: the embedded store")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write the router's CPU profile over the load (admin.pprof) to this file")
	flag.Float64Var(&o.rate, "rate", 0, "requests per second in all, on a fixed schedule (open loop; latency from the scheduled time); 0: as fast as the clients go")
	flag.StringVar(&o.maxBytes, "max-bytes", "", "the router's queue.max_bytes (e.g. 512MiB); empty: its default (1 GiB durable, 32 MiB in memory, which 16 clients fill within a few seconds: then intake is the delivery's pace plus 503s)")
	flag.StringVar(&o.peer, "peer", "", "intake scenarios: run this Falcosidekick binary instead of the router (webhook output to the same sink), for the side-by-side figure")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	switch o.scenario {
	case "intake":
		return intake(ctx, o)
	case "delivery", "saturate":
		if o.sinkLatency == 0 {
			o.sinkLatency = 10 * time.Millisecond
		}
		return intake(ctx, o)
	case "hung":
		return hung(ctx, o)
	}
	return fmt.Errorf("-scenario %q: want intake, delivery, saturate or hung", o.scenario)
}
