// Package spool is the sensor's bounded on-disk alert queue: a bbolt file
// under the sensor's state directory that holds encoded alerts in order
// until the router has accepted them.
//
// Append writes a batch in one fsync'd transaction; Peek reads from the
// oldest; Remove deletes what was delivered. Delivery is at-least-once: a
// record is removed only after the router accepted it, so a crash between
// the two sends it again. When an append would take the spool over its
// byte bound the oldest records are removed to make room, and reported, so
// that the caller can count them as dropped.
package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// FileName is the spool's file inside its directory.
const FileName = "spool.db"

// ErrLocked means another process holds the spool file.
var ErrLocked = errors.New("spool file is locked by another process")

var bucket = []byte("alerts")

// Record is one spooled alert.
type Record struct {
	// Seq orders records; it grows with every append.
	Seq uint64
	// Internal marks the sensor's own "alert drops" alerts, whose loss is
	// not itself counted as a drop.
	Internal bool
	// Data is the encoded alert.
	Data []byte
}

// size is what a record counts against the bound.
func (r Record) size() int64 { return int64(len(r.Data)) + 9 }

// Dropped describes records removed to make room.
type Dropped struct {
	N, Internal int // records removed; of which internal
}

// Spool is an open spool. It is safe for concurrent use.
type Spool struct {
	db       *bolt.DB
	path     string
	maxBytes int64

	mu    sync.Mutex
	next  uint64 // seq of the next append
	count int
	bytes int64
	// inflight is one past the highest seq the last Peek returned, until
	// Remove or Release: those records are being sent, so making room never
	// evicts them (an evicted record that still arrives would be counted
	// twice, dropped and delivered); the spool may then exceed its bound by
	// that one batch. 0: none.
	inflight uint64
}

// Open opens (creating) dir/spool.db, bounded to maxBytes of records. A
// file that cannot be read is moved aside to spool.db.corrupt-<time> and a
// fresh spool is started; the returned error is then nil and moved names
// the old file, so the caller can say so loudly.
func Open(dir string, maxBytes int64) (s *Spool, moved string, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", fmt.Errorf("spool dir: %w", err)
	}
	path := filepath.Join(dir, FileName)
	s, err = open(path, maxBytes)
	if err == nil || errors.Is(err, ErrLocked) {
		return s, "", err
	}
	moved = fmt.Sprintf("%s.corrupt-%s", path, time.Now().UTC().Format("20060102T150405Z"))
	if rerr := os.Rename(path, moved); rerr != nil {
		return nil, "", errors.Join(err, fmt.Errorf("move the unreadable spool aside: %w", rerr))
	}
	s, err = open(path, maxBytes)
	return s, moved, err
}

func open(path string, maxBytes int64) (s *Spool, err error) {
	defer func() {
		// bbolt asserts with panics on some damaged files.
		if r := recover(); r != nil {
			err = fmt.Errorf("open spool %s: damaged file: %v", path, r)
			if s != nil && s.db != nil {
				_ = s.db.Close()
			}
			s = nil
		}
	}()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w (is another lookout-sensor using this spool.dir?)", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open spool %s: %w", path, err)
	}
	s = &Spool{db: db, path: path, maxBytes: maxBytes}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucket)
		if err != nil {
			return err
		}
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(k) != 8 || len(v) < 1 {
				return fmt.Errorf("record %x is malformed", k)
			}
			s.count++
			s.bytes += int64(len(v)) + 8
		}
		if k, _ := c.Last(); k != nil {
			s.next = binary.BigEndian.Uint64(k) + 1
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open spool %s: %w", path, err)
	}
	return s, nil
}

// Path returns the spool file.
func (s *Spool) Path() string { return s.path }

// Len returns the number of records and their bytes.
func (s *Spool) Len() (n int, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count, s.bytes
}

// Append stores recs (Seq is assigned) in one fsync'd transaction after
// removing the oldest records while the bound would be exceeded. A record
// larger than the whole bound is not stored and counted in Dropped.
func (s *Spool) Append(recs []Record) (Dropped, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var d Dropped
	var add int64
	keep := recs[:0:0]
	for _, r := range recs {
		if r.size() > s.maxBytes {
			d.N++
			if r.Internal {
				d.Internal++
			}
			continue
		}
		keep = append(keep, r)
		add += r.size()
	}
	if len(keep) == 0 {
		return d, nil
	}
	var freed int64
	removed := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		c := b.Cursor()
		var from [8]byte
		binary.BigEndian.PutUint64(from[:], s.inflight)
		for k, v := c.Seek(from[:]); k != nil && s.bytes-freed+add > s.maxBytes; k, v = c.Seek(from[:]) {
			freed += int64(len(v)) + 8
			removed++
			d.N++
			if v[0]&flagInternal != 0 {
				d.Internal++
			}
			if err := c.Delete(); err != nil {
				return err
			}
		}
		var key [8]byte
		for i := range keep {
			keep[i].Seq = s.next + uint64(i)
			binary.BigEndian.PutUint64(key[:], keep[i].Seq)
			v := make([]byte, 1+len(keep[i].Data))
			if keep[i].Internal {
				v[0] = flagInternal
			}
			copy(v[1:], keep[i].Data)
			if err := b.Put(key[:], v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Dropped{N: len(recs) - len(keep)}, fmt.Errorf("append to spool %s: %w", s.path, err)
	}
	s.next += uint64(len(keep))
	s.count += len(keep) - removed
	s.bytes += add - freed
	return d, nil
}

const flagInternal = 1

// Peek returns up to n of the oldest records, at most maxBytes of data in
// all (always at least one record when the spool is not empty).
func (s *Spool) Peek(n int, maxBytes int64) ([]Record, error) {
	var out []Record
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucket).Cursor()
		var total int64
		for k, v := c.First(); k != nil && len(out) < n; k, v = c.Next() {
			if len(out) > 0 && total+int64(len(v)) > maxBytes {
				break
			}
			total += int64(len(v))
			out = append(out, Record{Seq: binary.BigEndian.Uint64(k), Internal: v[0]&flagInternal != 0, Data: append([]byte(nil), v[1:]...)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read spool %s: %w", s.path, err)
	}
	if len(out) > 0 {
		s.mu.Lock()
		s.inflight = out[len(out)-1].Seq + 1
		s.mu.Unlock()
	}
	return out, nil
}

// Release ends the last Peek's claim on its records (their send failed or
// is over): making room may evict them again.
func (s *Spool) Release() {
	s.mu.Lock()
	s.inflight = 0
	s.mu.Unlock()
}

// Remove deletes the records with the given sequence numbers (delivered or
// dead-lettered) in one fsync'd transaction.
func (s *Spool) Remove(seqs []uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var freed int64
	removed := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		var key [8]byte
		for _, q := range seqs {
			binary.BigEndian.PutUint64(key[:], q)
			v := b.Get(key[:])
			if v == nil {
				continue // removed to make room meanwhile
			}
			freed += int64(len(v)) + 8
			removed++
			if err := b.Delete(key[:]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove from spool %s: %w", s.path, err)
	}
	s.count -= removed
	s.bytes -= freed
	s.inflight = 0
	return nil
}

// Close closes the file.
func (s *Spool) Close() error { return s.db.Close() }
