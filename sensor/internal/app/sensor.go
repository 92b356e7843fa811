// Package app runs the sensor: it loads the rules, seeds the state tables
// from /proc, opens the eBPF probe with the rules' event types plus what the
// state tables need, and runs the event loop probe → state.Apply →
// engine.Eval → emit, with a Prometheus endpoint, SIGHUP rules reloads that
// never detach the probe, and a clean shutdown that delivers queued alerts.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/sensor/internal/config"
	"github.com/lookout-sec/lookout/sensor/internal/event"
	"github.com/lookout-sec/lookout/sensor/internal/metrics"
	"github.com/lookout-sec/lookout/sensor/internal/probe"
	"github.com/lookout-sec/lookout/sensor/internal/rules"
	"github.com/lookout-sec/lookout/sensor/internal/ruleset"
	"github.com/lookout-sec/lookout/sensor/internal/state"
	"github.com/lookout-sec/lookout/sensor/internal/state/container"
)

// StateNeeds returns the event types the state tables need whatever the
// rules say: process lifecycle, fd creation and closing, cwd changes and
// credential changes.
func StateNeeds() event.TypeSet {
	var s event.TypeSet
	for _, t := range []event.Type{
		event.TypeExecve, event.TypeExecveat, event.TypeClone, event.TypeProcexit,
		event.TypeOpen, event.TypeOpenat, event.TypeOpenat2, event.TypeCreat, event.TypeClose,
		event.TypeDup, event.TypeDup2, event.TypeDup3, event.TypeChdir, event.TypeFchdir,
		event.TypeSocket, event.TypeConnect, event.TypeAccept, event.TypeAccept4, event.TypeBind,
		event.TypeListen, event.TypeSetuid, event.TypeSetgid, event.TypeSetresuid, event.TypeSetresgid,
		event.TypeFcntl, event.TypePipe, event.TypePipe2, event.TypeMemfdCreate,
	} {
		s.Add(t)
	}
	return s
}

// Sink receives every alert with the event that raised it, on the event
// loop goroutine, before the alert is queued for the outputs; ev is nil for
// the sensor's internal alerts (kernel drops). It must not block or keep ev.
type Sink func(a *api.Alert, ev *event.Event)

// Sensor is a running probe, state tables and rule engine.
type Sensor struct {
	cfg     config.Config
	log     *slog.Logger
	probe   *probe.Probe
	tables  *state.Tables
	ctrs    *container.Resolver
	hold    holder // events waiting for their container's metadata
	engine  atomic.Pointer[rules.Engine]
	metrics *metrics.Metrics
	emit    func(*api.Alert)
	sink    Sink
	observe func(*event.Event)
	reload  sync.Mutex // serializes Reload

	// Loop-owned: the event being evaluated (for the emit callback), the
	// event counter and the last snapshot time.
	cur      *event.Event
	n        uint64
	nSnap    uint64
	lastSnap int64
	kdrops   kernelDrops

	snapMu    sync.Mutex
	probeSnap probe.Stats
	stateSnap state.Stats
}

// NewOptions configures New.
type NewOptions struct {
	// Logger is the sensor's logger; nil means slog.Default().
	Logger *slog.Logger
	// Emit queues an alert for the outputs; nil discards alerts.
	Emit func(*api.Alert)
	// Sink, when set, sees every alert with its event first.
	Sink Sink
	// Metrics, when set, is updated by the event loop.
	Metrics *metrics.Metrics
	// Observe, when set, sees every event after the state tables applied
	// it and the rules ran, on the event loop goroutine. It must not block
	// or keep ev.
	Observe func(ev *event.Event)
}

// LoadRules builds an engine from cfg: the embedded upstream ruleset
// (unless cfg.DefaultRules is false), then the configured rules files and
// directories, which add to it and override it (Falco's rules.d).
func LoadRules(cfg config.Config, log *slog.Logger) (*rules.Engine, *rules.Report, error) {
	var srcs []rules.Source
	if cfg.DefaultRules {
		srcs = append(srcs, defaultRules(cfg)...)
	}
	user, err := rules.LoadPaths(cfg.Rules)
	if err != nil {
		return nil, nil, err
	}
	if len(user) == 0 && len(cfg.Rules) > 0 && !cfg.DefaultRules {
		return nil, nil, fmt.Errorf("no rules files (*.yaml, *.yml) found in %v and the default rules are off", cfg.Rules)
	}
	srcs = append(srcs, user...)
	m := rules.MatchFirst
	if cfg.RuleMatching == config.MatchAll {
		m = rules.MatchAll
	}
	return rules.Load(srcs, rules.Options{Strict: cfg.RulesStrict, MinPriority: cfg.MinPriority, Matching: m, Hostname: cfg.Hostname, Logger: log,
		TimeISO8601: cfg.TimeISO8601, OmitContainerFields: !cfg.SuggestedOutput, LookupIP: lookupIP,
		MaxExpandedBytes: cfg.RulesMaxExpandedBytes, Sources: cfg.Sources.Names()})
}

