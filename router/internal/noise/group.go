package noise

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/match"
)

// group is one output's pending notifications with equal group_by values.
type group struct {
	Key       string            `json:"key"`
	Output    string            `json:"output"`
	Labels    map[string]string `json:"labels"`
	First     time.Time         `json:"first"`      // first pending alert
	LastFlush time.Time         `json:"last_flush"` // zero before the first digest
	Flushes   int               `json:"flushes"`
	Pending   int               `json:"pending"`
	Rules     map[string]int    `json:"rules"`
	Hosts     map[string]bool   `json:"hosts"`     // bounded to maxDistinct
	Workloads map[string]bool   `json:"workloads"` // bounded to maxDistinct
	UUIDs     []string          `json:"uuids"`     // bounded to maxUUIDs
	Sample    *api.Alert        `json:"sample"`    // the first pending alert
	Top       api.Priority      `json:"top"`       // highest pending priority
}

// sweepEvery is how often Flush finishes learning windows and applies
// retention (each walks every finding).
const sweepEvery = 10 * time.Second

const (
	maxDistinct = 50
	maxUUIDs    = 20
)

func groupKey(pol *Policy, a *api.Alert, wc *workloadCache) (string, map[string]string) {
	labels := make(map[string]string, len(pol.GroupBy))
	var b strings.Builder
	b.WriteString(pol.Name)
	for _, f := range pol.GroupBy {
		v := match.Value(a, f)
		if f == "k8s.workload.name" && v == "" {
			if pod := match.Value(a, "k8s.pod.name"); pod != "" {
				v = wc.get(pod)
			}
		}
		labels[f] = v
		b.WriteByte(0)
		b.WriteString(f)
		b.WriteByte('=')
		b.WriteString(v)
	}
	sum := sha256.Sum256([]byte(b.String()))
	return fmt.Sprintf("%s/%x", pol.Name, sum[:8]), labels
}

func (s *Stage) addToGroup(pol *Policy, a *api.Alert, now time.Time, ch *Changes) {
	key, labels := groupKey(pol, a, s.fp.cache)
	g := s.groups[key]
	if g == nil {
		g = &group{Key: key, Output: pol.Name, Labels: labels}
		s.groups[key] = g
	}
	if g.Pending == 0 {
		g.First, g.Sample, g.Top = now, a, a.Priority
		g.Rules, g.Hosts, g.Workloads, g.UUIDs = map[string]int{}, map[string]bool{}, map[string]bool{}, nil
	}
	g.Pending++
	g.Rules[a.Rule]++
	if a.Priority > g.Top {
		g.Top = a.Priority
	}
	if len(g.Hosts) < maxDistinct {
		g.Hosts[a.Hostname] = true
	}
	w := match.Value(a, "k8s.workload.name")
	if w == "" {
		if pod := match.Value(a, "k8s.pod.name"); pod != "" {
			w = s.fp.cache.get(pod)
		}
	}
	if w != "" && len(g.Workloads) < maxDistinct {
		g.Workloads[w] = true
	}
	if len(g.UUIDs) < maxUUIDs {
		g.UUIDs = append(g.UUIDs, a.UUID)
	}
	ch.group(g)
}

// due reports whether g's pending alerts should go out at now.
func (g *group) due(pol *Policy, now time.Time) bool {
	if g.Pending == 0 {
		return false
	}
	if g.LastFlush.IsZero() || now.Sub(g.LastFlush) >= pol.GroupInterval+pol.GroupWait {
		return !now.Before(g.First.Add(pol.GroupWait))
	}
	return !now.Before(g.LastFlush.Add(pol.GroupInterval))
}

// Flush returns the group notifications due at the stage's now — a digest
// per group, or the alert itself when the group holds one — with the
// changes to commit with them, and also finishes learning windows that
// ended and applies retention. Call it periodically (the router does every
// second; the replay tool at each step of its simulated clock).
//
// undo puts the flushed alerts back into their groups; call it when the
// commit of the digests failed, so they go out at the next flush instead.
func (s *Stage) Flush() (out map[string][]*api.Alert, ch *Changes, undo func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	ch = &Changes{}
	out, flushed := s.flushGroups(now, ch)
	for id, f := range s.dirty {
		f.changed = false
		ch.finding(f)
		delete(s.dirty, id)
	}
	if now.Sub(s.lastSweep) >= sweepEvery || now.Before(s.lastSweep) {
		s.lastSweep = now
		s.finishWindows(now, ch)
		s.retain(now, ch)
	}
	undo = func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, old := range flushed {
			g := s.groups[old.Key]
			if g == nil {
				continue
			}
			if g.Pending == 0 {
				*g = old
				continue
			}
			g.Pending += old.Pending
			g.First, g.Sample = old.First, old.Sample
			for r, n := range old.Rules {
				g.Rules[r] += n
			}
			g.UUIDs = append(old.UUIDs, g.UUIDs...)
		}
	}
	return out, ch.seal(), undo
}

