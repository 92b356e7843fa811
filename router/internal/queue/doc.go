// Package queue is the router's durable store: one FIFO queue per output and
// one dead-letter bucket per output, in a single bbolt file under queue.dir.
//
// Writes go through one committer goroutine that gathers every write waiting
// while the previous commit was being fsync'd into one bbolt transaction
// (group commit), so an ingest request waits for at most about two commits
// and throughput grows with concurrency. Enqueue returns only after the
// commit containing its alerts is on disk: that is what makes the router's
// 2xx mean "durable".
//
// Items are keyed by a per-output monotonic sequence (8 bytes, big endian),
// so a bucket's order is the order of acceptance. Leases live in memory
// only: an item leased to a worker stays in the file until it is acked,
// retried or dead-lettered, so a crash re-delivers whatever was in flight
// (at-least-once; the alert's uuid lets destinations deduplicate).
//
// The store accounts the bytes it holds against MaxBytes; Enqueue fails with
// ErrFull (all or nothing) when an enqueue does not fit, or when the disk
// itself is full (ENOSPC), unless outputs that opted into drop-oldest can
// make room. With Dir == "" the store keeps everything in memory (no
// durability; for benchmarks and tests of the rest of the router).
package queue
