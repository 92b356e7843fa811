package noise

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/lookout-sec/lookout/router/api"
)

// Shared is a state store several routers use at once (PostgreSQL,
// docs/replicas.md). With one, the stage decides inside a transaction of
// the store, over records it locked, never from its own memory: which
// findings are new, which silences and learning windows are active, what
// each output was told and when, which group is due and who sends it.
type Shared interface {
	Store
	// Tx runs fn in one transaction, again (from the start) when the
	// database reports a deadlock or a serialization failure.
	Tx(ctx context.Context, fn func(tx SharedTx) error) error
	// CountFindings counts the findings by status.
	CountFindings(ctx context.Context) (map[string]int, error)
}

// SharedTx is one transaction of a Shared store. Writes may be buffered
// until the next read or the commit.
type SharedTx interface {
	Writer
	// Lock locks the records of bucket named by keys, in key order, and
	// returns them. With fresh set, absent keys are inserted first with
	// fresh(key); inserted says which were.
	Lock(bucket string, keys []string, fresh func(key string) []byte) (recs map[string][]byte, inserted map[string]bool, err error)
	// All returns every record of bucket, not locked.
	All(bucket string) (map[string][]byte, error)
	// ClaimDue locks and returns the records of bucket due at or before
	// now, skipping those another transaction holds.
	ClaimDue(bucket string, now time.Time) (map[string][]byte, error)
	// SetDue sets when a record of bucket is next due (zero: never).
	SetDue(bucket, key string, at time.Time) error
	// AddHeldBack adds n to the held-back count of silence id.
	AddHeldBack(id string, n int64) error
	// TryLock takes an advisory lock held until the transaction ends;
	// false when another transaction holds it.
	TryLock(key int64) (bool, error)
	// Retain deletes the findings (and their samples) last seen before
	// cutoff, and the least recently seen beyond max; it returns how many.
	Retain(cutoff time.Time, max int) (int, error)
}

// sharedState is a stage's link to its Shared store and whether that
// store answers.
type sharedState struct {
	store         Shared
	timeout       time.Duration
	onState       func(up bool)
	onUnavailable func(output string, n int)

	mu        sync.Mutex
	down      bool
	retryAt   time.Time // while down, decide in safe mode until then
	lastSweep time.Time
}

// retryEvery is how often, while the store is down, one request tries it
// again (the others are decided in safe mode without waiting).
const retryEvery = time.Second

// sweepLock is the advisory lock of the replica that finishes learning
// windows and applies retention.
const sweepLock = 0x6c6f6f6b7377

func newSharedState(st Shared, opts Options) *sharedState {
	sh := &sharedState{store: st, timeout: opts.StateTimeout, onState: opts.OnStateUp, onUnavailable: opts.OnUnavailable}
	if sh.timeout <= 0 {
		sh.timeout = 2 * time.Second
	}
	if sh.onState == nil {
		sh.onState = func(bool) {}
	}
	if sh.onUnavailable == nil {
		sh.onUnavailable = func(string, int) {}
	}
	return sh
}

func (sh *sharedState) tryNow() bool {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return !sh.down || !time.Now().Before(sh.retryAt)
}

func (sh *sharedState) failed(log *slog.Logger, err error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if !sh.down {
		log.Warn("noise: shared state store unavailable: safe mode, every alert notifies (nothing is suppressed or grouped) and is marked state unavailable", "err", err)
		sh.onState(false)
	} else {
		log.Debug("noise: shared state store still unavailable", "err", err)
	}
	sh.down = true
	sh.retryAt = time.Now().Add(retryEvery)
}

func (sh *sharedState) ok(log *slog.Logger) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.down {
		log.Info("noise: shared state store available again: noise control is back")
		sh.onState(true)
	}
	sh.down = false
}

// Up reports whether the stage's state store answers (always true for the
// embedded store).
func (s *Stage) Up() bool {
	if s.shared == nil {
		return true
	}
	s.shared.mu.Lock()
	defer s.shared.mu.Unlock()
	return !s.shared.down
}

