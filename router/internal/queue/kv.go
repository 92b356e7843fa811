package queue

import (
	"context"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/lookout-sec/lookout/router/api"
)

// The store also keeps small keyed records for other stages (the noise
// stage's findings, silences and groups) in buckets of their own in the
// same file, so that they are written in the same transaction as the
// alerts they decided about: one commit, one fsync, all or nothing.

// Writer writes keyed records inside a store transaction.
type Writer interface {
	Put(bucket, key string, val []byte) error
	Delete(bucket, key string) error
}

type boltWriter struct{ tx *bolt.Tx }

func (w boltWriter) Put(bucket, key string, val []byte) error {
	b, err := w.tx.CreateBucketIfNotExists([]byte(bucket))
	if err != nil {
		return fmt.Errorf("bucket %s: %w", bucket, err)
	}
	return b.Put([]byte(key), val)
}

func (w boltWriter) Delete(bucket, key string) error {
	b := w.tx.Bucket([]byte(bucket))
	if b == nil {
		return nil
	}
	return b.Delete([]byte(key))
}

// memKV holds the records in memory mode.
type memKV struct {
	mu sync.Mutex
	m  map[string]map[string][]byte
}

func (k *memKV) Put(bucket, key string, val []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil {
		k.m = map[string]map[string][]byte{}
	}
	b := k.m[bucket]
	if b == nil {
		b = map[string][]byte{}
		k.m[bucket] = b
	}
	b[key] = append([]byte(nil), val...)
	return nil
}

func (k *memKV) Delete(bucket, key string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.m[bucket], key)
	return nil
}

// EnqueueWith is Enqueue with extra records (written by extra) in the same
// commit. With nothing routed, the records are still committed.
func (s *Store) EnqueueWith(ctx context.Context, routed map[string][]*api.Alert, extra func(Writer) error) error {
	return s.enqueue(ctx, routed, extra)
}

// Update commits the records fn writes, in a transaction of their own.
func (s *Store) Update(fn func(Writer) error) error {
	o := &op{done: make(chan error, 1)}
	if s.db == nil {
		o.prepare = func() {}
		if err := fn(&s.kv); err != nil {
			return err
		}
	} else {
		o.apply = func(tx *bolt.Tx) error { return fn(boltWriter{tx}) }
	}
	return s.submit(o)
}

// Load calls fn for every record of bucket, in key order (map order in
// memory mode).
func (s *Store) Load(bucket string, fn func(key string, val []byte) error) error {
	if s.db == nil {
		s.kv.mu.Lock()
		snapshot := map[string][]byte{}
		for k, v := range s.kv.m[bucket] {
			snapshot[k] = v
		}
		s.kv.mu.Unlock()
		for k, v := range snapshot {
			if err := fn(k, v); err != nil {
				return err
			}
		}
		return nil
	}
	return s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error { return fn(string(k), v) })
	})
}

// Get returns one record, nil when absent.
func (s *Store) Get(bucket, key string) ([]byte, error) {
	if s.db == nil {
		s.kv.mu.Lock()
		defer s.kv.mu.Unlock()
		v := s.kv.m[bucket][key]
		return append([]byte(nil), v...), nil
	}
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket([]byte(bucket)); b != nil {
			if v := b.Get([]byte(key)); v != nil {
				out = append([]byte(nil), v...)
			}
		}
		return nil
	})
	return out, err
}
