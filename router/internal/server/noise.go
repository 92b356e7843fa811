package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/config"
	"github.com/lookout-sec/lookout/router/internal/match"
	"github.com/lookout-sec/lookout/router/internal/noise"
)

// noiseRoutes mounts the noise-control API under /admin (docs/noise-api.md):
//
//	GET  /admin/findings?status=&rule=&match=&since=&until=&limit=
//	GET  /admin/findings/{id}                 the finding and its sample alert
//	POST /admin/findings/mark                 {ids | query, status, by, comment, expires_at | expires_in}
//	GET  /admin/silences?state=active|pending|expired|all
//	POST /admin/silences                      {matchers, starts_at, ends_at | duration, created_by, comment, mark_expected}
//	POST /admin/silences/{id}/expire
//	POST /admin/silences/query                an alert: the active silences it matches
//	GET  /admin/learning
//	POST /admin/learning                      {match, for, by}
//	POST /admin/learning/{id}/stop
func (s *server) noiseRoutes(r chi.Router) {
	r.Get("/findings", s.listFindings)
	r.Get("/findings/{id}", s.getFinding)
	r.Post("/findings/mark", s.markFindings)
	r.Get("/silences", s.listSilences)
	r.Post("/silences", s.addSilence)
	r.Post("/silences/{id}/expire", s.expireSilence)
	r.Post("/silences/query", s.querySilences)
	r.Get("/learning", s.listLearning)
	r.Post("/learning", s.startLearning)
	r.Post("/learning/{id}/stop", s.stopLearning)
}

// FindingQuery is the JSON form of a findings query.
type FindingQuery struct {
	Status string    `json:"status,omitempty"`
	Rule   string    `json:"rule,omitempty"`
	Match  []string  `json:"match,omitempty"`
	Since  time.Time `json:"since,omitzero"`
	Until  time.Time `json:"until,omitzero"`
	Limit  int       `json:"limit,omitempty"`
}

func (q FindingQuery) parse() (noise.FindingQuery, error) {
	ms, err := match.ParseAll(q.Match)
	if err != nil {
		return noise.FindingQuery{}, fmt.Errorf("match: %w", err)
	}
	switch q.Status {
	case "", noise.StatusNew, noise.StatusExpected, noise.StatusResolved:
	default:
		return noise.FindingQuery{}, fmt.Errorf("status %q: allowed: new, expected, resolved", q.Status)
	}
	return noise.FindingQuery{Status: q.Status, Rule: q.Rule, Match: ms, Since: q.Since, Until: q.Until, Limit: q.Limit}, nil
}

func queryFromURL(r *http.Request) (FindingQuery, error) {
	v := r.URL.Query()
	q := FindingQuery{Status: v.Get("status"), Rule: v.Get("rule"), Match: v["match"]}
	for _, t := range []struct {
		key string
		dst *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		if s := v.Get(t.key); s != "" {
			x, err := parseTimeOrAgo(s)
			if err != nil {
				return q, fmt.Errorf("%s: %w", t.key, err)
			}
			*t.dst = x
		}
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n <= 0 {
			return q, fmt.Errorf("limit %q: a positive number", l)
		}
		q.Limit = n
	}
	return q, nil
}

// parseTimeOrAgo reads RFC 3339 or a duration before now ("24h", "7d").
func parseTimeOrAgo(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := config.ParseDuration(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration ago such as 24h", s)
	}
	return time.Now().Add(-d), nil
}

func (s *server) listFindings(w http.ResponseWriter, r *http.Request) {
	q, err := queryFromURL(r)
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	nq, err := q.parse()
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	out := s.opts.Noise.Findings(nq)
	if out == nil {
		out = []noise.Finding{}
	}
	writeJSON(w, out)
}

func (s *server) getFinding(w http.ResponseWriter, r *http.Request) {
	f, sample, err := s.opts.Noise.Finding(chi.URLParam(r, "id"))
	if err != nil {
		noiseError(w, err)
		return
	}
	writeJSON(w, map[string]any{"finding": f, "sample": sample})
}

// MarkRequest is the body of POST /admin/findings/mark.
type MarkRequest struct {
	IDs       []string      `json:"ids,omitempty"`
	Query     *FindingQuery `json:"query,omitempty"`
	Status    string        `json:"status"`
	By        string        `json:"by"`
	Comment   string        `json:"comment,omitempty"`
	ExpiresAt time.Time     `json:"expires_at,omitzero"`
	ExpiresIn string        `json:"expires_in,omitempty"` // a duration, e.g. 30d
}

func (s *server) markFindings(w http.ResponseWriter, r *http.Request) {
	var req MarkRequest
	if !decodeBody(w, r, &req) {
		return
	}
	m := noise.Mark{IDs: req.IDs, Status: req.Status, By: req.By, Comment: req.Comment, ExpiresAt: req.ExpiresAt}
	if req.ExpiresIn != "" {
		d, err := config.ParseDuration(req.ExpiresIn)
		if err != nil {
			httpError(w, http.StatusBadRequest, "expires_in: "+err.Error())
			return
		}
		m.ExpiresAt = time.Now().Add(d)
	}
	if req.Query != nil {
		q, err := req.Query.parse()
		if err != nil {
			httpError(w, http.StatusBadRequest, "query."+err.Error())
			return
		}
		m.Query = &q
	}
	n, err := s.opts.Noise.MarkFindings(m)
	if err != nil {
		noiseError(w, err)
		return
	}
	s.opts.Logger.Info("findings marked via the admin API", "status", req.Status, "by", req.By, "count", n)
	writeJSON(w, map[string]int{"marked": n})
}

