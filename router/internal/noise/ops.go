package noise

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/match"
)

// ErrNotFound is returned for an unknown finding, silence or window id.
var ErrNotFound = errors.New("not found")

// finishWindows marks the findings of learning windows that ended expected.
func (s *Stage) finishWindows(now time.Time, ch *Changes) {
	for _, w := range s.windows {
		if w.Done || now.Before(w.EndsAt) {
			continue
		}
		n := 0
		for _, f := range s.findings {
			if f.LearnedIn == w.ID && f.Status == StatusNew {
				s.setStatus(f, StatusExpected, "baseline", now, fmt.Sprintf("seen while learning (window %s, %s – %s)",
					w.ID, w.StartsAt.UTC().Format(time.RFC3339), w.EndsAt.UTC().Format(time.RFC3339)), time.Time{})
				ch.finding(f)
				n++
			}
		}
		w.Done, w.Learned = true, n
		ch.window(w)
		s.log.Info("learning window ended: its findings are expected now", "window", w.ID, "findings", n)
	}
}

// retain deletes findings past the retention age or count.
func (s *Stage) retain(now time.Time, ch *Changes) {
	var all []*Finding
	for id, f := range s.findings {
		if now.Sub(f.LastSeen) > s.cfg.MaxAge {
			s.dropFinding(id, ch)
			continue
		}
		all = append(all, f)
	}
	if extra := len(all) - s.cfg.MaxFindings; extra > 0 {
		sort.Slice(all, func(i, j int) bool { return all[i].LastSeen.Before(all[j].LastSeen) })
		for _, f := range all[:extra] {
			s.dropFinding(f.ID, ch)
		}
	}
}

func (s *Stage) dropFinding(id string, ch *Changes) {
	delete(s.findings, id)
	delete(s.dirty, id)
	ch.del(bucketFindings, id)
	ch.del(bucketSamples, id)
}

// commit writes ch in a transaction of its own (admin operations).
func (s *Stage) commit(ch *Changes) error {
	if s.st == nil || ch.empty() {
		return nil
	}
	if err := s.st.Update(ch.seal().Apply); err != nil {
		return fmt.Errorf("store noise state: %w", err)
	}
	return nil
}

// FindingQuery selects findings.
type FindingQuery struct {
	Status string    // new, expected, resolved; "" any
	Rule   string    // Falco glob on the rule name; "" any
	Match  match.All // on the finding's sample alert (fields of the fingerprint, rule, priority...)
	Since  time.Time // last seen at or after
	Until  time.Time // first seen before
	Limit  int       // 0: 1000
}

// Findings returns the findings q selects, most recently seen first.
func (s *Stage) Findings(q FindingQuery) []Finding {
	s.lockFresh(bucketFindings)
	defer s.mu.Unlock()
	if q.Limit <= 0 {
		q.Limit = 1000
	}
	var out []Finding
	for _, f := range s.findings {
		if s.selects(f, q) {
			out = append(out, s.copyFinding(f))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].LastSeen.Equal(out[j].LastSeen) {
			return out[i].LastSeen.After(out[j].LastSeen)
		}
		return out[i].ID < out[j].ID
	})
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out
}

func (s *Stage) selects(f *Finding, q FindingQuery) bool {
	if q.Status != "" && f.Status != q.Status {
		return false
	}
	if q.Rule != "" && !match.GlobMatch(q.Rule, f.Rule) {
		return false
	}
	if !q.Since.IsZero() && f.LastSeen.Before(q.Since) {
		return false
	}
	if !q.Until.IsZero() && !f.FirstSeen.Before(q.Until) {
		return false
	}
	if len(q.Match) > 0 && !q.Match.Matches(f.alertView()) {
		return false
	}
	return true
}

// alertView is the finding as an alert for matchers: rule, source,
// priority and the fingerprint's fields.
func (f *Finding) alertView() *api.Alert {
	p, _ := api.ParsePriority(f.Priority)
	fields := make(map[string]any, len(f.Fields))
	for k, v := range f.Fields {
		fields[k] = v
	}
	return &api.Alert{Rule: f.Rule, Source: f.Source, Priority: p, Hostname: f.Fields["hostname"], OutputFields: fields}
}

func (s *Stage) copyFinding(f *Finding) Finding {
	c := *f
	c.Notified = make(map[string]Notice, len(f.Notified))
	for k, v := range f.Notified {
		c.Notified[k] = v
	}
	return c
}

