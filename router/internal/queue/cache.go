package queue

import "github.com/lookout-sec/lookout/router/api"

// The hot cache: an entry enqueued while the cache has room keeps the
// decoded alert it was enqueued with (shared by every output it was routed
// to; outputs only read alerts) and the alert's JSON. Leasing a hot entry
// reads nothing from the file and decodes nothing, so when delivery keeps
// up with ingest (the usual case) an alert is encoded once, on its way in,
// and never decoded again. The bbolt file stays the truth: an entry that
// cools (a retry rewrote its record, or the cache was full when it came)
// is read back from disk as before. Options.HotBytes bounds the cache by
// the entries' record sizes; the decoded alerts behind it take about three
// times that on the heap (TestMemoryModeAccountsTheHeap's figures). 4 MiB
// covers thousands of alerts in flight, which is what delivery that keeps
// up needs; a backlog beyond it is read back from the file.

// DefaultHotBytes is Options.HotBytes' default.
const DefaultHotBytes = 4 << 20

// hotBytes is what every output's hot entries take; store lock held.
func (s *Store) hotBytes() int64 {
	var n int64
	for _, q := range s.order {
		n += q.hot
	}
	return n
}

// warm makes e hot if the cache has room; store lock held.
func (s *Store) warm(q *outq, e *entry, a *api.Alert, aj []byte) {
	if s.opts.HotBytes < 0 || s.hotBytes()+e.size > s.opts.HotBytes {
		return
	}
	if e.body == nil {
		e.body = &body{}
	}
	e.body.alert, e.body.aj = a, aj
	q.hot += e.size
}

// cool drops e's decoded alert; store lock held.
func (q *outq) cool(e *entry) {
	if b := e.body; b != nil && b.alert != nil {
		b.alert, b.aj = nil, nil
		q.hot -= e.size
		if b.data == nil {
			e.body = nil
		}
	}
}
