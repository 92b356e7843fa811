package ui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/history"
	"github.com/lookout-sec/lookout/router/internal/noise"
)

// timeRange reads r=1h|24h|7d|custom with since/until (datetime-local,
// UTC) from the query; default 24h.
type timeRange struct {
	R, Since, Until string // as given, for the form
	From, To        time.Time
}

const formTime = "2006-01-02T15:04"

func parseRange(v url.Values, now time.Time) (timeRange, error) {
	tr := timeRange{R: v.Get("r"), Since: v.Get("since"), Until: v.Get("until"), To: now}
	switch tr.R {
	case "1h":
		tr.From = now.Add(-time.Hour)
	case "", "24h":
		tr.R, tr.From = "24h", now.Add(-24*time.Hour)
	case "7d":
		tr.From = now.Add(-7 * 24 * time.Hour)
	case "custom":
		var err error
		if tr.From, err = time.Parse(formTime, tr.Since); err != nil {
			return tr, fmt.Errorf("since %q: a time such as 2026-12-03T14:00 (UTC)", tr.Since)
		}
		if tr.Until != "" {
			if tr.To, err = time.Parse(formTime, tr.Until); err != nil {
				return tr, fmt.Errorf("until %q: a time such as 2026-12-03T18:00 (UTC)", tr.Until)
			}
		}
		if !tr.From.Before(tr.To) {
			return tr, errors.New("since must be before until")
		}
	default:
		return tr, fmt.Errorf("range %q: 1h, 24h, 7d or custom", tr.R)
	}
	return tr, nil
}

type overviewData struct {
	Range      timeRange
	ByPriority chart
	ByRule     chart
	Tops       []topList
	Total      int64
	Store      string // where the counts come from
}

type topList struct {
	Title  string
	Dim    string
	Counts []history.Count
	Error  string
}

func (u *UI) overview(w http.ResponseWriter, r *http.Request) {
	tr, err := parseRange(r.URL.Query(), u.now())
	if err != nil {
		u.render(w, r, "overview", page{Title: "Overview", Nav: "overview", Error: err.Error(), Data: overviewData{Range: tr}})
		return
	}
	ctx := r.Context()
	span := history.Span{Since: tr.From, Until: tr.To, Step: stepFor(tr.To.Sub(tr.From))}
	span.Since = span.Since.Truncate(span.Step)
	d := overviewData{Range: tr, Store: u.searchStore()}
	pri, err := u.counter().Chart(ctx, history.DimPriority, span, 0)
	if err != nil {
		u.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	for _, s := range pri {
		d.Total += s.Total
	}
	d.ByPriority = stacked(span, pri)
	rules, err := u.counter().Chart(ctx, history.DimRule, span, 5)
	if err != nil {
		u.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	d.ByRule = lines(span, rules)
	for _, t := range []struct{ title, dim string }{
		{"Top rules", history.DimRule}, {"Top hosts", history.DimHost},
		{"Top namespaces", history.DimNamespace}, {"Top workloads", history.DimWorkload},
	} {
		c, err := u.counter().Top(ctx, t.dim, tr.From, tr.To, 10)
		tl := topList{Title: t.title, Dim: t.dim, Counts: c}
		if err != nil {
			// One list the store cannot count (an Elasticsearch field
			// without a keyword mapping) leaves the rest of the page.
			u.log.Warn("ui overview: a top list failed", "dim", t.dim, "err", err)
			tl.Error = err.Error()
		}
		d.Tops = append(d.Tops, tl)
	}
	u.render(w, r, "overview", page{Title: "Overview", Nav: "overview", Data: d})
}

func (u *UI) livePage(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, "live", page{Title: "Live", Nav: "live"})
}

type searchData struct {
	Form    url.Values
	Range   timeRange
	Alerts  []history.Alert
	Next    string // query of the next page
	Fields  string
	Elapsed time.Duration
	Store   string // where search reads
}

// parseFields reads "name=value" lines.
func parseFields(s string) (map[string]string, error) {
	out := map[string]string{}
	for i, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("fields line %d %q: name=value, e.g. proc.name=bash", i+1, l)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}

func (u *UI) search(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	if v.Get("r") == "" {
		v.Set("r", "24h")
	}
	d := searchData{Form: v, Fields: v.Get("fields"), Store: u.searchStore()}
	p := page{Title: "Search", Nav: "search", Data: &d}
	tr, err := parseRange(v, u.now())
	d.Range = tr
	if err != nil {
		p.Error = err.Error()
		u.render(w, r, "search", p)
		return
	}
	q := history.Query{Since: tr.From, Until: tr.To.Add(time.Second), Rule: v.Get("rule"), Source: v.Get("source"), Tag: v.Get("tag"), Text: v.Get("text"), Limit: 50}
	if s := v.Get("priority"); s != "" {
		pr, err := api.ParsePriority(s)
		if err != nil {
			p.Error = "priority: " + err.Error()
			u.render(w, r, "search", p)
			return
		}
		q.MinPriority = &pr
	}
	if q.Fields, err = parseFields(v.Get("fields")); err != nil {
		p.Error = err.Error()
		u.render(w, r, "search", p)
		return
	}
	if b := v.Get("before"); b != "" { // TS.ID[.UUID]
		ts, rest, _ := strings.Cut(b, ".")
		id, uuid, _ := strings.Cut(rest, ".")
		q.Before.TS, _ = strconv.ParseInt(ts, 10, 64)
		q.Before.ID, _ = strconv.ParseInt(id, 10, 64)
		q.Before.UUID = uuid
	}
	start := time.Now()
	d.Alerts, err = u.searcher().Search(r.Context(), q)
	d.Elapsed = time.Since(start).Round(time.Millisecond)
	if err != nil {
		p.Error = err.Error()
	}
	if len(d.Alerts) == q.Limit {
		nv := url.Values{}
		for k, x := range v {
			nv[k] = x
		}
		c := history.CursorOf(&d.Alerts[len(d.Alerts)-1])
		before := strconv.FormatInt(c.TS, 10) + "." + strconv.FormatInt(c.ID, 10)
		if u.opts.Search != nil {
			before += "." + c.UUID
		}
		nv.Set("before", before)
		d.Next = nv.Encode()
	}
	u.render(w, r, "search", p)
}

type alertData struct {
	Alert   history.Alert
	Finding *noise.Finding
	Outputs []string
	// Elastic: the alert came from Elasticsearch (ui.search), whose
	// documents hold only the noise stage's annotation of delivery.
	Elastic bool
	Store   string
	// Fallback: search reads Elasticsearch, which does not have the
	// alert (yet); it came from the router's history.
	Fallback bool
}

func (u *UI) alert(w http.ResponseWriter, r *http.Request) {
	a, from, err := u.getAlert(r.Context(), chi.URLParam(r, "uuid"))
	if err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, history.ErrNotFound) {
			code = http.StatusNotFound
		}
		u.fail(w, r, code, err)
		return
	}
	d := alertData{Alert: a, Elastic: from == fromSearch, Store: "the router's history",
		Fallback: u.opts.Search != nil && from == fromHistory}
	if d.Elastic {
		d.Store = u.searchStore()
	}
	if u.opts.Noise != nil && a.Finding != "" {
		if f, _, err := u.opts.Noise.Finding(a.Finding); err == nil {
			d.Finding = &f
		}
	}
	for k := range a.Outputs {
		d.Outputs = append(d.Outputs, k)
	}
	sort.Strings(d.Outputs)
	u.render(w, r, "alert", page{Title: a.Rule, Nav: "search", Data: d})
}

