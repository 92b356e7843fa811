// Package server is the router's HTTP front: it authenticates, decodes and
// validates incoming alerts and hands them to the pipeline. Endpoints:
//
//	POST /           one Falco alert, exactly as Falco's http_output sends it
//	POST /v1/alerts  a batch: JSON array or NDJSON (gzip accepted)
//	POST /test       a test alert through every output, filters bypassed
//	                 (?filters=apply: as a real alert; ?rule=, ?priority=);
//	                 answers with what each output did with it (api.TestReport)
//	GET  /v1/limits  the body limit as JSON (limits.go)
//	GET  /healthz    liveness ("ok")
//	GET  /ping       "pong" (Falcosidekick compatibility)
//	GET  /metrics    Prometheus metrics
//	/admin/...       dead letters: list, replay, purge (admin.go; only with admin tokens)
//	/ui/...          the triage web UI (router/internal/ui; only with admin tokens)
//
// Bad input gets 400 naming the field and problem, a missing or wrong bearer
// token 401, a body past the limit 413, a wrong method 405 and any other path
// 404. 200 means every output the alert routes to has it in its durable
// queue (the commit is on disk); a full store or disk answers 503 with
// Retry-After and nothing of the request is kept.
package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/metrics"
	"github.com/lookout-sec/lookout/router/internal/noise"
	"github.com/lookout-sec/lookout/router/internal/queue"
)

// Ingester is what the server hands accepted alerts to.
type Ingester interface {
	Ingest(ctx context.Context, alerts []*api.Alert, bypassFilters bool) error
	// Test routes one test alert and reports what each output did with it.
	Test(ctx context.Context, a *api.Alert, applyFilters bool) (api.TestReport, error)
}

// Options configures a server.
type Options struct {
	Tokens    []string // accepted bearer tokens; empty disables auth
	BodyLimit int64    // maximum request body in bytes (after gzip decoding too)
	Ingester  Ingester
	Metrics   *metrics.Metrics
	Gatherer  prometheus.Gatherer
	Logger    *slog.Logger
	Hostname  string // used in test alerts
	// AdminTokens enable the /admin dead-letter API (admin.go) when set;
	// DeadLetters and Outputs serve it.
	AdminTokens []string
	DeadLetters DeadLetters
	// Pprof mounts net/http/pprof at /admin/debug/pprof/ (admin.pprof).
	Pprof   bool
	Outputs []string
	// Noise serves the findings, silences and learning API (noise.go)
	// under /admin; nil leaves it out.
	Noise  *noise.Stage
	Now    func() time.Time // clock; default time.Now
	Limits Limits           // request limits (limits.go); zero: none
	// UI is the triage web UI (router/internal/ui), mounted at /ui/ when
	// set; it does its own login (admin and viewer tokens).
	UI http.Handler
}

type server struct {
	opts   Options
	hashes [][32]byte
}

// New returns the router's HTTP handler.
func New(opts Options) http.Handler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &server{opts: opts}
	for _, t := range opts.Tokens {
		s.hashes = append(s.hashes, sha256.Sum256([]byte(t)))
	}
	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, _ *http.Request) { httpError(w, http.StatusNotFound, "no such endpoint") })
	r.MethodNotAllowed(func(w http.ResponseWriter, _ *http.Request) {
		httpError(w, http.StatusMethodNotAllowed, "method not allowed")
	})
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	r.Get("/ping", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "pong\n") })
	r.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{}))
	r.Group(func(r chi.Router) {
		r.Use(s.ingestLimits, s.auth)
		r.With(s.requireJSON).Post(api.PathAlert, s.single)
		r.With(s.requireJSON).Post(api.PathBatch, s.batch)
		r.Get(api.PathLimits, s.limits)
		r.Post("/test", s.test)
	})
	if len(opts.AdminTokens) > 0 && opts.DeadLetters != nil {
		r.Route("/admin", s.admin)
	}
	if opts.UI != nil {
		r.Get("/ui", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ui/", http.StatusMovedPermanently) })
		r.Mount("/ui", opts.UI)
	}
	return r
}

func (s *server) auth(next http.Handler) http.Handler {
	if len(s.hashes) == 0 {
		return next
	}
	return s.bearer(s.hashes, next)
}

