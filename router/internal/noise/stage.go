package noise

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/lookout-sec/lookout/router/api"
)

// Store is where the stage keeps its state: the router's queue file
// (bbolt), written in the same transaction as the alerts it routes, so a
// 2xx means the decision is as durable as the alert. Another store (a
// shared SQL database) can provide the same: Load once at start, Writer
// inside the transaction that stores the routed alerts.
type Store interface {
	// Load calls fn for every record of bucket.
	Load(bucket string, fn func(key string, val []byte) error) error
	// Get returns one record (nil when absent).
	Get(bucket, key string) ([]byte, error)
	// Update runs fn in a durable transaction of its own.
	Update(fn func(w Writer) error) error
}

// Writer writes records inside a transaction.
type Writer interface {
	Put(bucket, key string, val []byte) error
	Delete(bucket, key string) error
}

// Buckets.
const (
	bucketFindings = "noise/findings"
	bucketSamples  = "noise/samples"
	bucketSilences = "noise/silences"
	bucketWindows  = "noise/windows"
	bucketGroups   = "noise/groups"
	bucketMeta     = "noise/meta"
)

// Buckets lists every bucket the stage uses (the store creates them).
var Buckets = []string{bucketFindings, bucketSamples, bucketSilences, bucketWindows, bucketGroups, bucketMeta}

// Stage is the router's noise control: it fingerprints each alert into a
// finding, applies silences, statuses, baselines and grouping per output,
// annotates the alert, and says per output whether it goes to the queue.
// It never drops anything for record outputs.
type Stage struct {
	cfg      Config
	st       Store // nil: in memory
	fp       Fingerprinter
	policies map[string]*Policy
	log      *slog.Logger
	now      func() time.Time
	onDecide func(output, decision string, n int)

	mu       sync.Mutex
	findings map[string]*Finding
	silences map[string]*Silence
	windows  map[string]*Window
	groups   map[string]*group
	// silenceList caches silences sorted by id; nil after any change to
	// the silences map.
	silenceList []*Silence
	// dirty holds findings whose count or last-seen changed since they
	// were last written; Flush writes them.
	dirty map[string]*Finding
	// lastSweep is when Flush last finished windows and applied retention.
	lastSweep time.Time
	// shared is set when the state lives in a store several routers
	// share (decisions are made there; the maps above are only a view for
	// the admin API, refreshed before each call).
	shared *sharedState
}

// Options configures New.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time // default time.Now
	// OnDecide counts decisions per output (metrics); called with the
	// stage's lock held.
	OnDecide func(output, decision string, n int)
	// StateTimeout bounds each ingest request's transaction on a Shared
	// store (default 2s); past it, or on any error, the request is decided
	// in safe mode.
	StateTimeout time.Duration
	// OnStateUp is told when a Shared store becomes unavailable (false)
	// and available again (true).
	OnStateUp func(up bool)
	// OnUnavailable counts the alerts decided in safe mode, per output.
	OnUnavailable func(output string, n int)
}