// Finding returns one finding and its sample alert (nil if not stored).
func (s *Stage) Finding(id string) (Finding, json.RawMessage, error) {
	s.lockFresh(bucketFindings)
	f := s.findings[id]
	if f == nil {
		s.mu.Unlock()
		return Finding{}, nil, fmt.Errorf("finding %q: %w", id, ErrNotFound)
	}
	c := s.copyFinding(f)
	s.mu.Unlock()
	var sample json.RawMessage
	if s.st != nil {
		b, err := s.st.Get(bucketSamples, id)
		if err != nil {
			return c, nil, err
		}
		sample = b
	}
	return c, sample, nil
}

// Mark is a status change for findings chosen by ids or by a query.
type Mark struct {
	IDs       []string
	Query     *FindingQuery
	Status    string // expected, resolved or new
	By        string
	Comment   string
	ExpiresAt time.Time // expected only; zero: no expiry
}

// MarkFindings applies m and returns how many findings changed.
func (s *Stage) MarkFindings(m Mark) (int, error) {
	switch m.Status {
	case StatusExpected, StatusResolved, StatusNew:
	default:
		return 0, fmt.Errorf("status %q: allowed: expected, resolved, new", m.Status)
	}
	if m.By == "" {
		return 0, errors.New("by: who is marking is required")
	}
	if len(m.IDs) == 0 && m.Query == nil {
		return 0, errors.New("name the findings: ids, or a query (status, rule, match)")
	}
	s.lockFresh(bucketFindings)
	now := s.now()
	ch := &Changes{}
	var chosen []*Finding
	for _, id := range m.IDs {
		f := s.findings[id]
		if f == nil {
			s.mu.Unlock()
			return 0, fmt.Errorf("finding %q: %w", id, ErrNotFound)
		}
		chosen = append(chosen, f)
	}
	if m.Query != nil {
		for _, f := range s.findings {
			if s.selects(f, *m.Query) {
				chosen = append(chosen, f)
			}
		}
	}
	for _, f := range chosen {
		exp := time.Time{}
		if m.Status == StatusExpected {
			exp = m.ExpiresAt
		}
		s.setStatus(f, m.Status, m.By, now, m.Comment, exp)
		if m.Status == StatusNew {
			f.Notified = nil
		}
		ch.finding(f)
	}
	s.mu.Unlock()
	return len(chosen), s.commit(ch)
}

// NewSilence is what AddSilence takes.
type NewSilence struct {
	Matchers     match.All
	StartsAt     time.Time // zero: now
	EndsAt       time.Time // zero: never
	CreatedBy    string
	Comment      string
	MarkExpected bool
}

// AddSilence stores a new silence and returns it.
func (s *Stage) AddSilence(n NewSilence) (Silence, error) {
	if len(n.Matchers) == 0 {
		return Silence{}, errors.New("matchers: at least one is required (a silence of everything is refused)")
	}
	if n.CreatedBy == "" {
		return Silence{}, errors.New("created_by: is required")
	}
	if n.Comment == "" {
		return Silence{}, errors.New("comment: is required (say why)")
	}
	s.lockFresh(bucketSilences, bucketFindings)
	now := s.now()
	if n.StartsAt.IsZero() {
		n.StartsAt = now
	}
	if !n.EndsAt.IsZero() && !n.EndsAt.After(n.StartsAt) {
		s.mu.Unlock()
		return Silence{}, fmt.Errorf("ends_at %s is not after starts_at %s", n.EndsAt.Format(time.RFC3339), n.StartsAt.Format(time.RFC3339))
	}
	x := &Silence{
		ID: newID(), Matchers: n.Matchers, StartsAt: n.StartsAt, EndsAt: n.EndsAt, CreatedBy: n.CreatedBy,
		Comment: n.Comment, MarkExpected: n.MarkExpected, Origin: "api",
	}
	s.silences[x.ID] = x
	s.silenceList = nil
	ch := &Changes{}
	ch.silence(x)
	if x.MarkExpected && x.StateAt(now) == SilenceActive {
		for _, f := range s.findings {
			if f.Status == StatusNew && x.Matchers.Matches(f.alertView()) {
				s.setStatus(f, StatusExpected, x.CreatedBy, now, "silence "+x.ID+": "+x.Comment, x.EndsAt)
				ch.finding(f)
			}
		}
	}
	c := *x
	s.mu.Unlock()
	return c, s.commit(ch)
}

