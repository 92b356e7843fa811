package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/lookout-sec/lookout/router/api"
)

// Item is one alert leased from one output's queue.
type Item struct {
	Seq          uint64
	Alert        *api.Alert
	Queued       time.Time // when it was accepted
	Attempts     int       // failed attempts so far
	FirstAttempt time.Time // zero before the first failure is recorded
	LastError    string
	rec          record
}

// Stat describes one output's queue.
type Stat struct {
	Output string
	Len    int       // items waiting or in flight
	Leased int       // items in flight
	Bytes  int64     // bytes they take
	Oldest time.Time // acceptance time of the oldest item; zero when empty
}

func (s *Store) out(name string) (*outq, error) {
	q := s.outs[name]
	if q == nil {
		return nil, fmt.Errorf("no queue for output %q", name)
	}
	return q, nil
}

// Lease blocks until up to max items of output name are due, leases them in
// sequence order and returns them. Items held back by a retry delay are
// skipped until due; items already leased are never returned twice. It
// returns ErrClosed once the store closes and ctx's error when ctx ends.
func (s *Store) Lease(ctx context.Context, name string, max int) ([]Item, error) {
	q, err := s.out(name)
	if err != nil {
		return nil, err
	}
	if max <= 0 {
		max = 1
	}
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		if q.needsRefill() {
			s.mu.Unlock()
			if err := s.refill(q); err != nil {
				return nil, err
			}
			continue
		}
		now := s.opts.Now().UnixNano()
		var (
			got  []*entry
			wake int64
		)
		for _, e := range q.entries {
			if e.gone || e.leased {
				continue
			}
			if e.next > now {
				if wake == 0 || e.next < wake {
					wake = e.next
				}
				continue
			}
			e.leased = true
			q.leased++
			got = append(got, e)
			if len(got) == max {
				break
			}
		}
		wakeCh := q.wake
		hot := make([]Item, len(got))
		mem := make([][]byte, len(got))
		for i, e := range got {
			if b := e.body; b != nil && b.alert != nil {
				hot[i] = Item{Seq: e.seq, Alert: b.alert, Queued: unixTime(e.queued), rec: record{Alert: b.aj, Queued: e.queued}}
				continue
			}
			mem[i] = e.record()
		}
		s.mu.Unlock()
		if len(got) > 0 {
			items, err := s.read(q, got, hot, mem)
			if err != nil || len(items) > 0 {
				return items, err
			}
			continue // every leased record was poison and is now a dead letter
		}
		var (
			timer <-chan time.Time
			t     *time.Timer
		)
		if wake != 0 {
			t = time.NewTimer(time.Duration(wake - now))
			timer = t.C
		}
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-s.quit:
			err = ErrClosed
		case <-wakeCh:
		case <-timer:
		}
		if t != nil {
			t.Stop()
		}
		if err != nil {
			return nil, err
		}
	}
}

// read decodes leased entries that are not hot (hot[i].Alert nil); in
// durable mode it reads their records.
func (s *Store) read(q *outq, got []*entry, hot []Item, mem [][]byte) ([]Item, error) {
	cold := 0
	for i := range got {
		if hot[i].Alert == nil {
			cold++
		}
	}
	if s.db != nil && cold > 0 {
		err := s.db.View(func(tx *bolt.Tx) error {
			b := tx.Bucket(queueBucket(q.name))
			for i, e := range got {
				if hot[i].Alert != nil {
					continue
				}
				if v := b.Get(key(e.seq)); v != nil {
					mem[i] = append([]byte(nil), v...)
				}
			}
			return nil
		})
		if err != nil {
			s.Release(q.name, itemsOf(got)...)
			return nil, fmt.Errorf("read output %s queue: %w", q.name, err)
		}
	}
	items := make([]Item, 0, len(got))
	for i, e := range got {
		if hot[i].Alert != nil {
			items = append(items, hot[i])
			continue
		}
		it := Item{Seq: e.seq}
		if mem[i] == nil {
			s.opts.Logger.Error("queued item vanished", "output", q.name, "seq", e.seq)
			s.mu.Lock()
			s.used -= q.remove(e)
			s.mu.Unlock()
			continue
		}
		if err := json.Unmarshal(mem[i], &it.rec); err != nil {
			s.poison(q.name, it, mem[i], err)
			continue
		}
		a, err := api.DecodeAlert(it.rec.Alert)
		if err != nil {
			s.poison(q.name, it, nil, err)
			continue
		}
		it.Alert, it.Queued, it.Attempts = a, unixTime(it.rec.Queued), it.rec.Attempts
		it.FirstAttempt, it.LastError = unixTime(it.rec.First), it.rec.Err
		items = append(items, it)
	}
	return items, nil
}

