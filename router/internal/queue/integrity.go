package queue

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// MarkerName is the file written beside queue.db when a queue is created.
// Its presence says a queue existed here, so a missing or empty queue.db is
// refused (lost alerts) instead of silently replaced by an empty queue.
const MarkerName = "queue.id"

// ErrDamaged is returned by Open when the queue file fails its consistency
// check, cannot be read, or is missing or empty where a queue existed.
var ErrDamaged = errors.New("queue file is damaged or missing")

// damagedHelp says what an operator can do about a damaged queue file.
const damagedHelp = "stop here and keep the file; `lookout-router queue check --config FILE` lists what is readable, " +
	"`lookout-router queue salvage --config FILE --to NEWDIR` copies every readable record to a new queue " +
	"(then point queue.dir at NEWDIR); `--init-queue` starts an empty queue instead (the file's alerts are lost)"

// checkExisting refuses a missing or zero-length queue file where the
// marker says a queue existed, and any zero-length file, unless init is set
// (the operator's fresh-queue flag). With init, a zero-length file is moved
// aside (queue.db.empty-<time>) rather than reused.
func checkExisting(dir, path string, init bool, now time.Time) error {
	marker := filepath.Join(dir, MarkerName)
	_, merr := os.Stat(marker)
	hadQueue := merr == nil
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.Size() > 0:
		return nil
	case err == nil: // zero length: bbolt would silently make it an empty queue
		if !init {
			return fmt.Errorf("%w: %s is empty (0 bytes); if it held alerts they are gone; restore it from a backup, or start with --init-queue for an empty queue", ErrDamaged, path)
		}
		return os.Rename(path, fmt.Sprintf("%s.empty-%s", path, now.UTC().Format("20060102T150405Z")))
	case errors.Is(err, os.ErrNotExist):
		if hadQueue && !init {
			return fmt.Errorf("%w: %s is missing but %s says a queue was created here; restore the file from a backup, or start with --init-queue for an empty queue (its alerts are lost)", ErrDamaged, path, marker)
		}
		return nil
	default:
		return fmt.Errorf("queue file %s: %w", path, err)
	}
}

// writeMarker writes the marker beside a queue file that has none.
func writeMarker(dir string, now time.Time) error {
	marker := filepath.Join(dir, MarkerName)
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	var id [16]byte
	_, _ = rand.Read(id[:])
	body := fmt.Sprintf("id: %s\ncreated: %s\nfile: %s\n", hex.EncodeToString(id[:]), now.UTC().Format(time.RFC3339), FileName)
	if err := os.WriteFile(marker, []byte(body), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", marker, err)
	}
	return nil
}

// guard runs fn, turning a panic (bbolt asserts on some corruptions) and a
// memory fault (a truncated file's pages mapped past its end) into an error.
func guard(fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return fn()
}

// consistency checks path's page structure (walkPages, which also finds a
// truncated file), then walks db (opened read-only) in this goroutine,
// where guard turns bbolt's assertions into errors: every bucket's records
// must be readable, keys in order, no nested bucket.
// It returns at most max findings. bbolt's own tx.Check is not used: in
// bbolt v1.5 it asserts in goroutines of its own, where no recover reaches,
// on some damaged files (the process would die instead of reporting).
func consistency(db *bolt.DB, path string, max int) ([]string, error) {
	var found []string
	err := guard(func() error {
		if err := walkPages(path); err != nil {
			found = append(found, err.Error())
			return nil
		}
		return db.View(func(tx *bolt.Tx) error {
			return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
				var prev []byte
				c := b.Cursor()
				for k, v := c.First(); k != nil; k, v = c.Next() {
					if v == nil { // the queue has no nested buckets: a damaged flag or page
						found = append(found, fmt.Sprintf("bucket %s: key %x is a nested bucket (the queue has none)", name, k))
						return nil
					}
					if prev != nil && string(k) <= string(prev) {
						if len(found) < max {
							found = append(found, fmt.Sprintf("bucket %s: keys out of order (%x after %x)", name, k, prev))
						}
					}
					prev = append(prev[:0], k...)
				}
				return nil
			})
		})
	})
	return found, err
}

// Inspect opens path read-only and runs the consistency check, with panics
// and faults turned into ErrDamaged errors naming the file. The caller
// closes the returned db.
func Inspect(path string, timeout time.Duration) (*bolt.DB, []string, error) {
	var db *bolt.DB
	err := guard(func() error {
		var err error
		db, err = bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: timeout})
		return err
	})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, nil, fmt.Errorf("open %s: %w (is lookout-router running with this queue.dir?)", path, ErrLocked)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%w: open %s: %v", ErrDamaged, path, err)
	}
	found, err := consistency(db, path, 20)
	if err != nil {
		found = append(found, err.Error())
	}
	return db, found, nil
}

// openChecked checks path read-only first (bbolt asserts, in goroutines of
// its own where no recover reaches, when it opens a damaged file for
// writing), then opens it for writing. The check reads every page in use
// once: about a second per GiB on an SSD, bounded by queue.max_bytes.
func openChecked(path string, opts *bolt.Options) (*bolt.DB, error) {
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		ro, found, err := Inspect(path, opts.Timeout)
		if err != nil {
			if errors.Is(err, ErrLocked) {
				return nil, err
			}
			return nil, fmt.Errorf("%w; %s", err, damagedHelp)
		}
		_ = guard(ro.Close)
		if len(found) > 0 {
			return nil, fmt.Errorf("%w: %s fails its consistency check: %s; %s", ErrDamaged, path, strings.Join(found[:min(len(found), 5)], "; "), damagedHelp)
		}
	}
	var db *bolt.DB
	err := guard(func() error {
		var err error
		db, err = bolt.Open(path, 0o600, opts)
		return err
	})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w (is lookout-router running with this queue.dir?)", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: open %s: %v; %s", ErrDamaged, path, err, damagedHelp)
	}
	return db, nil
}