// Silences lists the silences in state ("" or "all": every one), newest first.
func (s *Stage) Silences(state string) []Silence {
	s.lockFresh(bucketSilences)
	defer s.mu.Unlock()
	now := s.now()
	var out []Silence
	for _, x := range s.silences {
		if state == "" || state == "all" || x.StateAt(now) == state {
			out = append(out, *x)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].StartsAt.Equal(out[j].StartsAt) {
			return out[i].StartsAt.After(out[j].StartsAt)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// ExpireSilence ends a silence now. Config silences can't be expired here:
// they live in the config file.
func (s *Stage) ExpireSilence(id string) (Silence, error) {
	s.lockFresh(bucketSilences)
	x := s.silences[id]
	if x == nil {
		s.mu.Unlock()
		return Silence{}, fmt.Errorf("silence %q: %w", id, ErrNotFound)
	}
	if x.Origin == "config" {
		s.mu.Unlock()
		return Silence{}, fmt.Errorf("silence %q comes from the config file (noise.silences): remove it there", id)
	}
	now := s.now()
	if x.EndsAt.IsZero() || x.EndsAt.After(now) {
		x.EndsAt = now
		if x.StartsAt.After(now) {
			x.StartsAt = now
		}
	}
	ch := &Changes{}
	ch.silence(x)
	c := *x
	s.mu.Unlock()
	return c, s.commit(ch)
}

// QuerySilences returns the active silences that match a.
func (s *Stage) QuerySilences(a *api.Alert) []Silence {
	s.lockFresh(bucketSilences)
	defer s.mu.Unlock()
	var out []Silence
	for _, x := range s.matchingSilences(a, s.now()) {
		out = append(out, *x)
	}
	return out
}

// StartLearning opens a learning window of d for scope (empty: all).
func (s *Stage) StartLearning(scope match.All, d time.Duration, by string) (Window, error) {
	if d <= 0 {
		return Window{}, errors.New("for: a positive duration is required, e.g. 2h")
	}
	if by == "" {
		return Window{}, errors.New("by: is required")
	}
	s.lockFresh(bucketWindows)
	now := s.now()
	w := &Window{ID: newID(), Scope: scope, StartsAt: now, EndsAt: now.Add(d), By: by}
	s.windows[w.ID] = w
	ch := &Changes{}
	ch.window(w)
	c := *w
	s.mu.Unlock()
	return c, s.commit(ch)
}

// StopLearning ends a window now; its findings become expected at once.
func (s *Stage) StopLearning(id string) (Window, error) {
	s.lockFresh(bucketWindows, bucketFindings)
	w := s.windows[id]
	if w == nil {
		s.mu.Unlock()
		return Window{}, fmt.Errorf("learning window %q: %w", id, ErrNotFound)
	}
	now := s.now()
	if w.EndsAt.After(now) {
		w.EndsAt = now
	}
	ch := &Changes{}
	s.finishWindows(now, ch)
	ch.window(w)
	c := *w
	s.mu.Unlock()
	return c, s.commit(ch)
}

// Learning lists the learning windows, newest first, with how many
// findings each holds (or held) back.
func (s *Stage) Learning() []WindowStatus {
	s.lockFresh(bucketWindows, bucketFindings)
	defer s.mu.Unlock()
	now := s.now()
	counts := map[string]int{}
	for _, f := range s.findings {
		if f.LearnedIn != "" {
			counts[f.LearnedIn]++
		}
	}
	var out []WindowStatus
	for _, w := range s.windows {
		st := WindowStatus{Window: *w, Active: w.Active(now), Findings: counts[w.ID]}
		if total := w.EndsAt.Sub(w.StartsAt); total > 0 {
			st.Progress = min(1, max(0, float64(now.Sub(w.StartsAt))/float64(total)))
		}
		if w.Done {
			st.Findings = w.Learned
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartsAt.After(out[j].StartsAt) })
	return out
}

// WindowStatus is a learning window and where it stands.
type WindowStatus struct {
	Window
	Active   bool    `json:"active"`
	Progress float64 `json:"progress"` // 0..1 of its duration
	Findings int     `json:"findings"` // findings it holds back (or marked expected, once done)
}

// Counts is how many findings have each status.
func (s *Stage) Counts() map[string]int {
	if s.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), s.shared.timeout)
		defer cancel()
		out := map[string]int{StatusNew: 0, StatusExpected: 0, StatusResolved: 0}
		n, err := s.shared.store.CountFindings(ctx)
		if err != nil {
			s.log.Debug("noise: findings not counted", "err", err)
		}
		for k, v := range n {
			out[k] += v
		}
		return out
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{StatusNew: 0, StatusExpected: 0, StatusResolved: 0}
	for _, f := range s.findings {
		out[f.Status]++
	}
	return out
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ConfigSilenceID is the stable id of a config silence: derived from its
// matchers, so editing them makes a new silence.
func ConfigSilenceID(ms match.All) string {
	var b strings.Builder
	for _, m := range ms {
		b.WriteString(m.String())
		b.WriteByte(0)
	}
	k := Fingerprinter{}.Of(&api.Alert{Rule: b.String(), Source: "config-silence"})
	return "cfg-" + k.ID[:12]
}
