package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lookout-sec/lookout/outputs/elasticsearch"
	"github.com/lookout-sec/lookout/router/internal/config"
	"github.com/lookout-sec/lookout/router/internal/history"
	"github.com/lookout-sec/lookout/router/internal/history/elastic"
	"github.com/lookout-sec/lookout/router/internal/noise"
	"github.com/lookout-sec/lookout/router/internal/pgstate"
	"github.com/lookout-sec/lookout/router/internal/pipeline"
	"github.com/lookout-sec/lookout/router/internal/queue"
	"github.com/lookout-sec/lookout/router/internal/ui"
)

type uiDeps struct {
	fanout  *pipeline.Fanout
	queue   *queue.Store
	noise   *noise.Stage
	outputs []string
	reg     *prometheus.Registry
	log     *slog.Logger
}

// triage is the running UI: its handler, history and recorder (all nil
// when the UI is off).
type triage struct {
	handler  http.Handler
	store    history.Store
	recorder *history.Recorder
	search   *elastic.Search // ui.search: elasticsearch
}

func (t *triage) close() {
	if t.search != nil {
		_ = t.search.Close()
	}
	if t.store != nil {
		if err := t.store.Close(); err != nil {
			slog.Default().Warn("closing the ui history", "err", err)
		}
	}
}

// startUI opens the UI's history and hooks it and the live stream to the
// fan-out (docs/ui.md); without admin tokens or with ui.enabled: false it
// does nothing.
func startUI(ctx context.Context, cfg *config.Config, d uiDeps) (*triage, error) {
	t := &triage{}
	if !cfg.UI.On(cfg) {
		return t, nil
	}
	h := cfg.UI.History
	st, where, err := openHistory(ctx, cfg, d.log)
	if err != nil {
		return nil, err
	}
	t.store = st
	t.recorder = history.NewRecorder(st, history.RecorderOptions{
		Buffer: h.Buffer, MaxAge: h.MaxAge, MaxBytes: h.MaxBytes, Metrics: history.NewMetrics(d.reg), Logger: d.log,
	})
	hub := ui.NewHub()
	d.fanout.WithObserver(func(acc []pipeline.Accepted) {
		as := history.FromAccepted(acc)
		t.recorder.Offer(as)
		hub.Publish(as)
	})
	opts := ui.Options{
		SessionTTL: cfg.UI.SessionTTL, History: st, Hub: hub,
		Noise: d.noise, DeadLetters: d.queue, Outputs: d.outputs, Gatherer: d.reg, Logger: d.log,
	}
	search := "history"
	if t.search, err = openSearch(cfg); err != nil {
		st.Close()
		return nil, err
	}
	if t.search != nil {
		opts.Search, opts.SearchStore = t.search, t.search.Describe()
		search = opts.SearchStore
	}
	var admin, viewer []string
	for _, s := range cfg.AdminTokens {
		admin = append(admin, string(s))
	}
	for _, s := range cfg.UI.ViewerTokens {
		viewer = append(viewer, string(s))
	}
	opts.AdminTokens, opts.ViewerTokens = admin, viewer
	t.handler, err = ui.New(opts)
	if err != nil {
		st.Close()
		return nil, err
	}
	d.log.Info("triage UI at /ui/ (admin and viewer tokens log in)", "history", where, "max_age", h.MaxAge, "max_bytes", h.MaxBytes, "search", search)
	return t, nil
}

// openSearch returns the Elasticsearch search of ui.search (nil when
// search reads the history): over the index of the output it names, with
// that output's settings. The config loader checked the output.
func openSearch(cfg *config.Config) (*elastic.Search, error) {
	s := cfg.UI.Search
	if s.Source != config.UISearchElasticsearch {
		return nil, nil
	}
	for _, o := range cfg.Outputs {
		if o.Name != s.Output {
			continue
		}
		es, ok := o.Settings.(elasticsearch.Config)
		if !ok {
			return nil, fmt.Errorf("ui.search.output: output %q is not of type elasticsearch", o.Name)
		}
		search, err := elastic.New(o.Name, es, nil)
		if err != nil {
			return nil, fmt.Errorf("ui.search: %w", err)
		}
		return search, nil
	}
	return nil, fmt.Errorf("ui.search.output: %q is not a configured output", s.Output)
}

// openHistory opens the UI's history: in PostgreSQL, shared by every
// replica, when state.postgres is set (its own pool of max_conns
// connections, so that its writes and searches never take those ingest
// decides on); else the SQLite file. where says which, for the log.
func openHistory(ctx context.Context, cfg *config.Config, log *slog.Logger) (*history.SQL, string, error) {
	if pg := cfg.State.Postgres; pg.On() {
		if cfg.UI.History.Path != "" {
			log.Warn("ui.history.path is not used: the UI's history is in postgres (state.postgres)", "path", cfg.UI.History.Path)
		}
		db, err := pgstate.OpenDB(ctx, string(pg.DSN), pgstate.Options{Logger: log, MaxConns: pg.MaxConns})
		if err != nil {
			return nil, "", fmt.Errorf("ui history in state.postgres: %w", err)
		}
		st, err := history.OpenPostgres(ctx, db)
		if err != nil {
			db.Close()
			return nil, "", fmt.Errorf("ui history in state.postgres: %w", err)
		}
		return st, "postgres (state.postgres, shared by the replicas)", nil
	}
	path := cfg.UI.History.Path
	if path == "" && cfg.Queue.Dir != "" {
		path = filepath.Join(cfg.Queue.Dir, "ui-history.db")
	}
	st, err := history.OpenSQLite(ctx, path)
	if err != nil {
		return nil, "", fmt.Errorf("ui history (key ui.history.path): %w", err)
	}
	if path == "" {
		return st, "memory (queue.dir is empty)", nil
	}
	return st, path, nil
}
