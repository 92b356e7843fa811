package queue

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrFull is returned by Enqueue when the alerts do not fit under MaxBytes or
// the disk is full; the server answers 503 with Retry-After.
var ErrFull = errors.New("queue is full")

// ErrClosed is returned once the store is closed.
var ErrClosed = errors.New("queue is closed")

// ErrLocked is returned by Open when another process holds the queue file.
var ErrLocked = errors.New("queue file is locked by another process")

// FileName is the bbolt file's name inside the queue directory.
const FileName = "queue.db"

// PageSize is the page size of a new queue file (an existing file keeps
// its own). 16 KiB pages halve the time of a commit of a hundred alerts
// against 4 KiB ones (fewer pages to split, write and sync; measured in
// docs/benchmarks-router.md) and cost small commits nothing measurable.
const PageSize = 16 << 10

// initialMmap is the first mapping of the queue file (virtual memory, not
// resident): bbolt remaps, holding every transaction back, each time the
// file outgrows its mapping.
const initialMmap = 1 << 30

// OutputOptions describes one output's queue.
type OutputOptions struct {
	Name       string
	DropOldest bool // when the store is full, drop this output's oldest items instead of refusing
}

// Options configures a Store.
type Options struct {
	Dir         string // directory of the bbolt file; "" keeps everything in memory
	MaxBytes    int64  // bytes of queued items (keys + records) the store accepts; 0 = no limit
	Outputs     []OutputOptions
	MaxBatch    int                               // writes per commit at most; default 1024
	HotBytes    int64                             // record bytes whose decoded alerts stay in memory (cache.go); 0: DefaultHotBytes, <0: none
	IndexWindow int                               // items per output a durable queue indexes in memory (window.go); 0: DefaultIndexWindow, <0: all
	LockTimeout time.Duration                     // how long Open waits for the file lock; default 1s
	OnDrop      func(output string, n int)        // called (store lock held) for drop-oldest evictions
	OnCommit    func(d time.Duration, writes int) // called after each durable commit (metrics)
	Logger      *slog.Logger                      // default slog.Default()
	Now         func() time.Time                  // default time.Now
	// InitQueue lets Open start an empty queue where a missing or empty
	// queue file says alerts were lost (the --init-queue flag; integrity.go).
	InitQueue bool
}

// Store holds every output's queue and dead letters.
type Store struct {
	db   *bolt.DB // nil in memory mode
	opts Options

	ops     chan *op
	quit    chan struct{}
	stopped chan struct{}
	senders sync.WaitGroup

	mu     sync.Mutex
	closed bool
	used   int64
	outs   map[string]*outq
	order  []*outq
	// unacked holds deletes of acked items not committed yet (acks.go):
	// they ride along with a later commit, and are retried with the next
	// one if their commit failed (a full disk).
	unacked      map[string][]uint64
	unackedN     int
	unackedSince time.Time
	ackTimer     *time.Timer
	kv           memKV // other stages' records in memory mode

	trimmedAt time.Time // committer only: last trim of the file's mapping (mapping.go)
}

// op is one write. prepare runs in the committer, under the store lock,
// before the transaction; apply runs inside it (durable mode only); after or
// failed runs under the store lock once the commit is known.
type op struct {
	prepare func()
	apply   func(tx *bolt.Tx) error
	after   func()
	failed  func(err error)
	done    chan error // nil: nobody waits
}

// Open opens (creating if needed) the store in opts.Dir and loads every
// configured output's queue index.
func Open(opts Options) (*Store, error) {
	if opts.HotBytes == 0 {
		opts.HotBytes = DefaultHotBytes
	}
	if opts.IndexWindow == 0 {
		opts.IndexWindow = DefaultIndexWindow
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 1024
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Store{
		opts: opts, ops: make(chan *op, 4096), quit: make(chan struct{}), stopped: make(chan struct{}),
		outs: map[string]*outq{}, unacked: map[string][]uint64{},
	}
	for _, o := range opts.Outputs {
		if _, dup := s.outs[o.Name]; dup {
			return nil, fmt.Errorf("output %q is listed twice", o.Name)
		}
		window := 0 // memory mode: the records live in the index
		if opts.Dir != "" {
			window = max(opts.IndexWindow, 0)
		}
		q := newOutq(o, window)
		s.outs[o.Name] = q
		s.order = append(s.order, q)
	}
	if opts.Dir != "" {
		if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("queue.dir: %w", err)
		}
		path := filepath.Join(opts.Dir, FileName)
		if err := checkExisting(opts.Dir, path, opts.InitQueue, opts.Now()); err != nil {
			return nil, err
		}
		db, err := openChecked(path, &bolt.Options{
			Timeout: opts.LockTimeout, NoFreelistSync: true, FreelistType: bolt.FreelistMapType, PageSize: PageSize,
			// Address space only: a larger first mapping spares the growing
			// file the remaps that stop every reader and the writer.
			InitialMmapSize: initialMmap,
		})
		if err != nil {
			return nil, err
		}
		s.db = db
		if err := guard(s.load); err != nil {
			_ = guard(db.Close)
			return nil, fmt.Errorf("%w: load queue %s: %v; %s", ErrDamaged, path, err, damagedHelp)
		}
		if err := writeMarker(opts.Dir, opts.Now()); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	go s.commitLoop()
	return s, nil
}

// Durable reports whether the store writes to disk.
func (s *Store) Durable() bool { return s.db != nil }

// Path returns the bbolt file's path, or "" in memory mode.
func (s *Store) Path() string {
	if s.db == nil {
		return ""
	}
	return s.db.Path()
}

// Close waits for pending writes to commit, wakes every Lease with
// ErrClosed and closes the file. It is safe to call more than once.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.senders.Wait()
	close(s.quit)
	<-s.stopped
	if s.db != nil {
		return s.db.Close()
	}
	return nil
}

