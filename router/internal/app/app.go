// Package app wires the router together: outputs from the registry, the
// pipeline (filters, queues, workers), the HTTP server and metrics, and runs
// them until the context ends, then shuts down gracefully: stop accepting,
// finish in-flight requests, drain the queues, close outputs.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/lookout-sec/lookout/outputs"
	"github.com/lookout-sec/lookout/outputs/registry"
	"github.com/lookout-sec/lookout/router/internal/config"
	"github.com/lookout-sec/lookout/router/internal/metrics"
	"github.com/lookout-sec/lookout/router/internal/pipeline"
	"github.com/lookout-sec/lookout/router/internal/server"
)

// Options holds what Run takes from its caller besides the config.
type Options struct {
	Logger   *slog.Logger
	Stdout   io.Writer         // where the stdout output writes
	Registry registry.Registry // output types; default registry.Builtin()
	// Ready, if set, receives the listening address once the server accepts.
	Ready func(addr net.Addr)
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
	)
	defer func() {
		for _, o := range outs {
			_ = o.Close()
		}
	}()
	for i, oc := range cfg.Outputs {
		out, err := opts.Registry[oc.Type](oc.Raw, env)
		if err != nil {
			return fmt.Errorf("config: outputs[%d].%s.%w", i, oc.Type, err)
		}
		outs = append(outs, out)
		q := pipeline.NewMemQueue(cfg.QueueSize, nil)
		routes = append(routes, pipeline.Route{Name: oc.Name, Queue: q, Filter: pipeline.Filter{
			MinPriority: oc.MinPriority, Rules: oc.Rules, Tags: oc.Tags, Sources: oc.Sources,
		}})
		workers = append(workers, &pipeline.Worker{Name: oc.Name, Queue: q, Output: out, Metrics: m, Logger: log})
		// Make the per-output series visible at zero.
		for _, c := range []*prometheus.CounterVec{m.Accepted, m.Delivered, m.Failed, m.Filtered, m.Dropped} {
			c.WithLabelValues(oc.Name)
		}
		m.Queued.WithLabelValues(oc.Name)
	}

	host, _ := os.Hostname()
	tokens := make([]string, len(cfg.Tokens))
	for i, t := range cfg.Tokens {
		tokens[i] = string(t)
	}
	handler := server.New(server.Options{
		Tokens: tokens, BodyLimit: cfg.BodyLimit, Ingester: pipeline.NewFanout(routes, m),
		Metrics: m, Gatherer: reg, Logger: log, Hostname: host,
	})
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (key listen): %w", cfg.Listen, err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}

	// Workers run on their own context: on shutdown they drain their queue
	// and stop, cancelled only when the shutdown timeout expires.
	wctx, wcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer wcancel()
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.Run(wctx); err != nil && !errors.Is(err, context.Canceled) {
				log.Error("worker stopped", "output", w.Name, "err", err)
			}
		}()
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
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
	for _, r := range routes {
		_ = r.Queue.Close()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-sctx.Done():
		wcancel()
		<-done
		var lost int
		for _, r := range routes {
			lost += r.Queue.Len()
		}
		log.Warn("shutdown timeout: undelivered alerts dropped", "count", lost)
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}
