package queue

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// Trimming the file's mapping.
//
// bbolt reads the queue file through a shared, read-only mmap. Every page a
// transaction touches stays mapped into the router, and counts in its RSS
// (RssFile), until the kernel reclaims it: a backlog of 100 MB at a slow
// output shows as 100 MB more RSS, although the pages are the kernel's page
// cache and nothing the router allocated. With a memory limit on the pod
// that reads as a leak, and the target of issue 19 (RSS at saturation ≤ 150
// MB in both modes) failed on it alone.
//
// So the committer, once a second at most, tells the kernel it no longer
// needs the mapping's pages (madvise MADV_DONTNEED). For a shared file
// mapping that only drops the router's page-table entries: the data stays
// in the page cache and in the file, and the next access maps it again
// (a minor fault, no disk read). The committer is the only writer, and only
// a writer remaps the file (bbolt's grow), so the range is stable while it
// runs; readers meanwhile just fault the pages back in.

// trimInterval is the least time between two trims.
const trimInterval = time.Second

// trimMinBytes is the file size under which trimming is not worth a system
// call: a small queue's pages are few.
const trimMinBytes = 8 << 20

// maybeTrim trims the mapping when the last trim is trimInterval old.
// Committer goroutine only.
func (s *Store) maybeTrim(now time.Time) {
	if s.db == nil || now.Sub(s.trimmedAt) < trimInterval {
		return
	}
	s.trimmedAt = now
	if err := s.trimMapping(); err != nil {
		// Harmless (the pages stay mapped, RSS just follows the backlog),
		// but unexpected: say so, at most once a second.
		s.opts.Logger.Warn("queue: cannot trim the file's mapping", "err", err)
	}
}

// trimMapping drops the mapped pages of the file's used part from the
// router's address space. Committer
// goroutine only (or before the committer starts / after it stopped).
func (s *Store) trimMapping() error {
	var size int64
	if err := s.db.View(func(tx *bolt.Tx) error {
		size = tx.Size() // high-water mark: bbolt reads nothing past it
		return nil
	}); err != nil {
		return err
	}
	info := s.db.Info()
	if size < trimMinBytes || info == nil || info.Data == 0 {
		return nil
	}
	// The mapping covers at least the high-water mark (bbolt maps before it
	// allocates a page), so this range lies inside it. The raw system call
	// takes the address as bbolt gives it, with no Go pointer made of it.
	if _, _, errno := unix.Syscall(unix.SYS_MADVISE, info.Data, uintptr(size), unix.MADV_DONTNEED); errno != 0 {
		return fmt.Errorf("madvise queue mapping: %w", errno)
	}
	return nil
}
