package ui

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	dto "github.com/prometheus/client_model/go"

	"github.com/lookout-sec/lookout/router/internal/queue"
)

type rateSample struct {
	at        time.Time
	delivered float64
}

type outputRow struct {
	Name                    string
	Queued                  float64
	OldestAge               time.Duration
	Delivered, Failed, Dead float64
	Rate                    string // delivered per second since the page was last loaded
	DeadLetters             []queue.DeadLetter
	DeadErr                 string
}

// outputs shows each output's health from the router's own metrics and
// its dead letters.
func (u *UI) outputs(w http.ResponseWriter, r *http.Request) {
	vals := map[string]map[string]float64{}
	if u.opts.Gatherer != nil {
		mfs, err := u.opts.Gatherer.Gather()
		if err != nil {
			u.log.Warn("ui: gather metrics", "err", err)
		}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				out := label(m, "output")
				if out == "" {
					continue
				}
				if vals[out] == nil {
					vals[out] = map[string]float64{}
				}
				vals[out][mf.GetName()] += value(m)
			}
		}
	}
	now := u.now()
	var rows []outputRow
	for _, name := range u.opts.Outputs {
		v := vals[name]
		row := outputRow{
			Name: name, Queued: v["lookout_router_output_queued"],
			OldestAge: time.Duration(v["lookout_router_output_oldest_age_seconds"] * float64(time.Second)).Round(time.Second),
			Delivered: v["lookout_router_output_delivered_total"], Failed: v["lookout_router_output_failed_total"],
			Dead: v["lookout_router_output_dead_lettered_total"], Rate: "—",
		}
		u.rateMu.Lock()
		if prev, ok := u.rates[name]; ok && now.Sub(prev.at) > time.Second {
			row.Rate = fmt.Sprintf("%.1f/s", (row.Delivered-prev.delivered)/now.Sub(prev.at).Seconds())
		}
		u.rates[name] = rateSample{at: now, delivered: row.Delivered}
		u.rateMu.Unlock()
		if u.opts.DeadLetters != nil {
			dl, err := u.opts.DeadLetters.DeadLetters(name)
			if err != nil {
				row.DeadErr = err.Error()
			}
			if len(dl) > 100 {
				dl = dl[:100]
			}
			row.DeadLetters = dl
		}
		rows = append(rows, row)
	}
	u.render(w, r, "outputs", page{Title: "Outputs", Nav: "outputs", Data: rows})
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Untyped != nil:
		return m.GetUntyped().GetValue()
	}
	return 0
}

func (u *UI) deadScope(r *http.Request) (string, []uint64, error) {
	name := chi.URLParam(r, "output")
	known := false
	for _, o := range u.opts.Outputs {
		known = known || o == name
	}
	if !known || u.opts.DeadLetters == nil {
		return "", nil, fmt.Errorf("output %q is not configured", name)
	}
	var ids []uint64
	for _, s := range r.PostForm["id"] {
		id, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return "", nil, fmt.Errorf("id %q: not a number", s)
		}
		ids = append(ids, id)
	}
	return name, ids, nil
}

func (u *UI) replay(w http.ResponseWriter, r *http.Request) {
	name, ids, err := u.deadScope(r)
	if err != nil {
		u.fail(w, r, http.StatusBadRequest, err)
		return
	}
	n, err := u.opts.DeadLetters.Replay(name, ids)
	if err != nil {
		u.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	u.log.Info("dead letters replayed via the UI", "output", name, "count", n, "by", sessionOf(r).name)
	redirect(w, r, "/ui/outputs", fmt.Sprintf("%d dead letter(s) of %s queued again.", n, name))
}

func (u *UI) purge(w http.ResponseWriter, r *http.Request) {
	name, ids, err := u.deadScope(r)
	if err != nil {
		u.fail(w, r, http.StatusBadRequest, err)
		return
	}
	if len(ids) == 0 && r.PostFormValue("all") != "true" {
		u.fail(w, r, http.StatusBadRequest, fmt.Errorf("name the dead letters to purge, or purge all"))
		return
	}
	n, err := u.opts.DeadLetters.Purge(name, ids)
	if err != nil {
		u.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	u.log.Info("dead letters purged via the UI", "output", name, "count", n, "by", sessionOf(r).name)
	redirect(w, r, "/ui/outputs", fmt.Sprintf("%d dead letter(s) of %s purged.", n, name))
}
