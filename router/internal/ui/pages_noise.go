package ui

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/lookout-sec/lookout/router/internal/history"
	"github.com/lookout-sec/lookout/router/internal/match"
	"github.com/lookout-sec/lookout/router/internal/noise"
)

// parseDuration is a Go duration or whole days ("30d").
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(d); err == nil && n > 0 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration such as 2h or 30d", s)
	}
	return d, nil
}

// parseMatchers reads one matcher per line.
func parseMatchers(s string) (match.All, error) {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	ms, err := match.ParseAll(lines)
	if err != nil {
		return nil, fmt.Errorf("matchers: %w", err)
	}
	return ms, nil
}

type silencesData struct {
	State    string
	Silences []silenceRow
	Off      bool
}

type silenceRow struct {
	noise.Silence
	State string
}

func (u *UI) silences(w http.ResponseWriter, r *http.Request) {
	d := silencesData{State: r.URL.Query().Get("state")}
	p := page{Title: "Silences", Nav: "silences", Data: &d}
	if u.opts.Noise == nil {
		d.Off = true
		u.render(w, r, "silences", p)
		return
	}
	switch d.State {
	case "":
		d.State = "all"
	case "all", noise.SilenceActive, noise.SilencePending, noise.SilenceExpired:
	default:
		p.Error = fmt.Sprintf("state %q: active, pending, expired or all", d.State)
		d.State = "all"
	}
	now := u.now()
	for _, x := range u.opts.Noise.Silences(d.State) {
		d.Silences = append(d.Silences, silenceRow{Silence: x, State: x.StateAt(now)})
	}
	sort.SliceStable(d.Silences, func(i, j int) bool { return d.Silences[i].StartsAt.After(d.Silences[j].StartsAt) })
	u.render(w, r, "silences", p)
}

type newSilenceData struct {
	Matchers string
	From     string
	Duration string
	Comment  string
}

// newSilence is the form, pre-filled from ?from=UUID: the rule and the
// finding's fingerprint fields (or host and process when there is none).
func (u *UI) newSilence(w http.ResponseWriter, r *http.Request) {
	d := newSilenceData{Duration: "24h"}
	p := page{Title: "New silence", Nav: "silences", Data: &d}
	if id := r.URL.Query().Get("from"); id != "" {
		a, err := u.getForSilence(r.Context(), id)
		if err != nil {
			p.Error = err.Error()
		} else {
			d.From = a.UUID
			d.Matchers = strings.Join(prefill(&a, u.opts.Noise), "\n")
		}
	}
	u.render(w, r, "silence_new", p)
}

func prefill(a *history.Alert, st *noise.Stage) []string {
	out := []string{"rule = " + strconv.Quote(a.Rule)}
	var names []string
	if st != nil && a.Finding != "" {
		if f, _, err := st.Finding(a.Finding); err == nil {
			for k := range f.Fields {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				if v := f.Fields[k]; v != "" && v != "<NA>" && k != "rule" {
					out = append(out, k+" = "+strconv.Quote(v))
				}
			}
			return out
		}
	}
	for _, k := range []string{"hostname", "k8s.ns.name", "container.image.repository", "proc.name"} {
		if v, ok := a.Field(k); ok && v != "" && v != "<NA>" {
			out = append(out, k+" = "+strconv.Quote(v))
		}
	}
	return out
}

func (u *UI) createSilence(w http.ResponseWriter, r *http.Request) {
	ms, err := parseMatchers(r.PostFormValue("matchers"))
	if err == nil && len(ms) == 0 {
		err = errors.New("matchers: at least one")
	}
	if err != nil {
		u.fail(w, r, http.StatusBadRequest, err)
		return
	}
	n := noise.NewSilence{Matchers: ms, CreatedBy: sessionOf(r).name, Comment: r.PostFormValue("comment"), MarkExpected: r.PostFormValue("mark_expected") == "on"}
	if s := strings.TrimSpace(r.PostFormValue("duration")); s != "" {
		d, err := parseDuration(s)
		if err != nil {
			u.fail(w, r, http.StatusBadRequest, fmt.Errorf("duration: %w", err))
			return
		}
		n.EndsAt = u.now().Add(d)
	}
	x, err := u.opts.Noise.AddSilence(n)
	if err != nil {
		u.fail(w, r, http.StatusBadRequest, err)
		return
	}
	u.log.Info("silence created via the UI", "id", x.ID, "by", x.CreatedBy, "matchers", x.Matchers.String())
	redirect(w, r, "/ui/silences", "Silence "+x.ID+" created.")
}

func (u *UI) expireSilence(w http.ResponseWriter, r *http.Request) {
	x, err := u.opts.Noise.ExpireSilence(chi.URLParam(r, "id"))
	if err != nil {
		u.fail(w, r, http.StatusBadRequest, err)
		return
	}
	u.log.Info("silence expired via the UI", "id", x.ID, "by", sessionOf(r).name)
	redirect(w, r, "/ui/silences", "Silence "+x.ID+" expired.")
}