// submit hands o to the committer; with o.done set, it waits for the commit.
func (s *Store) submit(o *op) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.senders.Add(1)
	s.mu.Unlock()
	s.ops <- o
	s.senders.Done()
	if o.done == nil {
		return nil
	}
	return <-o.done
}

func (s *Store) commitLoop() {
	defer close(s.stopped)
	batch := make([]*op, 0, s.opts.MaxBatch)
	for {
		var first *op
		select {
		case first = <-s.ops:
		case <-s.quit:
			for {
				select {
				case o := <-s.ops:
					s.commit([]*op{o}, false)
				default:
					s.mu.Lock()
					retry := len(s.unacked) > 0
					if s.ackTimer != nil {
						s.ackTimer.Stop()
					}
					s.mu.Unlock()
					if retry {
						s.commit(nil, true) // the acks still pending
					}
					return
				}
			}
		}
		batch = append(batch[:0], first)
	gather:
		for len(batch) < s.opts.MaxBatch {
			select {
			case o := <-s.ops:
				batch = append(batch, o)
			default:
				break gather
			}
		}
		s.commit(batch, false)
		s.maybeTrim(time.Now())
	}
}

// commit writes batch in one transaction. If that fails and the batch holds
// more than one write, each is retried alone so one write's failure (a full
// disk refusing an enqueue) does not fail the others (acks, which free space).
func (s *Store) commit(batch []*op, force bool) {
	s.mu.Lock()
	batch = s.withAcksLocked(batch, force)
	for _, o := range batch {
		if o.prepare != nil {
			o.prepare()
		}
	}
	s.mu.Unlock()
	err := s.update(batch)
	if errors.Is(err, ErrFull) { // a full disk: the pending acks free pages
		s.mu.Lock()
		n := len(batch)
		batch = s.withAcksLocked(batch, true)
		s.mu.Unlock()
		if len(batch) > n {
			err = s.update(batch)
		}
	}
	errs := make([]error, len(batch))
	for i := range errs {
		errs[i] = err
	}
	if err != nil && len(batch) > 1 {
		for i, o := range batch {
			errs[i] = s.update([]*op{o})
		}
	}
	s.finish(batch, errs)
}

// withAcksLocked puts the pending acks' deletes first in batch when they
// are due (acks.go); store lock held.
func (s *Store) withAcksLocked(batch []*op, force bool) []*op {
	if !s.acksDueLocked(force) {
		return batch
	}
	pending := s.unacked
	s.unacked, s.unackedN = map[string][]uint64{}, 0
	return append([]*op{s.deleteOp(pending)}, batch...)
}

func (s *Store) update(batch []*op) error {
	if s.db == nil {
		return nil
	}
	if s.opts.OnCommit != nil {
		start := time.Now()
		defer func() { s.opts.OnCommit(time.Since(start), len(batch)) }()
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, o := range batch {
			if o.apply == nil {
				continue
			}
			if err := o.apply(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w: disk full: %w", ErrFull, err)
	}
	return err
}

// finish runs the after (or failed, errs[i] set) hooks of a committed batch
// under one hold of the store lock, so that no reader of the file (a
// refill of the index, window.go) sees the batch's items on disk but only
// part of them in the index; then it wakes the writers waiting.
func (s *Store) finish(batch []*op, errs []error) {
	s.mu.Lock()
	for i, o := range batch {
		if errs[i] == nil && o.after != nil {
			o.after()
		}
		if errs[i] != nil && o.failed != nil {
			o.failed(errs[i])
		}
	}
	s.mu.Unlock()
	for i, o := range batch {
		err := errs[i]
		if err != nil && o.done == nil {
			s.opts.Logger.Warn("queue write failed; retried with the next commit", "err", err)
		}
		if o.done != nil {
			o.done <- err
		}
	}
}

func queueBucket(name string) []byte { return []byte("queue/" + name) }
func deadBucket(name string) []byte  { return []byte("dead/" + name) }

// deleteOp deletes items by output and sequence; if its commit fails, the
// deletes go back to s.unacked for the next commit.
func (s *Store) deleteOp(seqs map[string][]uint64) *op {
	return &op{
		apply: func(tx *bolt.Tx) error {
			for name, list := range seqs {
				b := tx.Bucket(queueBucket(name))
				for _, seq := range list {
					if err := b.Delete(key(seq)); err != nil {
						return err
					}
				}
			}
			return nil
		},
		failed: func(error) { // store lock held
			for name, list := range seqs {
				s.addUnackedLocked(name, list)
			}
		},
	}
}
