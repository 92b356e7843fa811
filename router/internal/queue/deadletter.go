package queue

import (
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

var errMemory = errors.New("the queue is in memory (queue.dir is empty): there are no dead letters to manage")

// DeadLetters lists output name's dead letters, oldest first.
func (s *Store) DeadLetters(name string) ([]DeadLetter, error) {
	if _, err := s.out(name); err != nil {
		return nil, err
	}
	if s.db == nil {
		return nil, errMemory
	}
	var out []DeadLetter
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(deadBucket(name)).ForEach(func(k, v []byte) error {
			id, err := seqOf(k)
			if err != nil {
				return err
			}
			var d deadRecord
			if err := json.Unmarshal(v, &d); err != nil {
				d = deadRecord{Output: name, Raw: append([]byte(nil), v...)}
				d.Err = "undecodable dead letter: " + err.Error()
			}
			out = append(out, d.toDeadLetter(id))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list dead letters of output %s: %w", name, err)
	}
	return out, nil
}

// Replay moves output name's dead letters with the given ids (all of them
// when ids is empty) back to the end of its queue with a fresh attempt
// budget (attempts from zero, retry.max_age counted from now), and returns
// how many it moved. Unknown and repeated ids are ignored, and so are dead
// letters whose record could not be decoded (DeadLetter.Raw is set).
func (s *Store) Replay(name string, ids []uint64) (int, error) {
	q, err := s.out(name)
	if err != nil {
		return 0, err
	}
	if s.db == nil {
		return 0, errMemory
	}
	var (
		recs    [][]byte
		entries []*entry
		found   []uint64
	)
	now := s.opts.Now().UnixNano()
	o := &op{done: make(chan error, 1)}
	o.apply = func(tx *bolt.Tx) error {
		recs, entries, found = nil, nil, nil
		d := tx.Bucket(deadBucket(name))
		b := tx.Bucket(queueBucket(name))
		err := eachDead(d, ids, func(id uint64, v []byte) error {
			var dr deadRecord
			if err := json.Unmarshal(v, &dr); err != nil || dr.Raw != nil || len(dr.Alert) == 0 {
				return nil // undecodable: it stays a dead letter (list shows its bytes)
			}
			// A fresh budget: retry.max_age counts from the replay.
			rec, err := json.Marshal(record{Alert: dr.Alert, Queued: now})
			if err != nil {
				return err
			}
			s.mu.Lock()
			seq := q.next
			q.next++
			s.mu.Unlock()
			if err := b.Put(key(seq), rec); err != nil {
				return err
			}
			recs = append(recs, rec)
			entries = append(entries, &entry{seq: seq, size: int64(8 + len(rec)), queued: now})
			found = append(found, id)
			return nil
		})
		if err != nil {
			return err
		}
		for _, id := range found {
			if err := d.Delete(key(id)); err != nil {
				return err
			}
		}
		return nil
	}
	o.after = func() {
		for _, e := range entries {
			q.add(e)
			s.used += e.size
		}
		q.signal()
	}
	if err := s.submit(o); err != nil {
		return 0, fmt.Errorf("replay dead letters of output %s: %w", name, err)
	}
	return len(found), nil
}

// Purge deletes output name's dead letters with the given ids (all of them
// when ids is empty) and returns how many it deleted.
func (s *Store) Purge(name string, ids []uint64) (int, error) {
	if _, err := s.out(name); err != nil {
		return 0, err
	}
	if s.db == nil {
		return 0, errMemory
	}
	var n int
	o := &op{done: make(chan error, 1), apply: func(tx *bolt.Tx) error {
		n = 0
		d := tx.Bucket(deadBucket(name))
		var found []uint64
		if err := eachDead(d, ids, func(id uint64, _ []byte) error { found = append(found, id); return nil }); err != nil {
			return err
		}
		for _, id := range found {
			if err := d.Delete(key(id)); err != nil {
				return err
			}
		}
		n = len(found)
		return nil
	}}
	if err := s.submit(o); err != nil {
		return 0, fmt.Errorf("purge dead letters of output %s: %w", name, err)
	}
	return n, nil
}

func eachDead(d *bolt.Bucket, ids []uint64, fn func(id uint64, v []byte) error) error {
	if len(ids) == 0 {
		return d.ForEach(func(k, v []byte) error {
			id, err := seqOf(k)
			if err != nil {
				return err
			}
			return fn(id, v)
		})
	}
	seen := make(map[uint64]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			continue // a repeated id is one dead letter, replayed or purged once
		}
		seen[id] = true
		if v := d.Get(key(id)); v != nil {
			if err := fn(id, v); err != nil {
				return err
			}
		}
	}
	return nil
}