func (s *server) listSilences(w http.ResponseWriter, r *http.Request) {
	state := r.URL.Query().Get("state")
	switch state {
	case "", "all", noise.SilenceActive, noise.SilencePending, noise.SilenceExpired:
	default:
		httpError(w, http.StatusBadRequest, fmt.Sprintf("state %q: allowed: active, pending, expired, all", state))
		return
	}
	out := s.opts.Noise.Silences(state)
	if out == nil {
		out = []noise.Silence{}
	}
	writeJSON(w, out)
}

// SilenceRequest is the body of POST /admin/silences.
type SilenceRequest struct {
	Matchers     []string  `json:"matchers"`
	StartsAt     time.Time `json:"starts_at,omitzero"`
	EndsAt       time.Time `json:"ends_at,omitzero"`
	Duration     string    `json:"duration,omitempty"` // instead of ends_at: from starts_at (or now)
	CreatedBy    string    `json:"created_by"`
	Comment      string    `json:"comment"`
	MarkExpected bool      `json:"mark_expected,omitempty"`
}

func (s *server) addSilence(w http.ResponseWriter, r *http.Request) {
	var req SilenceRequest
	if !decodeBody(w, r, &req) {
		return
	}
	ms, err := match.ParseAll(req.Matchers)
	if err != nil {
		httpError(w, http.StatusBadRequest, "matchers: "+err.Error())
		return
	}
	n := noise.NewSilence{Matchers: ms, StartsAt: req.StartsAt, EndsAt: req.EndsAt, CreatedBy: req.CreatedBy, Comment: req.Comment, MarkExpected: req.MarkExpected}
	if req.Duration != "" {
		if !req.EndsAt.IsZero() {
			httpError(w, http.StatusBadRequest, "give ends_at or duration, not both")
			return
		}
		d, err := config.ParseDuration(req.Duration)
		if err != nil || d <= 0 {
			httpError(w, http.StatusBadRequest, fmt.Sprintf("duration %q: a positive duration such as 2h or 7d", req.Duration))
			return
		}
		start := req.StartsAt
		if start.IsZero() {
			start = time.Now()
		}
		n.EndsAt = start.Add(d)
	}
	x, err := s.opts.Noise.AddSilence(n)
	if err != nil {
		noiseError(w, err)
		return
	}
	s.opts.Logger.Info("silence created via the admin API", "id", x.ID, "by", x.CreatedBy, "matchers", x.Matchers.String())
	w.WriteHeader(http.StatusCreated)
	writeJSON(w, x)
}

func (s *server) expireSilence(w http.ResponseWriter, r *http.Request) {
	x, err := s.opts.Noise.ExpireSilence(chi.URLParam(r, "id"))
	if err != nil {
		noiseError(w, err)
		return
	}
	s.opts.Logger.Info("silence expired via the admin API", "id", x.ID)
	writeJSON(w, x)
}

func (s *server) querySilences(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.BodyLimit))
	if err != nil {
		httpError(w, http.StatusBadRequest, "body: "+err.Error())
		return
	}
	var a api.Alert
	if err := json.Unmarshal(b, &a); err != nil {
		httpError(w, http.StatusBadRequest, "body: an alert in Falco's JSON: "+err.Error())
		return
	}
	out := s.opts.Noise.QuerySilences(&a)
	if out == nil {
		out = []noise.Silence{}
	}
	writeJSON(w, out)
}

func (s *server) listLearning(w http.ResponseWriter, _ *http.Request) {
	out := s.opts.Noise.Learning()
	if out == nil {
		out = []noise.WindowStatus{}
	}
	writeJSON(w, out)
}

// LearnRequest is the body of POST /admin/learning.
type LearnRequest struct {
	Match []string `json:"match,omitempty"`
	For   string   `json:"for"`
	By    string   `json:"by"`
}

func (s *server) startLearning(w http.ResponseWriter, r *http.Request) {
	var req LearnRequest
	if !decodeBody(w, r, &req) {
		return
	}
	ms, err := match.ParseAll(req.Match)
	if err != nil {
		httpError(w, http.StatusBadRequest, "match: "+err.Error())
		return
	}
	d, err := config.ParseDuration(req.For)
	if err != nil {
		httpError(w, http.StatusBadRequest, "for: "+err.Error())
		return
	}
	win, err := s.opts.Noise.StartLearning(ms, d, req.By)
	if err != nil {
		noiseError(w, err)
		return
	}
	s.opts.Logger.Info("learning started via the admin API", "id", win.ID, "for", d, "scope", win.Scope.String(), "by", req.By)
	w.WriteHeader(http.StatusCreated)
	writeJSON(w, win)
}

func (s *server) stopLearning(w http.ResponseWriter, r *http.Request) {
	win, err := s.opts.Noise.StopLearning(chi.URLParam(r, "id"))
	if err != nil {
		noiseError(w, err)
		return
	}
	writeJSON(w, win)
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		httpError(w, http.StatusBadRequest, "body: "+err.Error())
		return false
	}
	return true
}

func noiseError(w http.ResponseWriter, err error) {
	code := http.StatusBadRequest
	if errors.Is(err, noise.ErrNotFound) {
		code = http.StatusNotFound
	}
	httpError(w, code, err.Error())
}