// IsShared reports whether the state lives in a store several routers share.
func (s *Stage) IsShared() bool { return s.shared != nil }

// DecideContext is Decide for the ingest path. With a Shared store the
// decisions are made in the store, in one transaction, and the changes
// come back empty (they are committed already); when the store fails the
// request is decided in safe mode. Otherwise it is Decide. It returns
// every alert's annotation as DecideAnnotated does (the UI's history) and
// tells explain (when not nil) each decision as DecideExplain does.
func (s *Stage) DecideContext(ctx context.Context, routed map[string][]*api.Alert, explain func(output string, a *api.Alert, decision string)) (map[string][]*api.Alert, *Changes, map[*api.Alert]*api.Annotation) {
	if s.shared == nil {
		return s.decide(routed, explain)
	}
	out, anns := s.decideShared(ctx, routed, explain)
	return out, &Changes{}, anns
}

// view is a stage over maps of its own, for deciding over records loaded
// from a Shared store.
func (s *Stage) view() *Stage {
	return &Stage{
		cfg: s.cfg, fp: s.fp, policies: s.policies, log: s.log, now: s.now, onDecide: func(string, string, int) {},
		findings: map[string]*Finding{}, silences: map[string]*Silence{}, windows: map[string]*Window{}, groups: map[string]*group{},
		dirty: map[string]*Finding{},
	}
}

// decodeRecs decodes records into new Ts; unreadable ones are logged and skipped.
func decodeRecs[T any](log *slog.Logger, bucket string, recs map[string][]byte, add func(*T)) {
	for k, v := range recs {
		x := new(T)
		if err := json.Unmarshal(v, x); err != nil {
			log.Warn("noise state: unreadable record skipped", "bucket", bucket, "key", k, "err", err)
			continue
		}
		add(x)
	}
}

type decided struct{ output, decision string }