// flushGroups takes the digests of the groups due at now out of them.
func (s *Stage) flushGroups(now time.Time, ch *Changes) (map[string][]*api.Alert, []group) {
	out := map[string][]*api.Alert{}
	var flushed []group
	keys := make([]string, 0, len(s.groups))
	for k := range s.groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g := s.groups[k]
		pol := s.policies[g.Output]
		if pol == nil {
			delete(s.groups, k)
			ch.del(bucketGroups, k)
			continue
		}
		if !g.due(pol, now) {
			continue
		}
		out[g.Output] = append(out[g.Output], g.digest(now))
		flushed = append(flushed, *g)
		g.LastFlush, g.Flushes, g.Pending = now, g.Flushes+1, 0
		g.Sample, g.UUIDs = nil, nil
		ch.group(g)
	}
	return out, flushed
}

// dueAt is when g is next due under pol (zero: nothing pending); a
// digest is never due earlier than due says.
func (g *group) dueAt(pol *Policy) time.Time {
	if g.Pending == 0 {
		return time.Time{}
	}
	due := g.First.Add(pol.GroupWait)
	if !g.LastFlush.IsZero() && g.First.Sub(g.LastFlush) < pol.GroupInterval+pol.GroupWait {
		due = g.LastFlush.Add(pol.GroupInterval)
	}
	return due
}

// NextDue is the earliest time a Flush has something to do: a group's
// digest, or the next sweep of windows and retention.
func (s *Stage) NextDue() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.lastSweep.Add(sweepEvery)
	for _, g := range s.groups {
		pol := s.policies[g.Output]
		if pol == nil || g.Pending == 0 {
			continue
		}
		due := g.First.Add(pol.GroupWait)
		if !g.LastFlush.IsZero() && g.First.Sub(g.LastFlush) < pol.GroupInterval+pol.GroupWait {
			due = g.LastFlush.Add(pol.GroupInterval)
		}
		if due.Before(next) {
			next = due
		}
	}
	return next
}

// digest is the notification for g's pending alerts.
func (g *group) digest(now time.Time) *api.Alert {
	if g.Pending == 1 && g.Sample != nil {
		return g.Sample
	}
	rules := make([]string, 0, len(g.Rules))
	for r := range g.Rules {
		rules = append(rules, r)
	}
	sort.Slice(rules, func(i, j int) bool {
		if g.Rules[rules[i]] != g.Rules[rules[j]] {
			return g.Rules[rules[i]] > g.Rules[rules[j]]
		}
		return rules[i] < rules[j]
	})
	labelKeys := make([]string, 0, len(g.Labels))
	for k := range g.Labels {
		labelKeys = append(labelKeys, k)
	}
	sort.Strings(labelKeys)
	var where []string
	for _, k := range labelKeys {
		if k != "rule" && g.Labels[k] != "" {
			where = append(where, k+"="+g.Labels[k])
		}
	}
	var parts []string
	for _, r := range rules {
		parts = append(parts, fmt.Sprintf("%s ×%d", r, g.Rules[r]))
	}
	text := strings.Join(parts, ", ")
	if len(where) > 0 {
		text += " in " + strings.Join(where, " ")
	}
	if n := len(g.Workloads); n > 0 {
		text += fmt.Sprintf(", %d workload%s", n, plural(n))
	}
	if n := len(g.Hosts); n > 1 {
		text += fmt.Sprintf(", %d hosts", n)
	}
	text += ", since " + g.First.UTC().Format("15:04")
	fields := map[string]any{
		"lookout.count": json.Number(fmt.Sprint(g.Pending)), "lookout.rules": strings.Join(rules, ", "),
		"lookout.workloads": json.Number(fmt.Sprint(len(g.Workloads))), "lookout.hosts": json.Number(fmt.Sprint(len(g.Hosts))),
	}
	for _, k := range labelKeys {
		fields[k] = g.Labels[k]
	}
	rule := rules[0]
	if len(rules) > 1 {
		rule = "Lookout digest"
	}
	host := ""
	if g.Sample != nil {
		host = g.Sample.Hostname
	}
	if len(g.Hosts) > 1 {
		host = fmt.Sprintf("%d hosts", len(g.Hosts))
	}
	src, tags := "", []string{"lookout_digest"}
	if g.Sample != nil {
		src = g.Sample.Source
		tags = append(tags, g.Sample.Tags...)
	}
	// A deterministic uuid: a digest re-made after a failed commit keeps
	// its identity, so idempotent outputs never show it twice.
	id := uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprintf("%s#%d", g.Key, g.Flushes)))
	return &api.Alert{
		Hostname: host, Output: text, OutputFields: fields, Priority: g.Top, Rule: rule, Source: src,
		Tags: tags, Time: now.UTC(), UUID: id.String(),
		Lookout: &api.Annotation{Digest: &api.Digest{
			Group: g.Key, Labels: g.Labels, Count: g.Pending, Since: g.First, UUIDs: append([]string(nil), g.UUIDs...),
		}},
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