func itemsOf(es []*entry) []Item {
	out := make([]Item, len(es))
	for i, e := range es {
		out[i].Seq = e.seq
	}
	return out
}

// Release returns leased items to the queue unchanged (shutdown, or a send
// cancelled before it could count as an attempt).
func (s *Store) Release(name string, items ...Item) {
	q, err := s.out(name)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range items {
		if e := q.find(it.Seq); e != nil && e.leased {
			e.leased = false
			q.leased--
		}
	}
	q.signal()
}

// Ack removes delivered items. The removal is committed in the background,
// batched (acks.go), and retried with later commits if the disk is full: if
// the router dies first, the items are delivered again (at-least-once).
func (s *Store) Ack(name string, items ...Item) error {
	q, err := s.out(name)
	if err != nil {
		return err
	}
	seqs := make([]uint64, 0, len(items))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	for _, it := range items {
		if e := q.find(it.Seq); e != nil {
			s.used -= q.remove(e)
			seqs = append(seqs, it.Seq)
		}
	}
	s.addUnackedLocked(name, seqs)
	return nil
}

// Retry records a failed attempt on a leased item and makes it due again at
// next. It returns once the updated record (attempts, times, error) is
// committed, so the next lease reads it.
func (s *Store) Retry(name string, it Item, next time.Time, cause error) error {
	q, err := s.out(name)
	if err != nil {
		return err
	}
	now := s.opts.Now().UnixNano()
	r := it.rec
	r.Attempts++
	if r.First == 0 {
		r.First = now
	}
	r.Last, r.Next, r.Err = now, next.UnixNano(), cause.Error()
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode record: %w", err)
	}
	s.mu.Lock()
	e := q.find(it.Seq)
	if e == nil {
		s.mu.Unlock()
		return nil // dropped meanwhile
	}
	q.cool(e) // the record on disk now differs from the one it was enqueued with
	e.next = r.Next
	delta := int64(8+len(b)) - e.size
	if s.db == nil {
		delta += memEntryOverhead
	}
	e.size += delta
	q.bytes += delta
	s.used += delta
	if s.db == nil {
		e.setRecord(b)
	}
	s.mu.Unlock()
	// The lease ends after the commit, so no worker reads the old record.
	unlease := func() {
		if e.leased {
			e.leased = false
			q.leased--
		}
		q.signal()
	}
	err = s.submit(&op{done: make(chan error, 1), after: unlease, failed: func(error) { unlease() },
		apply: func(tx *bolt.Tx) error {
			bk := tx.Bucket(queueBucket(name))
			if bk.Get(key(it.Seq)) == nil {
				return nil
			}
			return bk.Put(key(it.Seq), b)
		}})
	return err
}

// DeadLetter moves a leased item to the output's dead-letter bucket with the
// cause and its attempt history, counting this attempt when attempted is set.
// In memory mode the item is only removed.
func (s *Store) DeadLetter(name string, it Item, cause error, attempted bool) error {
	return s.deadLetter(name, it, nil, cause, attempted)
}

// deadLetter is DeadLetter keeping raw, the stored bytes of a record that
// did not decode, when it is set.
func (s *Store) deadLetter(name string, it Item, raw []byte, cause error, attempted bool) error {
	q, err := s.out(name)
	if err != nil {
		return err
	}
	now := s.opts.Now().UnixNano()
	d := deadRecord{record: it.rec, Output: name, Dead: now, Raw: raw}
	if attempted {
		d.Attempts++
		if d.First == 0 {
			d.First = now
		}
		d.Last = now
	}
	d.Next, d.Err = 0, cause.Error()
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode dead letter: %w", err)
	}
	s.mu.Lock()
	e := q.find(it.Seq)
	if e != nil {
		s.used -= q.remove(e)
	}
	id := q.nextDead
	q.nextDead++
	s.mu.Unlock()
	return s.submit(&op{done: make(chan error, 1), apply: func(tx *bolt.Tx) error {
		if err := tx.Bucket(queueBucket(name)).Delete(key(it.Seq)); err != nil {
			return err
		}
		return tx.Bucket(deadBucket(name)).Put(key(id), b)
	}})
}

// Stats describes output name's queue.
func (s *Store) Stats(name string) Stat {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.outs[name]
	if q == nil {
		return Stat{Output: name}
	}
	st := Stat{Output: name, Len: q.live, Leased: q.leased, Bytes: q.bytes}
	for _, e := range q.entries {
		if !e.gone {
			st.Oldest = unixTime(e.queued)
			break
		}
	}
	if st.Oldest.IsZero() && q.tail.n > 0 {
		st.Oldest = unixTime(q.tail.queued)
	}
	return st
}

// Used reports the bytes accounted against MaxBytes.
func (s *Store) Used() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used
}
