package queue

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// The index window. A durable queue indexes in memory only the first
// Options.IndexWindow items of each output (oldest first); the items behind
// them, the tail, are only counted (how many, how many bytes, the range of
// their sequences) and stay on disk. When leasing has used up half the
// window, the next items are read from the file into it (refill). So a
// backlog of a million alerts behind a dead output costs the heap a window
// of entries, not a million of them, and a lease scans at most a window.
//
// What makes this exact: every item is written to the file before it is
// added to the index (the hooks of a commit run after it, all of a batch
// under one hold of the store lock: store.go's finish), and items reach the
// tail in sequence order, each newer than every indexed one. So the tail is
// exactly the items on disk whose sequence lies in [first, last], and a
// refill that reads that range through a read transaction begun after the
// range was taken finds all of them and nothing else. Items committed later
// have higher sequences and go to the tail; only indexed items are ever
// leased, acked, retried, dead-lettered or dropped, so nothing in the tail
// is deleted behind the index's back. In memory mode (the record lives in
// the entry) there is no window.

// DefaultIndexWindow is Options.IndexWindow's default: 16,384 entries of 48
// bytes, under a megabyte of heap per output, while a lease of even 1,000
// items at a time finds the window full enough.
const DefaultIndexWindow = 16384

// tail describes the items of a queue past its window.
type tail struct {
	n           int
	bytes       int64
	first, last uint64 // sequence range holding every tail item (when n > 0)
	queued      int64  // acceptance time of the oldest tail item, as far as known
	refilling   bool   // a refill is reading the file
	// Counted while refilling: the tail items added since the refill took
	// its range (they lie past it).
	since      int
	sinceBytes int64
}

// indexed is how many live items q holds in memory.
func (q *outq) indexed() int { return q.live - q.tail.n }

// toTail counts e in the tail if it belongs there: the window is full or
// the tail has begun, and e is newer than every item ever indexed (a write
// committed out of sequence order, a replay's, is indexed instead; and an
// acked item whose delete is not committed yet lies below the tail's range).
func (q *outq) toTail(e *entry) bool {
	if q.window <= 0 || (q.tail.n == 0 && q.indexed() <= q.window) {
		return false
	}
	if e.seq < q.maxIndexed {
		return false
	}
	t := &q.tail
	if t.n == 0 || e.seq < t.first {
		t.first, t.queued = e.seq, e.queued
	}
	t.last = max(t.last, e.seq)
	t.n++
	t.bytes += e.size
	if t.refilling {
		t.since++
		t.sinceBytes += e.size
	}
	return true
}

// needsRefill says whether leasing has used up half of q's window while
// items wait in the tail; store lock held.
func (q *outq) needsRefill() bool {
	return q.tail.n > 0 && !q.tail.refilling && q.indexed() <= q.window/2
}

// refill reads the oldest tail items of q from the file into its index, up
// to a full window; called without the store lock.
func (s *Store) refill(q *outq) error {
	s.mu.Lock()
	if !q.needsRefill() {
		s.mu.Unlock()
		return nil
	}
	t := &q.tail
	t.refilling, t.since, t.sinceBytes = true, 0, 0
	from, to, want := t.first, t.last, q.window-q.indexed()
	s.mu.Unlock()

	got, next, err := s.readRange(q.name, from, to, want)

	s.mu.Lock()
	defer s.mu.Unlock()
	t.refilling = false
	if err != nil {
		return fmt.Errorf("refill output %s index from the file: %w", q.name, err)
	}
	for _, e := range got {
		q.entries = append(q.entries, e)
		q.maxIndexed = e.seq
		t.n--
		t.bytes -= e.size
	}
	switch {
	case next != nil: // more of the range is left
		t.first, t.queued = next.seq, next.queued
	case t.n != t.since || t.bytes != t.sinceBytes:
		// The whole range was read and some of what was counted in it was
		// not there: the file lost items behind the index. Say so and count
		// what is there.
		s.opts.Logger.Error("queued items counted in the tail were not in the file",
			"output", q.name, "missing", t.n-t.since, "from", from, "to", to)
		lostN, lostBytes := t.n-t.since, t.bytes-t.sinceBytes
		q.live -= lostN
		q.bytes -= lostBytes
		s.used -= lostBytes
		t.n, t.bytes = t.since, t.sinceBytes
		fallthrough
	default: // what is left was added since the range was taken
		t.first = to + 1
	}
	if t.n == 0 {
		*t = tail{}
	}
	q.signal()
	return nil
}

// readRange reads up to want items of output name with sequences in
// [from, to], and the one after them (next) if the range holds more.
func (s *Store) readRange(name string, from, to uint64, want int) (got []*entry, next *entry, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(queueBucket(name)).Cursor()
		for k, v := c.Seek(key(from)); k != nil; k, v = c.Next() {
			seq, err := seqOf(k)
			if err != nil {
				return err
			}
			if seq > to {
				return nil
			}
			e := indexEntry(seq, k, v)
			if len(got) == want {
				next = e
				return nil
			}
			got = append(got, e)
		}
		return nil
	})
	return got, next, err
}

// indexEntry is the index entry of a stored record. A record that does not
// decode is indexed all the same, with no times: the lease that reads it
// moves it to the dead letters (poison.go).
func indexEntry(seq uint64, k, v []byte) *entry {
	var r struct {
		Queued int64 `json:"queued"`
		Next   int64 `json:"next"`
	}
	_ = json.Unmarshal(v, &r)
	return &entry{seq: seq, size: int64(len(k) + len(v)), queued: r.Queued, next: r.Next}
}
