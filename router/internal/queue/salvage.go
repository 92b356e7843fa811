package queue

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// BucketReport says what a check or salvage found in one bucket.
type BucketReport struct {
	Bucket      string // "queue/NAME" or "dead/NAME"
	Records     int    // readable records
	Undecodable int    // of which do not decode (they become dead letters at the next start)
	// Missing counts keys absent between the bucket's first and last
	// readable ones: records lost to damage, or acked out of order.
	Missing uint64
}

// Report is what Check and Salvage found in a queue file.
type Report struct {
	Path    string
	Damage  []string // damaged structure, each with the page; the records below it are lost
	Buckets []BucketReport
}

// OK reports whether the file showed no damage and no undecodable record.
func (r Report) OK() bool {
	if len(r.Damage) > 0 {
		return false
	}
	for _, b := range r.Buckets {
		if b.Undecodable > 0 {
			return false
		}
	}
	return true
}

// String is the report as lookout-router queue check prints it.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:\n", r.Path)
	for _, bk := range r.Buckets {
		fmt.Fprintf(&b, "  %-30s %d records readable, %d undecodable, %d missing between the first and last\n", bk.Bucket, bk.Records, bk.Undecodable, bk.Missing)
	}
	if len(r.Damage) == 0 {
		b.WriteString("  structure: intact\n")
	}
	for _, d := range r.Damage {
		fmt.Fprintf(&b, "  damaged: %s (the records under it are unreadable)\n", d)
	}
	return b.String()
}

type salvaged struct {
	bucket string
	key    []byte
	val    []byte
}

// scan reads every readable record of the queue file at path without
// bbolt (pagewalk.go), skipping damaged subtrees.
func scan(path string, keep bool) (Report, []salvaged, error) {
	f, err := os.Open(path)
	if err != nil {
		return Report{}, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Report{}, nil, err
	}
	rep := Report{Path: path}
	var recs []salvaged
	keys := map[string][]uint64{}
	byName := map[string]*BucketReport{}
	w := &pageWalk{f: f, size: fi.Size(), seen: map[uint64]bool{}, salvage: true}
	w.record = func(bucket, k, v []byte) {
		name := string(bucket)
		br := byName[name]
		if br == nil {
			br = &BucketReport{Bucket: name}
			byName[name] = br
		}
		br.Records++
		if !decodable(name, v) {
			br.Undecodable++
		}
		if len(k) == 8 {
			keys[name] = append(keys[name], le64(k))
		}
		if keep {
			recs = append(recs, salvaged{bucket: name, key: append([]byte(nil), k...), val: append([]byte(nil), v...)})
		}
	}
	if err := w.run(); err != nil {
		w.damage = append(w.damage, err.Error())
	}
	rep.Damage = w.damage
	for name, br := range byName {
		ks := keys[name]
		sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
		if len(ks) > 1 {
			br.Missing = ks[len(ks)-1] - ks[0] + 1 - uint64(len(ks))
		}
		rep.Buckets = append(rep.Buckets, *br)
	}
	sort.Slice(rep.Buckets, func(i, j int) bool { return rep.Buckets[i].Bucket < rep.Buckets[j].Bucket })
	return rep, recs, nil
}

func le64(k []byte) uint64 {
	var n uint64
	for _, c := range k {
		n = n<<8 | uint64(c)
	}
	return n
}

func decodable(bucket string, v []byte) bool {
	if strings.HasPrefix(bucket, "dead/") {
		return json.Valid(v)
	}
	var r record
	return json.Unmarshal(v, &r) == nil
}

// Check reads the queue file at path without changing it and reports what
// is readable. The router must be stopped (Check takes bbolt's lock to
// make sure).
func Check(path string) (Report, error) {
	if _, err := os.Stat(path); err != nil {
		return Report{}, fmt.Errorf("queue file: %w", err)
	}
	if err := lockShared(path); err != nil {
		return Report{}, err
	}
	rep, _, err := scan(path, false)
	return rep, err
}

// Salvage copies every readable record of the queue file at path into a
// new queue under dir (which must not hold one) and reports what it found.
func Salvage(path, dir string) (Report, error) {
	if err := lockShared(path); err != nil {
		return Report{}, err
	}
	dst := filepath.Join(dir, FileName)
	if _, err := os.Stat(dst); err == nil {
		return Report{}, fmt.Errorf("%s exists: salvage into an empty directory", dst)
	}
	rep, recs, err := scan(path, true)
	if err != nil {
		return rep, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return rep, err
	}
	db, err := bolt.Open(dst, 0o600, &bolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType, PageSize: PageSize})
	if err != nil {
		return rep, fmt.Errorf("create %s: %w", dst, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, r := range recs {
			b, err := tx.CreateBucketIfNotExists([]byte(r.bucket))
			if err != nil {
				return err
			}
			if err := b.Put(r.key, r.val); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return rep, fmt.Errorf("write %s: %w", dst, err)
	}
	return rep, writeMarker(dir, time.Now())
}

// lockShared fails with ErrLocked while a router holds the file.
func lockShared(path string) error {
	var db *bolt.DB
	err := guard(func() error {
		var err error
		db, err = bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
		return err
	})
	if err == bolt.ErrTimeout {
		return fmt.Errorf("open %s: %w (stop lookout-router first)", path, ErrLocked)
	}
	if err == nil {
		_ = guard(db.Close)
	}
	return nil // a file bbolt cannot open is for scan to report
}
