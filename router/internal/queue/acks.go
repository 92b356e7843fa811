package queue

import "time"

// Acks are batched. A delivered item leaves the in-memory index at once
// (it is never leased again and its bytes are free for ingest), but its
// delete is committed with a later commit: the first one after AckDelay
// has passed since the oldest pending ack, or after AckBatch acks are
// pending, or at Close. Commits in between hold only ingest's appends, so
// they dirty the queue's tail pages and not its head too; one commit then
// deletes hundreds of neighbouring keys. A timer makes that commit happen
// when nothing else is written. Crash semantics do not change: an item
// whose delete was not committed is delivered again after a restart
// (at-least-once; at most AckDelay's worth of deliveries more).
const (
	AckDelay = 50 * time.Millisecond
	AckBatch = 512
)

// addUnackedLocked queues deletes of seqs; store lock held.
func (s *Store) addUnackedLocked(name string, seqs []uint64) {
	if len(seqs) == 0 {
		return
	}
	if s.unackedN == 0 {
		s.unackedSince = time.Now()
	}
	s.unacked[name] = append(s.unacked[name], seqs...)
	s.unackedN += len(seqs)
	switch {
	case s.unackedN >= AckBatch:
		s.kickLocked()
	case s.ackTimer == nil && !s.closed:
		s.ackTimer = time.AfterFunc(AckDelay, func() {
			s.mu.Lock()
			s.ackTimer = nil
			s.kickLocked()
			s.mu.Unlock()
		})
	}
}

// kickLocked makes the committer commit soon, pending acks included, by
// handing it an empty write if none is waiting; store lock held.
func (s *Store) kickLocked() {
	if s.closed {
		return
	}
	select {
	case s.ops <- &op{}:
	default: // the committer has writes waiting; they commit first
	}
}

// acksDueLocked says whether the next commit takes the pending acks;
// store lock held.
func (s *Store) acksDueLocked(force bool) bool {
	if len(s.unacked) == 0 {
		return false
	}
	return force || s.unackedN >= AckBatch || time.Since(s.unackedSince) >= AckDelay
}
