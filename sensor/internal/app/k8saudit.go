package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/sensor/internal/config"
	"github.com/lookout-sec/lookout/sensor/internal/k8saudit"
	"github.com/lookout-sec/lookout/sensor/internal/metrics"
	"github.com/lookout-sec/lookout/sensor/internal/rules"
	"github.com/lookout-sec/lookout/sensor/internal/ruleset"
)

// defaultRules are the embedded rules files loaded when no rules are
// configured: the stable syscall rules when the syscall source is on, and
// Falco's k8s_audit rules when the k8s_audit source is.
func defaultRules(cfg config.Config) []rules.Source {
	var srcs []rules.Source
	if cfg.Sources.Syscall {
		srcs = append(srcs, rules.Source{Name: ruleset.DefaultName, Data: ruleset.Default})
	}
	if cfg.Sources.K8sAudit.Enabled() {
		srcs = append(srcs, rules.Source{Name: ruleset.K8sAuditName, Data: ruleset.K8sAudit})
	}
	return srcs
}

// K8sAudit is the running k8s_audit source.
type K8sAudit struct {
	Source *k8saudit.Source
	// Addr is the webhook's listening address (nil without a webhook).
	Addr net.Addr
	wg   sync.WaitGroup
}

// StartK8sAudit starts the receivers of the k8s_audit source that cfg
// enables (nil, nil when none): the webhook listener is open when it
// returns, so a bad address or TLS file fails start-up. The receivers stop
// when ctx is done; Wait waits for them.
func StartK8sAudit(ctx context.Context, cfg config.Config, log *slog.Logger, engine func() *rules.Engine, emit func(*api.Alert), m *metrics.Metrics) (*K8sAudit, error) {
	kc := cfg.Sources.K8sAudit
	if !kc.Enabled() {
		return nil, nil
	}
	onAlert := emit
	if m != nil {
		onAlert = func(a *api.Alert) {
			m.Alerts.WithLabelValues(a.Rule, a.Priority.String()).Inc()
			emit(a)
		}
	}
	src := k8saudit.New(k8saudit.Options{Engine: engine, Emit: onAlert, Logger: log,
		MaxBodyBytes: kc.MaxBodyBytes, DedupWindow: kc.DedupWindow})
	if m != nil {
		if err := m.Register(src.Collectors()...); err != nil {
			return nil, fmt.Errorf("k8s_audit metrics: %w", err)
		}
	}
	ka := &K8sAudit{Source: src}
	if kc.Listen != "" {
		scfg := k8saudit.ServerConfig{Path: kc.Path, TLS: k8saudit.TLS{CertFile: kc.TLS.CertFile, KeyFile: kc.TLS.KeyFile, ClientCAFile: kc.TLS.ClientCAFile}}
		if _, err := scfg.TLSConfig(); err != nil {
			return nil, fmt.Errorf("sources.k8s_audit: %w", err)
		}
		ln, err := net.Listen("tcp", kc.Listen)
		if err != nil {
			return nil, fmt.Errorf("sources.k8s_audit.listen %s: %w", kc.Listen, err)
		}
		ka.Addr = ln.Addr()
		scheme := "https"
		if kc.TLS.CertFile == "" {
			scheme = "http"
			log.Warn("k8s_audit webhook without TLS: audit events (with request bodies) travel in clear; set sources.k8s_audit.tls")
		}
		log.Info("k8s_audit webhook", "url", scheme+"://"+ln.Addr().String()+kc.Path)
		ka.wg.Go(func() {
			if err := src.Serve(ctx, ln, scfg); err != nil {
				log.Error("k8s_audit webhook", "err", err)
			}
		})
	}
	if kc.LogFile != "" {
		ka.wg.Go(func() {
			if err := src.Follow(ctx, kc.LogFile, k8saudit.FollowOptions{FromStart: kc.LogFromStart}); err != nil {
				log.Error("k8s_audit log file", "err", err)
			}
		})
	}
	return ka, nil
}

// Wait waits until the receivers stopped.
func (k *K8sAudit) Wait() {
	if k != nil {
		k.wg.Wait()
	}
}

// rulesOnly holds the engine when the syscall source is off (no Sensor):
// loaded from cfg, reloaded on SIGHUP.
type rulesOnly struct {
	cfg     config.Config
	log     *slog.Logger
	metrics *metrics.Metrics
	mu      sync.Mutex
	engine  atomic.Pointer[rules.Engine]
}

func newRulesOnly(cfg config.Config, log *slog.Logger, m *metrics.Metrics) (*rulesOnly, error) {
	r := &rulesOnly{cfg: cfg, log: log, metrics: m}
	eng, rep, err := LoadRules(cfg, log)
	if err != nil {
		return nil, fmt.Errorf("load rules: %w", err)
	}
	r.engine.Store(eng)
	r.loaded(rep)
	return r, nil
}

func (r *rulesOnly) loaded(rep *rules.Report) {
	var files []string
	for _, f := range rep.Files {
		files = append(files, f.Name)
	}
	r.log.Info("rules loaded", "files", files, "rules", rep.Rules, "active", rep.Active, "skipped", len(rep.Skipped), "warnings", len(rep.Warnings))
	if r.metrics != nil {
		r.metrics.RulesActive.Set(float64(rep.Active))
	}
}

// Engine returns the engine in use.
func (r *rulesOnly) Engine() *rules.Engine { return r.engine.Load() }

// Reload loads the rules again; on error the old ones stay.
func (r *rulesOnly) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	eng, rep, err := LoadRules(r.cfg, r.log)
	if err != nil {
		if r.metrics != nil {
			r.metrics.Reloads.WithLabelValues("error").Inc()
		}
		return fmt.Errorf("reload rules (keeping the previous rules): %w", err)
	}
	r.engine.Store(eng)
	r.loaded(rep)
	if r.metrics != nil {
		r.metrics.Reloads.WithLabelValues("ok").Inc()
	}
	return nil
}