// bearer lets a request through only with one of the tokens hashed in
// hashes (compared in constant time).
func (s *server) bearer(hashes [][32]byte, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearerToken(r.Header.Get("Authorization"))
		got := sha256.Sum256([]byte(tok))
		match := 0
		for _, h := range hashes {
			match |= subtle.ConstantTimeCompare(got[:], h[:])
		}
		if !ok || match != 1 {
			s.opts.Metrics.IngestRejects.WithLabelValues("401").Inc()
			w.Header().Set("WWW-Authenticate", `Bearer realm="lookout"`)
			httpError(w, http.StatusUnauthorized, "missing or invalid bearer token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// readBody reads the body within the limit, decoding gzip when declared.
func (s *server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, int, error) {
	var rd io.Reader = http.MaxBytesReader(w, r.Body, s.opts.BodyLimit)
	switch enc := strings.ToLower(r.Header.Get("Content-Encoding")); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(rd)
		if err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("body: bad gzip: %w", err)
		}
		defer zr.Close()
		rd = io.LimitReader(zr, s.opts.BodyLimit+1)
	default:
		return nil, http.StatusUnsupportedMediaType, fmt.Errorf("Content-Encoding %q is not supported (gzip or none)", enc)
	}
	b, err := io.ReadAll(rd)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || int64(len(b)) > s.opts.BodyLimit {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("body exceeds the limit of %d bytes", s.opts.BodyLimit)
	}
	if err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("body: %w", err)
	}
	return b, 0, nil
}

func (s *server) single(w http.ResponseWriter, r *http.Request) {
	start := s.opts.Now()
	b, code, err := s.readBody(w, r)
	if err != nil {
		s.reject(w, code, err)
		return
	}
	a, err := api.DecodeAlert(b)
	if err != nil {
		s.reject(w, http.StatusBadRequest, err)
		return
	}
	s.accept(w, r, "alert", []*api.Alert{a}, false, start)
}

func (s *server) batch(w http.ResponseWriter, r *http.Request) {
	start := s.opts.Now()
	b, code, err := s.readBody(w, r)
	if err != nil {
		s.reject(w, code, err)
		return
	}
	as, err := api.DecodeBatch(bytes.NewReader(b))
	if err != nil {
		s.reject(w, http.StatusBadRequest, err)
		return
	}
	s.accept(w, r, "batch", as, false, start)
}

func (s *server) test(w http.ResponseWriter, r *http.Request) {
	a := &api.Alert{
		Hostname: s.opts.Hostname, Rule: "Test rule", Priority: api.PriorityDebug, Source: "lookout",
		Output:       "This is a test from lookout-router",
		OutputFields: map[string]any{}, Tags: []string{"test"}, Time: s.opts.Now().UTC(), UUID: uuid.NewString(),
	}
	var apply bool
	switch f := r.URL.Query().Get("filters"); f {
	case "", "bypass":
	case "apply":
		apply = true
	default:
		s.reject(w, http.StatusBadRequest, fmt.Errorf("filters=%q: want bypass (default) or apply", f))
		return
	}
	if p := r.URL.Query().Get("priority"); p != "" {
		pr, err := api.ParsePriority(p)
		if err != nil {
			s.reject(w, http.StatusBadRequest, fmt.Errorf("priority: %w", err))
			return
		}
		a.Priority = pr
	}
	if rule := r.URL.Query().Get("rule"); rule != "" {
		a.Rule = rule
	}
	start := s.opts.Now()
	s.opts.Metrics.IngestAlerts.WithLabelValues("test").Inc()
	rep, err := s.opts.Ingester.Test(r.Context(), a, apply)
	if err != nil {
		if errors.Is(err, queue.ErrFull) || errors.Is(err, queue.ErrClosed) {
			w.Header().Set("Retry-After", "1")
			s.reject(w, http.StatusServiceUnavailable, err)
			return
		}
		s.reject(w, http.StatusInternalServerError, err)
		return
	}
	s.opts.Metrics.Ingest.WithLabelValues("test").Observe(s.opts.Now().Sub(start).Seconds())
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(rep)
}

func (s *server) accept(w http.ResponseWriter, r *http.Request, endpoint string, as []*api.Alert, bypass bool, start time.Time) {
	for _, a := range as {
		if a.UUID == "" {
			a.UUID = uuid.NewString()
		}
	}
	s.opts.Metrics.IngestAlerts.WithLabelValues(endpoint).Add(float64(len(as)))
	if err := s.opts.Ingester.Ingest(r.Context(), as, bypass); err != nil {
		if errors.Is(err, queue.ErrFull) || errors.Is(err, queue.ErrClosed) {
			w.Header().Set("Retry-After", "1")
			s.reject(w, http.StatusServiceUnavailable, err)
			return
		}
		s.reject(w, http.StatusInternalServerError, err)
		return
	}
	s.opts.Metrics.Ingest.WithLabelValues(endpoint).Observe(s.opts.Now().Sub(start).Seconds())
	w.Header().Set("Content-Type", "application/json")
	if len(as) == 1 {
		fmt.Fprintf(w, "{\"accepted\":1,\"uuid\":%q}\n", as[0].UUID)
		return
	}
	fmt.Fprintf(w, "{\"accepted\":%d}\n", len(as))
}

func (s *server) reject(w http.ResponseWriter, code int, err error) {
	s.opts.Metrics.IngestRejects.WithLabelValues(fmt.Sprint(code)).Inc()
	if code >= 500 {
		s.opts.Logger.Warn("ingest refused", "status", code, "err", err)
	}
	httpError(w, code, err.Error())
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg+"\n")
}
