package k8saudit

import "time"

// dedup remembers the (auditID, stage) pairs seen within a window, so that
// a batch the API server retries (after a timeout whose request did reach
// us) raises no second alert. It holds at most max keys; past that the
// oldest are forgotten first. Not safe for concurrent use.
type dedup struct {
	window time.Duration
	max    int
	seen   map[string]time.Time
	order  []dedupEntry // FIFO by first-seen time
	head   int
}

type dedupEntry struct {
	key string
	at  time.Time
}

func newDedup(window time.Duration, max int) *dedup {
	return &dedup{window: window, max: max, seen: make(map[string]time.Time)}
}

// check reports whether key was seen within the window before now, and
// records it otherwise.
func (d *dedup) check(key string, now time.Time) (dup bool) {
	d.expire(now)
	if _, ok := d.seen[key]; ok {
		return true
	}
	d.seen[key] = now
	d.order = append(d.order, dedupEntry{key, now})
	for len(d.seen) > d.max {
		d.pop()
	}
	return false
}

func (d *dedup) expire(now time.Time) {
	for d.head < len(d.order) && now.Sub(d.order[d.head].at) >= d.window {
		d.pop()
	}
}

func (d *dedup) pop() {
	e := d.order[d.head]
	d.order[d.head] = dedupEntry{}
	d.head++
	if d.seen[e.key] == e.at {
		delete(d.seen, e.key)
	}
	if d.head > 1024 && d.head*2 > len(d.order) {
		d.order = append(d.order[:0], d.order[d.head:]...)
		d.head = 0
	}
}

// Len is the number of keys remembered.
func (d *dedup) Len() int { return len(d.seen) }