// lookupIP resolves the names rules compare with fd.sip.name and friends
// (e.g. the Kubernetes API server's), once per load, bounded so that a host
// without DNS for them only logs a warning and starts.
func lookupIP(host string) ([]netip.Addr, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// New loads the rules, opens the probe (failing with the missing
// capability when not privileged), and seeds the state tables. The probe is
// attached when New returns: events queue in the ring until Run drains it.
func New(ctx context.Context, cfg config.Config, opts NewOptions) (*Sensor, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Emit == nil {
		opts.Emit = func(*api.Alert) {}
	}
	s := &Sensor{cfg: cfg, log: opts.Logger, emit: opts.Emit, sink: opts.Sink, metrics: opts.Metrics, observe: opts.Observe}
	eng, rep, err := LoadRules(cfg, s.log)
	if err != nil {
		return nil, fmt.Errorf("load rules: %w", err)
	}
	s.logReport(rep)
	s.engine.Store(eng)
	interest := eng.EventTypes()
	interest.Union(StateNeeds())
	// The sensor's own syscalls are filtered in the kernel (its children's
	// are not): a scrape of its metrics or a post to the router must not
	// come back as events, or as alerts about itself.
	s.probe, err = probe.Open(ctx, probe.Config{RingSize: cfg.RingSize, Interest: interest, Logger: s.log,
		ExcludePID: os.Getpid()})
	if err != nil {
		return nil, err
	}
	s.ctrs = container.NewResolver(container.ResolverOptions{Logger: s.log,
		DockerSocket: cfg.Runtimes.Docker, PodmanSocket: cfg.Runtimes.Podman,
		ContainerdSocket: cfg.Runtimes.Containerd, CRIOSocket: cfg.Runtimes.CRIO})
	s.tables, err = state.New(state.Options{Logger: s.log, Containers: s.ctrs})
	if err != nil {
		s.probe.Close()
		return nil, err
	}
	// The probe is attached before the scan, so no process started during
	// the scan is missed: its events wait in the ring.
	if err := s.tables.Scan(ctx); err != nil {
		s.probe.Close()
		return nil, fmt.Errorf("scan /proc: %w", err)
	}
	if s.metrics != nil {
		s.metrics.RulesActive.Set(float64(rep.Active))
	}
	return s, nil
}

func (s *Sensor) logReport(rep *rules.Report) {
	var files []string
	for _, f := range rep.Files {
		files = append(files, f.Name)
	}
	// rules.Load has already logged each warning through Options.Logger.
	// A file that only tunes the upstream rules says what it changed.
	overrides := 0
	for _, f := range rep.Files {
		overrides += len(f.Overrides)
		if f.Name != ruleset.DefaultName && f.Name != ruleset.K8sAuditName {
			s.log.Info("rules file", "file", f.Name, "rules", f.Rules, "macros", f.Macros, "lists", f.Lists, "overrides", f.Overrides)
		}
	}
	s.log.Info("rules loaded", "files", files, "rules", rep.Rules, "active", rep.Active, "overrides", overrides, "skipped", len(rep.Skipped), "warnings", len(rep.Warnings))
}

// Engine returns the engine in use.
func (s *Sensor) Engine() *rules.Engine { return s.engine.Load() }

// Run drains the probe until ctx is done, then closes the probe. It must be
// called once.
func (s *Sensor) Run(ctx context.Context) error {
	defer s.probe.Close()
	if s.ctrs.Enabled() {
		cctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() { _ = s.ctrs.Run(cctx) })
		defer wg.Wait()
		defer cancel()
	}
	err := s.probe.Run(ctx, s.handle)
	s.hold.release(0, true, s.tables.MetadataPending, s.eval)
	if s.hold.Held > 0 {
		s.log.Info("events held for container metadata", "held", s.hold.Held, "evaluated_without", s.hold.TimedOut)
	}
	s.snapshot()
	return err
}

