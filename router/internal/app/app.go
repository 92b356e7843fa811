// Package app wires the router together: outputs from the registry, the
// pipeline (filters, queues, workers), the HTTP server and metrics, and runs
// them until the context ends, then shuts down gracefully: stop accepting,
// finish in-flight requests and sends, close the store (what is still
// queued is delivered after the next start), close outputs.
package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/lookout-sec/lookout/outputs"
	"github.com/lookout-sec/lookout/outputs/registry"
	"github.com/lookout-sec/lookout/router/internal/config"
	"github.com/lookout-sec/lookout/router/internal/metrics"
	"github.com/lookout-sec/lookout/router/internal/noise"
	"github.com/lookout-sec/lookout/router/internal/pgstate"
	"github.com/lookout-sec/lookout/router/internal/pipeline"
	"github.com/lookout-sec/lookout/router/internal/queue"
	"github.com/lookout-sec/lookout/router/internal/server"
)

// Options holds what Run takes from its caller besides the config.
type Options struct {
	Logger   *slog.Logger
	Stdout   io.Writer         // where the stdout output writes
	Registry registry.Registry // output types; default registry.Builtin()
	// Ready, if set, receives the listening address once the server accepts.
	Ready func(addr net.Addr)
	// InitQueue is --init-queue: start empty where the queue file is gone.
	InitQueue bool
}