// New loads the stage's state from st (nil: in memory only) and applies
// cfg: config silences replace the ones stored from an earlier config, and
// a baseline window starts if LearnFor is set and none ever started.
func New(cfg Config, st Store, opts Options) (*Stage, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.OnDecide == nil {
		opts.OnDecide = func(string, string, int) {}
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.MaxFindings <= 0 {
		cfg.MaxFindings = DefaultMaxFindings
	}
	s := &Stage{
		cfg: cfg, st: st, fp: Fingerprinter{Rules: cfg.Fingerprints, cache: &workloadCache{}}, policies: map[string]*Policy{},
		log: opts.Logger, now: opts.Now, onDecide: opts.OnDecide,
		findings: map[string]*Finding{}, silences: map[string]*Silence{}, windows: map[string]*Window{}, groups: map[string]*group{},
		dirty: map[string]*Finding{},
	}
	for i := range cfg.Policies {
		p := &cfg.Policies[i]
		if p.GroupBy != nil {
			if p.GroupWait <= 0 {
				p.GroupWait = DefaultGroupWait
			}
			if p.GroupInterval <= 0 {
				p.GroupInterval = DefaultGroupInterval
			}
		}
		s.policies[p.Name] = p
	}
	if sh, ok := st.(Shared); ok {
		s.shared = newSharedState(sh, opts)
	}
	if st != nil {
		if err := s.load(st); err != nil {
			return nil, err
		}
	}
	if err := s.applyConfig(st); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Stage) load(st Store) error {
	err := loadBucket(st, s.log, bucketFindings, func(f *Finding) { s.findings[f.ID] = f })
	if err == nil {
		err = loadBucket(st, s.log, bucketSilences, func(x *Silence) { s.silences[x.ID] = x })
	}
	if err == nil {
		err = loadBucket(st, s.log, bucketWindows, func(w *Window) { s.windows[w.ID] = w })
	}
	if err == nil {
		err = loadBucket(st, s.log, bucketGroups, func(g *group) {
			if s.policies[g.Output] != nil { // groups of removed outputs are forgotten
				s.groups[g.Key] = g
			}
		})
	}
	return err
}

// loadBucket decodes every record of bucket into a new T and hands it to
// add; an unreadable record is logged and skipped (it never stops a start).
func loadBucket[T any](st Store, log *slog.Logger, bucket string, add func(*T)) error {
	err := st.Load(bucket, func(k string, v []byte) error {
		x := new(T)
		if err := json.Unmarshal(v, x); err != nil {
			log.Warn("noise state: unreadable record skipped", "bucket", bucket, "key", k, "err", err)
			return nil
		}
		add(x)
		return nil
	})
	if err != nil {
		return fmt.Errorf("noise state %s: %w", bucket, err)
	}
	return nil
}

// applyConfig installs the config silences and the first baseline window.
func (s *Stage) applyConfig(st Store) error {
	ch := &Changes{}
	want := map[string]bool{}
	for i := range s.cfg.Silences {
		x := s.cfg.Silences[i]
		x.Origin = "config"
		if old := s.silences[x.ID]; old != nil {
			x.HeldBack = old.HeldBack
		}
		want[x.ID] = true
		s.silences[x.ID] = &x
		ch.silence(&x)
	}
	for id, x := range s.silences {
		if x.Origin == "config" && !want[id] {
			delete(s.silences, id)
			ch.del(bucketSilences, id)
		}
	}
	s.silenceList = nil
	if s.cfg.LearnFor > 0 {
		if _, ok := s.windows["baseline"]; !ok {
			now := s.now()
			w := &Window{ID: "baseline", StartsAt: now, EndsAt: now.Add(s.cfg.LearnFor), By: "config (noise.baseline.learn_for)"}
			s.windows[w.ID] = w
			ch.window(w)
			s.log.Info("learning a baseline: new findings notify nobody until it ends", "until", w.EndsAt.Format(time.RFC3339))
		}
	}
	if st == nil || ch.empty() {
		return nil
	}
	return st.Update(ch.seal().Apply)
}

// Changes are the stage's records to write with the alerts they decided.
// Objects are encoded by seal, under the stage's lock, once per batch.
type Changes struct {
	objs map[[2]string]any
	puts map[[2]string][]byte
	dels map[[2]string]bool
}

func (c *Changes) empty() bool { return c == nil || len(c.objs)+len(c.puts)+len(c.dels) == 0 }

// Empty reports whether there is nothing to write.
func (c *Changes) Empty() bool { return c.empty() }

func (c *Changes) put(bucket, key string, v any) {
	if c.objs == nil {
		c.objs = map[[2]string]any{}
	}
	c.objs[[2]string{bucket, key}] = v
	delete(c.dels, [2]string{bucket, key})
}

// dropBucket forgets the changes to bucket.
func (c *Changes) dropBucket(bucket string) {
	for k := range c.objs {
		if k[0] == bucket {
			delete(c.objs, k)
		}
	}
	for k := range c.puts {
		if k[0] == bucket {
			delete(c.puts, k)
		}
	}
}

func (c *Changes) putRaw(bucket, key string, b []byte) {
	if c.puts == nil {
		c.puts = map[[2]string][]byte{}
	}
	c.puts[[2]string{bucket, key}] = b
}

func (c *Changes) del(bucket, key string) {
	if c.dels == nil {
		c.dels = map[[2]string]bool{}
	}
	c.dels[[2]string{bucket, key}] = true
	delete(c.objs, [2]string{bucket, key})
	delete(c.puts, [2]string{bucket, key})
}

// seal encodes the objects; the caller holds the stage's lock.
func (c *Changes) seal() *Changes {
	for k, v := range c.objs {
		b, err := json.Marshal(v)
		if err != nil {
			panic(fmt.Sprintf("noise: encode %s/%s: %v", k[0], k[1], err)) // our own types always encode
		}
		c.putRaw(k[0], k[1], b)
	}
	c.objs = nil
	return c
}

func (c *Changes) finding(f *Finding) { f.changed = false; c.put(bucketFindings, f.ID, f) }
func (c *Changes) silence(x *Silence) { c.put(bucketSilences, x.ID, x) }
func (c *Changes) window(w *Window)   { c.put(bucketWindows, w.ID, w) }
func (c *Changes) group(g *group)     { c.put(bucketGroups, g.Key, g) }

// Apply writes the changes (in a deterministic order).
func (c *Changes) Apply(w Writer) error {
	if c == nil {
		return nil
	}
	keys := make([][2]string, 0, len(c.puts))
	for k := range c.puts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i][0] < keys[j][0] || keys[i][0] == keys[j][0] && keys[i][1] < keys[j][1]
	})
	for _, k := range keys {
		if err := w.Put(k[0], k[1], c.puts[k]); err != nil {
			return err
		}
	}
	for k := range c.dels {
		if err := w.Delete(k[0], k[1]); err != nil {
			return err
		}
	}
	return nil
}