// snapInterval is how often (in event time) the loop refreshes the
// counters the metrics endpoint reads.
const snapInterval = int64(250 * time.Millisecond)

// handle is the event loop body.
func (s *Sensor) handle(ev *event.Event) {
	s.tables.Apply(ev)
	s.n++
	s.hold.release(ev.TS, false, s.tables.MetadataPending, s.eval)
	if s.hold.wants(ev, s.tables.MetadataPending) {
		s.hold.add(ev)
	} else {
		s.eval(ev)
	}
	if s.observe != nil {
		s.observe(ev)
	}
	if ev.TS-s.lastSnap >= snapInterval {
		s.lastSnap = ev.TS
		s.snapshot()
	}
}

// eval runs the rules on ev (now, or after it waited in s.hold).
func (s *Sensor) eval(ev *event.Event) {
	eng := s.engine.Load()
	s.cur = ev
	if s.metrics != nil && s.n%metrics.EvalSampleEvery == 0 {
		t0 := time.Now()
		eng.Eval(ev, s.onAlert)
		s.metrics.EvalSeconds.Observe(time.Since(t0).Seconds())
	} else {
		eng.Eval(ev, s.onAlert)
	}
	s.cur = nil
}

func (s *Sensor) onAlert(a *api.Alert) {
	if s.metrics != nil {
		s.metrics.Alerts.WithLabelValues(a.Rule, a.Priority.String()).Inc()
	}
	if s.sink != nil {
		s.sink(a, s.cur)
	}
	s.emit(a)
}

// snapshot copies the probe and state counters for the metrics endpoint.
// It runs on the event loop goroutine, which owns both.
func (s *Sensor) snapshot() {
	ps, err := s.probe.Stats()
	if err != nil {
		s.log.Warn("read probe counters", "err", err)
	}
	st := s.tables.Stats()
	s.snapMu.Lock()
	s.probeSnap, s.stateSnap = ps, st
	s.snapMu.Unlock()
	if s.metrics != nil {
		s.metrics.Events.Add(float64(s.n - s.nSnap))
		s.nSnap = s.n
	}
	if err == nil {
		if a, ok := s.kdrops.check(ps, s.lastSnap, s.cfg.DropAlertInterval, s.cfg.Hostname); ok {
			s.log.Warn("kernel dropped events", "alert", a.Output)
			s.onAlert(a)
		}
	}
}

// ProbeStats returns the probe counters as of the last snapshot.
func (s *Sensor) ProbeStats() probe.Stats {
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	return s.probeSnap
}

// StateStats returns the state counters as of the last snapshot.
func (s *Sensor) StateStats() state.Stats {
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	return s.stateSnap
}

// Events returns the number of events the loop handled (loop goroutine
// only, or after Run returned).
func (s *Sensor) Events() uint64 { return s.n }

// Reload loads the rules again and swaps them in without detaching the
// probe: events keep flowing and are evaluated by the old rules until the
// swap. On error the old rules stay and the error says why.
func (s *Sensor) Reload() error {
	s.reload.Lock()
	defer s.reload.Unlock()
	eng, rep, err := LoadRules(s.cfg, s.log)
	if err != nil {
		if s.metrics != nil {
			s.metrics.Reloads.WithLabelValues("error").Inc()
		}
		return fmt.Errorf("reload rules (keeping the previous rules): %w", err)
	}
	interest := eng.EventTypes()
	interest.Union(StateNeeds())
	if err := s.probe.SetInterest(interest); err != nil {
		old := s.engine.Load().EventTypes()
		old.Union(StateNeeds())
		if rerr := s.probe.SetInterest(old); rerr != nil {
			err = errors.Join(err, fmt.Errorf("restore the previous interest: %w", rerr))
		}
		if s.metrics != nil {
			s.metrics.Reloads.WithLabelValues("error").Inc()
		}
		return errors.Join(errors.New("reload rules (keeping the previous rules)"), err)
	}
	s.engine.Store(eng)
	s.logReport(rep)
	if s.metrics != nil {
		s.metrics.Reloads.WithLabelValues("ok").Inc()
		s.metrics.RulesActive.Set(float64(rep.Active))
	}
	return nil
}
