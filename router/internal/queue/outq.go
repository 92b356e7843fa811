package queue

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/lookout-sec/lookout/router/api"
)

// outq is one output's in-memory index over its bucket: entries in sequence
// order (with tombstones compacted lazily) and the payload only in memory
// mode. The store lock guards it.
type outq struct {
	name       string
	dropOldest bool
	next       uint64   // next queue sequence
	nextDead   uint64   // next dead-letter id
	entries    []*entry // sorted by seq; gone entries linger until compact
	live       int
	leased     int
	bytes      int64
	hot        int64         // bytes of entries holding their decoded alert
	wake       chan struct{} // closed (and replaced) when items arrive or return
	// window bounds the entries a durable queue indexes in memory; the
	// items past it are the tail, counted but only on disk (window.go).
	// 0 (memory mode) indexes everything.
	window     int
	tail       tail
	maxIndexed uint64 // highest sequence ever indexed
}

// entry is one queued item. A durable queue keeps one per item of its
// backlog in memory, so it holds only what leasing needs (48 bytes on the
// heap); the payload, when there is one, hangs off body.
type entry struct {
	seq    uint64
	size   int64
	queued int64
	next   int64
	body   *body // memory mode's record, the hot cache's alert; nil for a cold durable entry
	leased bool
	gone   bool
}

// body is what an entry holds beyond its index fields.
type body struct {
	data []byte // the record, memory mode only
	// alert and aj are the decoded alert and its JSON while the entry is
	// hot (cache.go): a lease then needs no read and no decode.
	alert *api.Alert
	aj    []byte
}

// record returns the record held in memory (memory mode), or nil.
func (e *entry) record() []byte {
	if e.body == nil {
		return nil
	}
	return e.body.data
}

// setRecord keeps rec in memory (memory mode).
func (e *entry) setRecord(rec []byte) {
	if e.body == nil {
		e.body = &body{}
	}
	e.body.data = rec
}

func newOutq(o OutputOptions, window int) *outq {
	return &outq{name: o.Name, dropOldest: o.DropOldest, next: 1, nextDead: 1, wake: make(chan struct{}), window: window}
}

// signal wakes every Lease waiting on q; the store lock must be held.
func (q *outq) signal() {
	close(q.wake)
	q.wake = make(chan struct{})
}

// add counts e in q and indexes it, in sequence order (almost always at
// the end), unless it belongs to the tail (window.go). It reports whether
// e is indexed.
func (q *outq) add(e *entry) bool {
	q.live++
	q.bytes += e.size
	if q.toTail(e) {
		return false
	}
	q.insert(e)
	return true
}

// insert puts e in the index in sequence order.
func (q *outq) insert(e *entry) {
	q.maxIndexed = max(q.maxIndexed, e.seq)
	i := len(q.entries)
	for i > 0 && q.entries[i-1].seq > e.seq {
		i--
	}
	q.entries = append(q.entries, nil)
	copy(q.entries[i+1:], q.entries[i:])
	q.entries[i] = e
}

// remove marks e gone and returns its size.
func (q *outq) remove(e *entry) int64 {
	if e.gone {
		return 0
	}
	if e.leased {
		q.leased--
		e.leased = false
	}
	e.gone = true
	q.cool(e)
	e.body = nil
	q.live--
	q.bytes -= e.size
	q.compact()
	return e.size
}

// find returns the live entry with sequence seq, or nil. The entries are
// sorted by sequence, so it is a binary search (a map beside the slice
// cost about 50 bytes per queued item and GC work).
func (q *outq) find(seq uint64) *entry {
	i, ok := slices.BinarySearchFunc(q.entries, seq, func(e *entry, seq uint64) int { return cmp.Compare(e.seq, seq) })
	if !ok || q.entries[i].gone {
		return nil
	}
	return q.entries[i]
}

func (q *outq) compact() {
	i := 0
	for i < len(q.entries) && q.entries[i].gone {
		q.entries[i] = nil
		i++
	}
	q.entries = q.entries[i:]
	if live := q.indexed(); len(q.entries) > 2*live+64 {
		kept := make([]*entry, 0, live)
		for _, e := range q.entries {
			if !e.gone {
				kept = append(kept, e)
			}
		}
		q.entries = kept
	}
}

// load builds every output's index from the file.
func (s *Store) load() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, q := range s.order {
			b, err := tx.CreateBucketIfNotExists(queueBucket(q.name))
			if err != nil {
				return fmt.Errorf("bucket for output %s: %w", q.name, err)
			}
			d, err := tx.CreateBucketIfNotExists(deadBucket(q.name))
			if err != nil {
				return fmt.Errorf("dead-letter bucket for output %s: %w", q.name, err)
			}
			var poison []poisoned
			err = b.ForEach(func(k, v []byte) error {
				seq, err := seqOf(k)
				if err != nil {
					return fmt.Errorf("output %s: %w", q.name, err)
				}
				var r record
				if err := json.Unmarshal(v, &r); err != nil {
					poison = append(poison, poisoned{seq: seq, raw: append([]byte(nil), v...), err: err})
					return nil
				}
				q.add(&entry{seq: seq, size: int64(len(k) + len(v)), queued: r.Queued, next: r.Next})
				q.next = seq + 1
				return nil
			})
			if err != nil {
				return err
			}
			if k, _ := d.Cursor().Last(); k != nil {
				seq, err := seqOf(k)
				if err != nil {
					return fmt.Errorf("output %s dead letters: %w", q.name, err)
				}
				q.nextDead = seq + 1
			}
			if err := s.buryLoaded(tx, q, poison); err != nil {
				return err
			}
			s.used += q.bytes
		}
		return nil
	})
}