// Decide runs the stage over one ingest request. routed holds, per output,
// the alerts its filters let through; the result holds what goes into each
// output's queue now (annotated), and the changes to commit with them.
// Alerts folded into a group come out later, from Flush.
func (s *Stage) Decide(routed map[string][]*api.Alert) (map[string][]*api.Alert, *Changes) {
	out, ch, _ := s.decide(routed, nil)
	return out, ch
}

// DecideExplain is Decide that also tells explain (when not nil) the
// decision for each output and alert (notified, recorded, or the reason it
// is held: silenced, expected, learning, repeat, grouped). POST /test
// reports it.
func (s *Stage) DecideExplain(routed map[string][]*api.Alert, explain func(output string, a *api.Alert, decision string)) (map[string][]*api.Alert, *Changes) {
	out, ch, _ := s.decide(routed, explain)
	return out, ch
}

// DecideAnnotated is Decide that also returns every alert's annotation
// (its finding, the outputs notified and why others held it back), also
// for alerts that carry none because no record output takes them; the
// UI's history (router/internal/history) keeps it.
func (s *Stage) DecideAnnotated(routed map[string][]*api.Alert) (map[string][]*api.Alert, *Changes, map[*api.Alert]*api.Annotation) {
	return s.decide(routed, nil)
}

func (s *Stage) decide(routed map[string][]*api.Alert, explain func(output string, a *api.Alert, decision string)) (map[string][]*api.Alert, *Changes, map[*api.Alert]*api.Annotation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out, ch, anns := s.decideLocked(routed, s.now(), explain)
	return out, ch.seal(), anns
}