// Run serves until ctx ends, then shuts down within cfg.ShutdownTimeout.
func Run(ctx context.Context, cfg *config.Config, opts Options) error {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Registry == nil {
		opts.Registry = registry.Builtin()
	}
	log := opts.Logger
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := metrics.New(reg)

	env := registry.Env{Logger: log, Stdout: opts.Stdout}
	var (
		routes  []pipeline.Route
		workers []*pipeline.Worker
		outs    []outputs.Output
		qopts   []queue.OutputOptions
	)
	defer func() {
		for _, o := range outs {
			_ = o.Close()
		}
	}()
	for i, oc := range cfg.Outputs {
		out, err := opts.Registry[oc.Type].Build(oc.Settings, env)
		if err != nil {
			return fmt.Errorf("output %s (outputs[%d]): %w", oc.Name, i, err)
		}
		outs = append(outs, out)
		qopts = append(qopts, queue.OutputOptions{Name: oc.Name, DropOldest: oc.Delivery.DropOldest})
		routes = append(routes, pipeline.Route{Name: oc.Name, Filter: pipeline.Filter{
			MinPriority: oc.MinPriority, Rules: oc.Filters.Rules, Tags: oc.Filters.Tags, Sources: oc.Filters.Sources, Fields: oc.Filters.Fields,
			AllowRules: oc.Filters.AllowRules,
		}})
		d := oc.Delivery
		workers = append(workers, &pipeline.Worker{
			Name: oc.Name, Output: out, Concurrency: d.Concurrency, BatchSize: d.BatchSize, Timeout: d.Timeout,
			Policy: pipeline.RetryPolicy{
				MaxAttempts: d.Retry.MaxAttempts, MaxAge: d.Retry.MaxAge,
				InitialBackoff: d.Retry.InitialBackoff, MaxBackoff: d.Retry.MaxBackoff,
			},
			Metrics: m, Logger: log,
		})
		m.Init(oc.Name)
	}
	store, err := queue.Open(queue.Options{
		Dir: cfg.Queue.Dir, MaxBytes: cfg.Queue.MaxBytes, Outputs: qopts, Logger: log, InitQueue: opts.InitQueue,
		OnDrop:   func(output string, n int) { m.Dropped.WithLabelValues(output).Add(float64(n)) },
		OnCommit: func(d time.Duration, n int) { m.Commit.Observe(d.Seconds()); m.CommitWrites.Observe(float64(n)) },
	})
	if err != nil {
		return fmt.Errorf("queue (key queue.dir): %w", err)
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.Error("closing the queue", "err", err)
		}
	}()
	if !store.Durable() {
		log.Warn("queue.dir is empty: queues are in memory and lost on exit (not durable)")
	}
	reg.MustRegister(metrics.NewQueueCollector(func() []metrics.QueueStat {
		stats := make([]metrics.QueueStat, len(qopts))
		for i, q := range qopts {
			st := store.Stats(q.Name)
			stats[i] = metrics.QueueStat{Output: q.Name, Len: st.Len, Bytes: st.Bytes, Oldest: st.Oldest}
		}
		return stats
	}, nil), metrics.NewStoreCollector(store.Used, cfg.Queue.MaxBytes))
	for _, w := range workers {
		w.Store = store
		if st := store.Stats(w.Name); st.Len > 0 {
			log.Info("resuming queued alerts", "output", w.Name, "count", st.Len)
		}
	}

	var (
		stage   *noise.Stage
		flusher *pipeline.Flusher
	)
	if cfg.Noise.On() {
		var nst noise.Store = NoiseStore{store}
		if pg := cfg.State.Postgres; pg.On() {
			shared, err := pgstate.Open(ctx, string(pg.DSN), pgstate.Options{Logger: log, MaxConns: pg.MaxConns})
			if err != nil {
				return fmt.Errorf("state.postgres: %w", err)
			}
			defer shared.Close()
			log.Info("noise state is shared in postgres", "schema", pgstate.SchemaVersion())
			nst = shared
		}
		stage, err = noise.New(NoiseConfig(cfg), nst, noise.Options{
			Logger: log, OnDecide: func(o, d string, n int) { m.Noise.WithLabelValues(o, d).Add(float64(n)) },
			OnStateUp: func(up bool) {
				if up {
					m.StateUp.Set(1)
				} else {
					m.StateUp.Set(0)
				}
			},
			OnUnavailable: func(o string, n int) { m.Unavailable.WithLabelValues(o).Add(float64(n)) },
			StateTimeout:  stateTimeout(cfg),
		})
		if err != nil {
			return fmt.Errorf("noise stage: %w", err)
		}
		flusher = &pipeline.Flusher{Stage: stage, Store: store, Metrics: m, Logger: log, Interval: cfg.Noise.FlushInterval}
	} else {
		log.Info("noise control is off (noise.enabled: false): every alert that passes the filters is delivered")
	}

	host, _ := os.Hostname()
	tokens := make([]string, len(cfg.Tokens))
	for i, t := range cfg.Tokens {
		tokens[i] = string(t)
	}
	var adminTokens, names []string
	for _, t := range cfg.AdminTokens {
		adminTokens = append(adminTokens, string(t))
	}
	for _, q := range qopts {
		names = append(names, q.Name)
	}
	fanout := pipeline.NewFanout(routes, store, m, stage)
	tui, err := startUI(ctx, cfg, uiDeps{fanout: fanout, queue: store, noise: stage, outputs: names, reg: reg, log: log})
	if err != nil {
		return err
	}
	defer tui.close()
	handler := server.New(server.Options{
		Tokens: tokens, BodyLimit: cfg.BodyLimit, Ingester: fanout,
		Metrics: m, Gatherer: reg, Logger: log, Hostname: host,
		AdminTokens: adminTokens, DeadLetters: store, Outputs: names, Noise: stage, Limits: server.Limits(cfg.Server),
		UI: tui.handler, Pprof: cfg.Admin.Pprof,
	})
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (key listen): %w", cfg.Listen, err)
	}
	srv := server.Limits(cfg.Server).HTTPServer(handler)

	// Workers lease on lctx (cancelled at shutdown: no new sends) and send on
	// sctx (cancelled only when the shutdown timeout expires, so sends in
	// flight can finish; what is still queued stays in the store).
	lctx, lcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer lcancel()
	sendCtx, sendCancel := context.WithCancel(context.WithoutCancel(ctx))
	defer sendCancel()
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() { w.Run(lctx, sendCtx) })
	}
	if flusher != nil {
		wg.Go(func() { flusher.Run(lctx) })
	}
	if tui.recorder != nil {
		wg.Go(func() { tui.recorder.Run(lctx) })
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(server.Limits(cfg.Server).Listener(ln)) }()
	log.Info("router listening", "addr", ln.Addr().String(), "outputs", len(cfg.Outputs), "auth", len(tokens) > 0)
	if opts.Ready != nil {
		opts.Ready(ln.Addr())
	}

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer scancel()
	err = srv.Shutdown(sctx)
	lcancel()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-sctx.Done():
		sendCancel()
		<-done
		log.Warn("shutdown timeout: sends in flight were cut; their alerts stay queued")
	}
	var left int
	for _, q := range qopts {
		left += store.Stats(q.Name).Len
	}
	if left > 0 && store.Durable() {
		log.Info("alerts left queued for the next start", "count", left, "file", store.Path())
	} else if left > 0 {
		log.Warn("in-memory queue: undelivered alerts dropped", "count", left)
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}