func (s *Stage) decideShared(ctx context.Context, routed map[string][]*api.Alert, explain func(output string, a *api.Alert, decision string)) (map[string][]*api.Alert, map[*api.Alert]*api.Annotation) {
	sh := s.shared
	if !sh.tryNow() {
		return s.safeMode(routed, explain)
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, sh.timeout)
	defer cancel()
	now := s.now()

	// What the request touches: its findings (the first alert of each
	// makes a new one) and its groups, locked in the store in key order.
	first := map[string]*api.Alert{}
	keys := map[string]Key{}
	fresh := map[string]*group{}
	s.mu.Lock()
	for name, as := range routed {
		pol := s.policies[name]
		for _, a := range as {
			k := s.fp.Of(a)
			if first[k.ID] == nil {
				first[k.ID], keys[k.ID] = a, k
			}
			if pol != nil && !pol.Record && len(pol.GroupBy) > 0 {
				key, labels := groupKey(pol, a, s.fp.cache)
				if fresh[key] == nil {
					fresh[key] = &group{Key: key, Output: pol.Name, Labels: labels}
				}
			}
		}
	}
	s.mu.Unlock()
	fids := make([]string, 0, len(first))
	for id := range first {
		fids = append(fids, id)
	}
	gkeys := make([]string, 0, len(fresh))
	for k := range fresh {
		gkeys = append(gkeys, k)
	}
	newFinding := func(id string) []byte {
		a := first[id]
		b, _ := json.Marshal(&Finding{ID: id, Rule: a.Rule, Source: a.Source, Priority: a.Priority.String(), Fields: keys[id].Fields,
			FirstSeen: now, Status: StatusNew, SampleUUID: a.UUID})
		return b
	}

	var (
		out       map[string][]*api.Alert
		anns      map[*api.Alert]*api.Annotation
		decisions []decided
	)
	err := sh.store.Tx(ctx, func(tx SharedTx) error {
		frecs, inserted, err := tx.Lock(bucketFindings, fids, newFinding)
		if err != nil {
			return err
		}
		grecs, _, err := tx.Lock(bucketGroups, gkeys, func(k string) []byte { b, _ := json.Marshal(fresh[k]); return b })
		if err != nil {
			return err
		}
		srecs, err := tx.All(bucketSilences)
		if err != nil {
			return err
		}
		wrecs, err := tx.All(bucketWindows)
		if err != nil {
			return err
		}
		for id := range inserted {
			if b, err := json.Marshal(first[id]); err == nil {
				if err := tx.Put(bucketSamples, id, b); err != nil {
					return err
				}
			}
		}
		v := s.view()
		decodeRecs(s.log, bucketFindings, frecs, func(f *Finding) { v.findings[f.ID] = f })
		decodeRecs(s.log, bucketGroups, grecs, func(g *group) { v.groups[g.Key] = g })
		decodeRecs(s.log, bucketSilences, srecs, func(x *Silence) { v.silences[x.ID] = x })
		decodeRecs(s.log, bucketWindows, wrecs, func(w *Window) { v.windows[w.ID] = w })
		held := make(map[string]int64, len(v.silences))
		for id, x := range v.silences {
			held[id] = x.HeldBack
		}
		var ds []decided
		v.onDecide = func(o, d string, _ int) { ds = append(ds, decided{o, d}) }
		s.mu.Lock() // the fingerprinter's cache
		o, ch, an := v.decideLocked(routed, now, explain)
		s.mu.Unlock()
		ch.dropBucket(bucketSilences) // counted below, by every replica at once
		for id, x := range v.silences {
			if d := x.HeldBack - held[id]; d > 0 {
				if err := tx.AddHeldBack(id, d); err != nil {
					return err
				}
			}
		}
		for _, f := range v.findings {
			ch.finding(f)
		}
		for _, g := range v.groups {
			ch.group(g)
			if err := tx.SetDue(bucketGroups, g.Key, g.dueAt(s.policies[g.Output])); err != nil {
				return err
			}
		}
		if err := ch.seal().Apply(tx); err != nil {
			return err
		}
		out, anns, decisions = o, an, ds
		return nil
	})
	if err != nil {
		if parent.Err() == nil {
			sh.failed(s.log, err)
		}
		return s.safeMode(routed, explain)
	}
	sh.ok(s.log)
	for _, d := range decisions {
		s.onDecide(d.output, d.decision, 1)
	}
	return out, anns
}

// safeMode decides without the store: every alert goes to every output
// its filters let it through to, marked state unavailable; nothing is
// suppressed, grouped or counted into a finding.
func (s *Stage) safeMode(routed map[string][]*api.Alert, explain func(output string, a *api.Alert, decision string)) (map[string][]*api.Alert, map[*api.Alert]*api.Annotation) {
	anns := map[*api.Alert]*api.Annotation{}
	out := make(map[string][]*api.Alert, len(routed))
	for name, as := range routed {
		pol := s.policies[name]
		d := DecisionNotified
		if pol != nil && pol.Record {
			d = DecisionRecorded
		}
		for _, a := range as {
			ann := anns[a]
			if ann == nil {
				ann = &api.Annotation{State: api.StateUnavailable}
				anns[a] = ann
				a.Lookout = ann
			}
			if d == DecisionNotified {
				ann.Notified = append(ann.Notified, name)
			}
			if explain != nil {
				explain(name, a, d)
			}
		}
		s.onDecide(name, d, len(as))
		s.shared.onUnavailable(name, len(as))
		out[name] = as
	}
	return out, anns
}

