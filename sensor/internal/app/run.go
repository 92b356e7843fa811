package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/sensor/internal/config"
	"github.com/lookout-sec/lookout/sensor/internal/emit"
	"github.com/lookout-sec/lookout/sensor/internal/metrics"
	"github.com/lookout-sec/lookout/sensor/internal/probe"
	"github.com/lookout-sec/lookout/sensor/internal/rules"
	"github.com/lookout-sec/lookout/sensor/internal/spool"
	"github.com/lookout-sec/lookout/sensor/internal/state"
)

// ShutdownTimeout bounds how long Run spends delivering queued alerts
// after ctx is done.
const ShutdownTimeout = 5 * time.Second

// Outputs builds the emitter outputs cfg enables; stdout is where the
// stdout output writes. The router output delivers from the spool when
// cfg.Spool.Dir is set; the caller closes the returned spool (nil if none)
// after the emitter.
func Outputs(cfg config.Config, stdout *os.File, log *slog.Logger) ([]emit.Output, *spool.Spool, error) {
	var outs []emit.Output
	var sp *spool.Spool
	if r := cfg.Outputs.Router; r.URL != "" {
		hc := &http.Client{Timeout: r.Timeout}
		var clients []*api.Client
		for _, u := range r.URLs() {
			clients = append(clients, &api.Client{URL: u, Token: r.Token.Value(), Gzip: r.Gzip, UserAgent: "lookout-sensor", HTTPClient: hc})
		}
		w := &emit.Router{Client: clients[0], Others: clients[1:]}
		o := emit.Output{
			Name: "router", Writer: w,
			QueueSize: cfg.QueueSize, BatchSize: r.BatchSize, BatchInterval: r.BatchInterval,
			RetryFor: r.RetryFor, Backoff: emit.Backoff{Initial: 100 * time.Millisecond, Max: 10 * time.Second},
		}
		if cfg.Spool.Dir != "" {
			var moved string
			var err error
			sp, moved, err = spool.Open(cfg.Spool.Dir, cfg.Spool.MaxBytes)
			if err != nil {
				return nil, nil, fmt.Errorf("spool.dir %s: %w", cfg.Spool.Dir, err)
			}
			if moved != "" {
				log.Error("the alert spool was unreadable: moved aside, starting an empty one; its alerts are lost unless recovered by hand", "moved_to", moved, "spool", sp.Path())
			}
			if n, b := sp.Len(); n > 0 {
				log.Info("alerts spooled by a previous run will be sent first", "alerts", n, "bytes", b, "spool", sp.Path())
			}
			o.Spool, o.Sender = sp, w
		}
		outs = append(outs, o)
	}
	if cfg.Outputs.Stdout.Enabled {
		outs = append(outs, emit.Output{Name: "stdout", Writer: emit.NewJSONLines(stdout), QueueSize: cfg.QueueSize})
	}
	if p := cfg.Outputs.File.Path; p != "" {
		w, err := emit.OpenFile(p)
		if err != nil {
			if sp != nil {
				_ = sp.Close()
			}
			return nil, nil, fmt.Errorf("outputs.file.path %s: %w", p, err)
		}
		outs = append(outs, emit.Output{Name: "file", Writer: w, QueueSize: cfg.QueueSize})
	}
	return outs, sp, nil
}

// Run runs the sensor until ctx is done: SIGHUP reloads the rules, the
// metrics endpoint serves cfg.MetricsListen, and on return the queued
// alerts have been delivered (or counted as dropped after
// ShutdownTimeout).
func Run(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	// Open the probe (and fail on missing privileges) before anything else
	// starts; alerts wait for the emitter, which exists before Run. With
	// the syscall source off (a cluster-level audit Deployment) there is
	// no probe: only the rules.
	var em *emit.Emitter
	var s *Sensor
	msrc := metrics.Sources{Emit: func() []emit.OutputStats { return em.Stats() }}
	if cfg.Sources.Syscall {
		msrc.Probe = func() probe.Stats { return s.ProbeStats() }
		msrc.State = func() state.Stats { return s.StateStats() }
	}
	m := metrics.New(msrc)
	emitAlert := func(a *api.Alert) { em.Emit(a) }
	var engine func() *rules.Engine
	var reload func() error
	if cfg.Sources.Syscall {
		var err error
		if s, err = New(ctx, cfg, NewOptions{Logger: log, Emit: emitAlert, Metrics: m}); err != nil {
			return err
		}
		engine, reload = s.Engine, s.Reload
	} else {
		ro, err := newRulesOnly(cfg, log, m)
		if err != nil {
			return err
		}
		engine, reload = ro.Engine, ro.Reload
	}
	closeProbe := func() {
		if s != nil {
			s.probe.Close()
		}
	}
	outs, sp, err := Outputs(cfg, os.Stdout, log)
	if err == nil {
		em, err = emit.New(emit.Options{Outputs: outs, Hostname: cfg.Hostname, DropAlertInterval: cfg.DropAlertInterval, Logger: log})
		if err != nil && sp != nil {
			_ = sp.Close()
		}
	}
	if err != nil {
		closeProbe()
		return err
	}
	closeEmit := func() {
		sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
		defer cancel()
		if err := em.Close(sctx); err != nil {
			log.Warn("close outputs", "err", err)
		}
		for _, st := range em.Stats() {
			log.Info("output closed", "output", st.Name, "sent", st.Sent, "dropped", st.Dropped, "spooled", st.Spooled)
		}
		if sp != nil {
			if err := sp.Close(); err != nil {
				log.Warn("close spool", "err", err)
			}
		}
	}
	var srv *http.Server
	if cfg.MetricsListen != "" {
		ln, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			closeProbe()
			closeEmit()
			return fmt.Errorf("metrics.listen %s: %w", cfg.MetricsListen, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", m.Handler())
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
		srv = newMetricsServer(mux, metricsLimits{})
		go func() {
			if err := srv.Serve(limitListener(ln, metricsLimits{})); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics server", "err", err)
			}
		}()
		log.Info("metrics endpoint", "url", "http://"+ln.Addr().String()+"/metrics")
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				log.Info("SIGHUP: reloading rules")
				if err := reload(); err != nil {
					log.Error("rules reload failed; the previous rules stay in force", "err", err)
				}
			}
		}
	}()
	var names []string
	for _, o := range outs {
		names = append(names, o.Name)
	}
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	ka, err := StartK8sAudit(rctx, cfg, log, engine, emitAlert, m)
	if err != nil {
		closeProbe()
		closeEmit()
		return err
	}
	log.Info("sensor running", "hostname", cfg.Hostname, "sources", cfg.Sources.Names(), "outputs", names, "min_priority", cfg.MinPriority.String(), "rule_matching", cfg.RuleMatching)
	var runErr error
	if s != nil {
		runErr = s.Run(rctx)
		log.Info("sensor stopping", "events", s.Events())
	} else {
		<-rctx.Done()
		log.Info("sensor stopping")
	}
	stop()
	ka.Wait()
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = srv.Shutdown(sctx)
		cancel()
	}
	closeEmit()
	return runErr
}
