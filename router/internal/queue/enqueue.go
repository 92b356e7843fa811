package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"

	"github.com/lookout-sec/lookout/router/api"
)

// newRecord encodes record{Alert: aj, Queued: now} without re-validating
// aj, which json.Marshal just produced.
func newRecord(aj []byte, now int64) []byte {
	rec := make([]byte, 0, len(aj)+40)
	rec = append(rec, `{"alert":`...)
	rec = append(rec, aj...)
	rec = append(rec, `,"queued":`...)
	rec = strconv.AppendInt(rec, now, 10)
	return append(rec, '}')
}

type pendingOut struct {
	q       *outq
	recs    [][]byte
	entries []*entry
	alerts  []*api.Alert
	ajs     [][]byte
}

// memEntryOverhead is what an entry costs the heap beside its record in
// memory mode (the entry, its index slot and map entry), counted against
// MaxBytes so that the bound holds for the heap too.
const memEntryOverhead = 160

// Enqueue stores each output's alerts, all or nothing, and returns once the
// commit holding them is on disk. routed maps output names to alerts; an
// alert routed to several outputs is encoded once. It fails with ErrFull
// when the alerts do not fit (after drop-oldest outputs gave up what they
// could) or the disk is full, and with ErrClosed after Close.
func (s *Store) Enqueue(ctx context.Context, routed map[string][]*api.Alert) error {
	return s.enqueue(ctx, routed, nil)
}

func (s *Store) enqueue(_ context.Context, routed map[string][]*api.Alert, extra func(Writer) error) error {
	now := s.opts.Now().UnixNano()
	enc := map[*api.Alert][]byte{}
	var (
		outs []*pendingOut
		need int64
	)
	for _, q := range s.order { // config order, deterministic
		as := routed[q.name]
		if len(as) == 0 {
			continue
		}
		p := &pendingOut{q: q}
		for _, a := range as {
			aj, ok := enc[a]
			if !ok {
				b, err := a.Encode()
				if err != nil {
					return fmt.Errorf("encode alert %s: %w", a.UUID, err)
				}
				aj, enc[a] = b, b
			}
			rec := newRecord(aj, now)
			p.recs = append(p.recs, rec)
			e := &entry{size: int64(8 + len(rec)), queued: now}
			if s.db == nil {
				e.setRecord(rec)
				e.size += memEntryOverhead
			}
			p.entries = append(p.entries, e)
			p.alerts = append(p.alerts, a)
			p.ajs = append(p.ajs, aj)
			need += e.size
		}
		outs = append(outs, p)
	}
	for name := range routed {
		if s.outs[name] == nil {
			return fmt.Errorf("no queue for output %q", name)
		}
	}
	if len(outs) == 0 {
		if extra != nil {
			return s.Update(extra)
		}
		return nil
	}
	if extra != nil && s.db == nil {
		if err := extra(&s.kv); err != nil {
			return err
		}
	}

	dropped, err := s.reserve(need)
	if err != nil {
		return err
	}

	o := &op{
		done: make(chan error, 1),
		prepare: func() {
			for _, p := range outs {
				for _, e := range p.entries {
					e.seq = p.q.next
					p.q.next++
				}
			}
		},
		apply: func(tx *bolt.Tx) error {
			if extra != nil {
				if err := extra(boltWriter{tx}); err != nil {
					return err
				}
			}
			for _, d := range dropped {
				if err := tx.Bucket(queueBucket(d.q.name)).Delete(key(d.seq)); err != nil {
					return err
				}
			}
			for _, p := range outs {
				b := tx.Bucket(queueBucket(p.q.name))
				for i, e := range p.entries {
					if err := b.Put(key(e.seq), p.recs[i]); err != nil {
						return err
					}
				}
			}
			return nil
		},
		after: func() {
			for _, p := range outs {
				for i, e := range p.entries {
					if p.q.add(e) {
						s.warm(p.q, e, p.alerts[i], p.ajs[i])
					}
				}
				p.q.signal()
			}
		},
		failed: func(error) { s.used -= need },
	}
	if err := s.submit(o); err != nil {
		return err
	}
	return nil
}

// reserve counts need more bytes as used, evicting what drop-oldest
// outputs must give up for them. Drop-oldest evicts indexed items only: if
// that is not enough while such an output has items in its tail (it leases
// nothing, so its window was shed), the tail is read in and it tries again.
func (s *Store) reserve(need int64) ([]droppedItem, error) {
	for attempt := 0; ; attempt++ {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		dropped, err := s.makeRoomLocked(need)
		if err == nil {
			s.used += need
			s.mu.Unlock()
			return dropped, nil
		}
		var shed []*outq
		for _, q := range s.order {
			if q.dropOldest && q.needsRefill() {
				shed = append(shed, q)
			}
		}
		s.mu.Unlock()
		if attempt > 0 || !errors.Is(err, ErrFull) || len(shed) == 0 {
			return nil, err
		}
		for _, q := range shed {
			if err := s.refill(q); err != nil {
				return nil, err
			}
		}
	}
}

type droppedItem struct {
	q   *outq
	seq uint64
}

// makeRoomLocked checks that need more bytes fit, evicting the oldest idle
// items of drop-oldest outputs if that makes them fit.
func (s *Store) makeRoomLocked(need int64) ([]droppedItem, error) {
	max := s.opts.MaxBytes
	if max <= 0 || s.used+need <= max {
		return nil, nil
	}
	excess := s.used + need - max
	var avail int64
	for _, q := range s.order {
		if !q.dropOldest {
			continue
		}
		for _, e := range q.entries {
			if !e.gone && !e.leased {
				avail += e.size
				if avail >= excess {
					break
				}
			}
		}
	}
	if avail < excess {
		return nil, fmt.Errorf("%w: %d bytes queued, %d more do not fit under queue.max_bytes=%d", ErrFull, s.used, need, max)
	}
	var dropped []droppedItem
	for _, q := range s.order {
		if !q.dropOldest || excess <= 0 {
			continue
		}
		n := 0
		for i := 0; i < len(q.entries) && excess > 0; i++ {
			e := q.entries[i]
			if e.gone || e.leased {
				continue
			}
			dropped = append(dropped, droppedItem{q: q, seq: e.seq})
			sz := q.remove(e)
			s.used -= sz
			excess -= sz
			n++
			i = -1 // remove may have compacted the slice; rescan from the head
		}
		if n > 0 && s.opts.OnDrop != nil {
			s.opts.OnDrop(q.name, n)
		}
	}
	return dropped, nil
}