// FlushShared claims the groups due now in the shared store and calls send
// with their digests inside the claiming transaction: the groups' new state
// commits only when send returned nil, so one replica sends each digest
// (and again, with the same uuid, only if the commit failed after send).
// At most every sweepEvery, one replica also finishes the learning windows
// that ended and applies retention.
func (s *Stage) FlushShared(ctx context.Context, send func(map[string][]*api.Alert) error) error {
	sh := s.shared
	if !sh.tryNow() {
		return nil
	}
	now := s.now()
	sh.mu.Lock()
	sweep := now.Sub(sh.lastSweep) >= sweepEvery || now.Before(sh.lastSweep)
	sh.mu.Unlock()
	var sendErr error
	err := sh.store.Tx(ctx, func(tx SharedTx) error {
		recs, err := tx.ClaimDue(bucketGroups, now)
		if err != nil {
			return err
		}
		v := s.view()
		decodeRecs(s.log, bucketGroups, recs, func(g *group) { v.groups[g.Key] = g })
		ch := &Changes{}
		out, _ := v.flushGroups(now, ch)
		for _, g := range v.groups {
			due := g.dueAt(s.policies[g.Output])
			if !due.IsZero() && !due.After(now) {
				due = now.Add(retryEvery) // not due yet by due(): look again soon
			}
			if err := tx.SetDue(bucketGroups, g.Key, due); err != nil {
				return err
			}
		}
		if err := ch.seal().Apply(tx); err != nil {
			return err
		}
		if sweep {
			if err := s.sweepShared(tx, now); err != nil {
				return err
			}
		}
		if len(out) > 0 {
			if err := send(out); err != nil {
				sendErr = err
				return err
			}
		}
		return nil
	})
	if sendErr != nil {
		return sendErr
	}
	if err != nil {
		if ctx.Err() == nil {
			sh.failed(s.log, err)
		}
		return err
	}
	sh.ok(s.log)
	if sweep {
		sh.mu.Lock()
		sh.lastSweep = now
		sh.mu.Unlock()
	}
	return nil
}

// sweepShared finishes the learning windows that ended and applies
// retention, when no other replica is doing it.
func (s *Stage) sweepShared(tx SharedTx, now time.Time) error {
	if ok, err := tx.TryLock(sweepLock); err != nil || !ok {
		return err
	}
	wrecs, err := tx.All(bucketWindows)
	if err != nil {
		return err
	}
	v := s.view()
	decodeRecs(s.log, bucketWindows, wrecs, func(w *Window) { v.windows[w.ID] = w })
	ended := false
	for _, w := range v.windows {
		ended = ended || !w.Done && !now.Before(w.EndsAt)
	}
	if ended {
		all, err := tx.All(bucketFindings)
		if err != nil {
			return err
		}
		keys := make([]string, 0, len(all))
		for k := range all {
			keys = append(keys, k)
		}
		frecs, _, err := tx.Lock(bucketFindings, keys, nil)
		if err != nil {
			return err
		}
		decodeRecs(s.log, bucketFindings, frecs, func(f *Finding) { v.findings[f.ID] = f })
		ch := &Changes{}
		v.finishWindows(now, ch)
		if err := ch.seal().Apply(tx); err != nil {
			return err
		}
	}
	_, err = tx.Retain(now.Add(-s.cfg.MaxAge), s.cfg.MaxFindings)
	return err
}

// lockFresh takes the stage's lock; with a Shared store it first reloads
// the maps of buckets the admin API is about to read (on failure they stay
// as last loaded, and the failure is logged).
func (s *Stage) lockFresh(buckets ...string) {
	s.mu.Lock()
	if s.shared == nil {
		return
	}
	for _, b := range buckets {
		var err error
		switch b {
		case bucketFindings:
			m := map[string]*Finding{}
			if err = loadBucket(s.st, s.log, b, func(f *Finding) { m[f.ID] = f }); err == nil {
				s.findings = m
			}
		case bucketSilences:
			m := map[string]*Silence{}
			if err = loadBucket(s.st, s.log, b, func(x *Silence) { m[x.ID] = x }); err == nil {
				s.silences, s.silenceList = m, nil
			}
		case bucketWindows:
			m := map[string]*Window{}
			if err = loadBucket(s.st, s.log, b, func(w *Window) { m[w.ID] = w }); err == nil {
				s.windows = m
			}
		}
		if err != nil {
			s.log.Warn("noise: admin view of the shared state not refreshed", "err", err)
		}
	}
}