type findingsData struct {
	Status   string
	Rule     string
	Findings []noise.Finding
	Counts   map[string]int
	Learning []noise.WindowStatus
	Off      bool
}

func (u *UI) findings(w http.ResponseWriter, r *http.Request) {
	d := findingsData{Status: r.URL.Query().Get("status"), Rule: r.URL.Query().Get("rule"), Counts: map[string]int{}}
	p := page{Title: "Findings", Nav: "findings", Data: &d}
	if u.opts.Noise == nil {
		d.Off = true
		u.render(w, r, "findings", p)
		return
	}
	switch d.Status {
	case "", noise.StatusNew, noise.StatusExpected, noise.StatusResolved:
	default:
		p.Error = fmt.Sprintf("status %q: new, expected or resolved", d.Status)
		d.Status = ""
	}
	for _, f := range u.opts.Noise.Findings(noise.FindingQuery{}) {
		d.Counts[f.Status]++
	}
	d.Findings = u.opts.Noise.Findings(noise.FindingQuery{Status: d.Status, Rule: d.Rule, Limit: 500})
	d.Learning = u.opts.Noise.Learning()
	u.render(w, r, "findings", p)
}

func (u *UI) markFindings(w http.ResponseWriter, r *http.Request) {
	ids := r.PostForm["id"]
	status := r.PostFormValue("status")
	back := safeNext(r.PostFormValue("back"))
	if len(ids) == 0 {
		redirect(w, r, back, "Select at least one finding.")
		return
	}
	m := noise.Mark{IDs: ids, Status: status, By: sessionOf(r).name, Comment: r.PostFormValue("comment")}
	if e := strings.TrimSpace(r.PostFormValue("expires_in")); e != "" && status == noise.StatusExpected {
		dur, err := parseDuration(e)
		if err != nil {
			u.fail(w, r, http.StatusBadRequest, fmt.Errorf("expires in: %w", err))
			return
		}
		m.ExpiresAt = u.now().Add(dur)
	}
	n, err := u.opts.Noise.MarkFindings(m)
	if err != nil {
		u.fail(w, r, http.StatusBadRequest, err)
		return
	}
	u.log.Info("findings marked via the UI", "status", status, "by", m.By, "count", n)
	redirect(w, r, back, fmt.Sprintf("%d finding(s) marked %s.", n, status))
}

func (u *UI) startLearning(w http.ResponseWriter, r *http.Request) {
	d, err := parseDuration(r.PostFormValue("for"))
	if err != nil {
		u.fail(w, r, http.StatusBadRequest, fmt.Errorf("learn for: %w", err))
		return
	}
	ms, err := parseMatchers(r.PostFormValue("match"))
	if err != nil {
		u.fail(w, r, http.StatusBadRequest, err)
		return
	}
	win, err := u.opts.Noise.StartLearning(ms, d, sessionOf(r).name)
	if err != nil {
		u.fail(w, r, http.StatusBadRequest, err)
		return
	}
	redirect(w, r, "/ui/findings", "Learning "+win.ID+" started until "+fmtTime(win.EndsAt)+".")
}

func (u *UI) stopLearning(w http.ResponseWriter, r *http.Request) {
	if _, err := u.opts.Noise.StopLearning(chi.URLParam(r, "id")); err != nil {
		u.fail(w, r, http.StatusBadRequest, err)
		return
	}
	redirect(w, r, "/ui/findings", "Learning stopped.")
}