// decideLocked is decide over the stage's maps (the caller holds the lock,
// or owns the maps: a view of a shared store's records).
func (s *Stage) decideLocked(routed map[string][]*api.Alert, now time.Time, explain func(output string, a *api.Alert, decision string)) (map[string][]*api.Alert, *Changes, map[*api.Alert]*api.Annotation) {
	ch := &Changes{}
	// Each alert once, in its first output's order.
	type per struct {
		f        *Finding
		silences []*Silence
		learning *Window
		ann      *api.Annotation
		prev     string
		counted  bool // the silences' held-back counts include it
		record   bool // one of its outputs records: it carries the annotation
	}
	seen := map[*api.Alert]*per{}
	names := make([]string, 0, len(routed))
	for n := range routed {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make(map[string][]*api.Alert, len(routed))
	for _, name := range names {
		pol := s.policies[name]
		if pol == nil {
			pol = &Policy{Name: name}
		}
		for _, a := range routed[name] {
			p := seen[a]
			if p == nil {
				p = &per{}
				p.f, p.prev = s.observe(a, now, ch)
				p.silences = s.matchingSilences(a, now)
				for _, x := range p.silences {
					if x.MarkExpected && p.f.Status == StatusNew {
						s.setStatus(p.f, StatusExpected, x.CreatedBy, now, "silence "+x.ID+": "+x.Comment, x.EndsAt)
					}
				}
				if p.f.Status == StatusNew {
					p.learning = s.learningWindow(a, now)
					if p.learning != nil && p.f.LearnedIn == "" {
						p.f.LearnedIn, p.f.changed = p.learning.ID, true
					}
				}
				p.ann = &api.Annotation{Finding: &api.FindingRef{ID: p.f.ID, Status: p.f.Status, FirstSeen: p.f.FirstSeen, Count: p.f.Count}}
				for _, x := range p.silences {
					p.ann.Silences = append(p.ann.Silences, x.ID)
				}
				a.Lookout = p.ann
				seen[a] = p
			}
			decision := s.decideOne(pol, a, p.f, p.silences, p.learning, now, ch)
			p.record = p.record || pol.Record
			s.onDecide(name, decision, 1)
			if explain != nil {
				explain(name, a, decision)
			}
			switch decision {
			case DecisionRecorded, DecisionNotified:
				out[name] = append(out[name], a)
				if decision == DecisionNotified {
					p.ann.Notified = append(p.ann.Notified, name)
				}
			case HeldGrouped:
				p.ann.Notified = append(p.ann.Notified, name)
				if p.ann.Held == nil {
					p.ann.Held = map[string]string{}
				}
				p.ann.Held[name] = decision
			default:
				if decision == HeldSilenced && !p.counted {
					p.counted = true
					for _, x := range p.silences {
						x.HeldBack++
					}
				}
				if p.ann.Held == nil {
					p.ann.Held = map[string]string{}
				}
				p.ann.Held[name] = decision
			}
		}
	}
	anns := make(map[*api.Alert]*api.Annotation, len(seen))
	for a, p := range seen {
		anns[a] = p.ann
		if !p.record {
			// Only record outputs need to know the finding and why others
			// held the alert back; everyone else gets Falco's alert as sent.
			a.Lookout = nil
		}
		if p.f.changed {
			p.f.changed = false
			ch.finding(p.f)
			delete(s.dirty, p.f.ID)
		} else {
			s.dirty[p.f.ID] = p.f
		}
		for _, x := range p.silences {
			ch.silence(x)
		}
	}
	return out, ch, anns
}

// observe finds or creates a's finding and counts a in it. prev is the
// status before (a resolved finding that recurs is reopened, an expected
// one whose expiry passed is new again).
func (s *Stage) observe(a *api.Alert, now time.Time, ch *Changes) (*Finding, string) {
	k := s.fp.Of(a)
	f := s.findings[k.ID]
	if f == nil {
		f = &Finding{
			ID: k.ID, Rule: a.Rule, Source: a.Source, Priority: a.Priority.String(), Fields: k.Fields,
			FirstSeen: now, Status: StatusNew, SampleUUID: a.UUID, changed: true,
		}
		s.findings[k.ID] = f
		if b, err := a.Encode(); err == nil {
			ch.putRaw(bucketSamples, k.ID, b)
		}
	}
	prev := f.Status
	switch {
	case f.Status == StatusResolved:
		s.setStatus(f, StatusNew, "lookout", now, "reopened: seen again after it was resolved", time.Time{})
		f.Notified = nil
	case f.Status == StatusExpected && !f.ExpiresAt.IsZero() && !now.Before(f.ExpiresAt):
		s.setStatus(f, StatusNew, "lookout", now, "expected status expired", time.Time{})
		f.Notified = nil
	}
	f.Count++
	f.LastSeen = now
	if p, err := api.ParsePriority(f.Priority); err != nil || a.Priority > p {
		f.Priority = a.Priority.String()
	}
	return f, prev
}

func (s *Stage) setStatus(f *Finding, status, by string, now time.Time, why string, expires time.Time) {
	f.Status, f.StatusBy, f.StatusAt, f.StatusReason, f.ExpiresAt = status, by, now, why, expires
	f.changed = true
	if status != StatusNew {
		f.LearnedIn = ""
	}
}

func (s *Stage) matchingSilences(a *api.Alert, now time.Time) []*Silence {
	var out []*Silence
	for _, x := range s.sortedSilences() {
		if x.StateAt(now) == SilenceActive && x.Matchers.Matches(a) {
			out = append(out, x)
		}
	}
	return out
}

// sortedSilences is the silences by id, rebuilt only after a change
// (matchingSilences runs for every alert).
func (s *Stage) sortedSilences() []*Silence {
	if s.silenceList != nil {
		return s.silenceList
	}
	out := make([]*Silence, 0, len(s.silences))
	for _, x := range s.silences {
		out = append(out, x)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	s.silenceList = out
	return out
}

func (s *Stage) learningWindow(a *api.Alert, now time.Time) *Window {
	var best *Window
	for _, w := range s.windows {
		if w.Active(now) && w.Scope.Matches(a) && (best == nil || w.ID < best.ID) {
			best = w
		}
	}
	return best
}

// decideOne decides for one output; it returns a Decision* or Held*.
func (s *Stage) decideOne(pol *Policy, a *api.Alert, f *Finding, silences []*Silence, learning *Window, now time.Time, ch *Changes) string {
	if pol.Record {
		return DecisionRecorded
	}
	if len(silences) > 0 {
		return HeldSilenced
	}
	if pol.New {
		switch {
		case f.Status == StatusExpected:
			return HeldExpected
		case learning != nil || f.LearnedIn != "":
			return HeldLearning
		}
		if n, ok := f.Notified[pol.Name]; ok && n.UUID != a.UUID {
			if pol.RepeatInterval <= 0 || now.Sub(n.At) < pol.RepeatInterval {
				return HeldRepeat
			}
		}
		if f.Notified == nil {
			f.Notified = map[string]Notice{}
		}
		f.Notified[pol.Name] = Notice{At: now, UUID: a.UUID}
		f.changed = true
	}
	if len(pol.GroupBy) > 0 {
		s.addToGroup(pol, a, now, ch)
		return HeldGrouped
	}
	return DecisionNotified
}
