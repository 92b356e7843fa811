package queue

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// A poison record is a stored record that cannot be decoded: a file written
// by an older router that accepted more than ingest now does, a bit flip,
// or a hand-edited file. It must never stop a worker or a start-up, so it
// is moved to the output's dead letters with the reason, keeping the stored
// bytes (DeadLetter.Raw) when the record itself is not JSON, and the queue
// goes on with the next item.

type poisoned struct {
	seq uint64
	raw []byte
	err error
}

// buryLoaded moves records that did not decode at load to q's dead letters,
// inside load's transaction.
func (s *Store) buryLoaded(tx *bolt.Tx, q *outq, poison []poisoned) error {
	if len(poison) == 0 {
		return nil
	}
	now := s.opts.Now().UnixNano()
	b, d := tx.Bucket(queueBucket(q.name)), tx.Bucket(deadBucket(q.name))
	for _, p := range poison {
		rec := deadRecord{Output: q.name, Dead: now, Raw: p.raw}
		rec.Err = "undecodable queued record: " + p.err.Error()
		v, err := json.Marshal(rec)
		if err != nil {
			return fmt.Errorf("output %s item %d: encode dead letter: %w", q.name, p.seq, err)
		}
		if err := d.Put(key(q.nextDead), v); err != nil {
			return fmt.Errorf("output %s item %d: %w", q.name, p.seq, err)
		}
		q.nextDead++
		if err := b.Delete(key(p.seq)); err != nil {
			return fmt.Errorf("output %s item %d: %w", q.name, p.seq, err)
		}
		s.opts.Logger.Error("undecodable queued record moved to dead letters", "output", q.name, "seq", p.seq, "err", p.err)
	}
	return nil
}

// poison moves a leased item whose record (raw set) or alert (raw nil) did
// not decode to the output's dead letters. If even that fails, the item is
// dropped from the in-memory index so it is not leased again until the next
// start, and the failure is logged.
func (s *Store) poison(name string, it Item, raw []byte, cause error) {
	err := s.deadLetter(name, it, raw, fmt.Errorf("undecodable queued record: %w", cause), false)
	if err != nil {
		s.opts.Logger.Error("undecodable queued record could not be moved to dead letters", "output", name, "seq", it.Seq, "cause", cause, "err", err)
		return
	}
	s.opts.Logger.Error("undecodable queued record moved to dead letters", "output", name, "seq", it.Seq, "err", cause)
}
