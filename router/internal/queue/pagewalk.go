package queue

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// walkPages checks a bbolt file's page structure by reading it directly,
// with no bbolt code: bbolt, opening a file for writing, rebuilds its
// freelist in a goroutine of its own that asserts (killing the process, no
// recover reaches it) on a page pointer or key length that a flipped byte
// damaged. This walk reads the same pages bbolt would and reports the first
// damage instead: metadata (magic, version, checksum), every page reachable
// from the root within the high-water mark and inside the file, referenced
// once, of the type its parent expects, with every element and key inside
// its page and keys in order, and buckets only at the top level (the queue
// has no nested buckets).
//
// The layout (bbolt v1 format, little-endian on the platforms we build):
// page header {id u64, flags u16, count u16, overflow u32}; branch element
// {pos u32, ksize u32, pgid u64}; leaf element {flags u32, pos u32, ksize
// u32, vsize u32}, pos relative to the element; meta {magic, version,
// pageSize, flags u32; root {pgid, sequence u64}; freelist, pgid, txid,
// checksum u64} after the header of pages 0 and 1.
func walkPages(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	w := &pageWalk{f: f, size: fi.Size(), seen: map[uint64]bool{}}
	return w.run()
}

const (
	hdrSize    = 16
	elemSize   = 16
	magic      = 0xED0CDAED
	branchFlag = 0x01
	leafFlag   = 0x02
	bucketLeaf = 0x01
)

var le = binary.LittleEndian

type pageWalk struct {
	f        *os.File
	size     int64
	pageSize int64
	hwm      uint64
	seen     map[uint64]bool
	// salvage mode (salvage.go): a damaged subtree is recorded in damage
	// and skipped, and every record of a queue bucket goes to record.
	salvage bool
	damage  []string
	record  func(bucket, k, v []byte)
	bucket  []byte
}

// fail returns err, or in salvage mode records it and returns nil so the
// walk goes on with the next subtree.
func (w *pageWalk) fail(err error) error {
	if !w.salvage || err == nil {
		return err
	}
	w.damage = append(w.damage, err.Error())
	return nil
}

type meta struct {
	pageSize uint32
	root     uint64
	pgid     uint64
	txid     uint64
}

func parseMeta(b []byte) (meta, error) {
	if len(b) < hdrSize+64 {
		return meta{}, errors.New("short")
	}
	m := b[hdrSize : hdrSize+64]
	if le.Uint32(m[0:]) != magic {
		return meta{}, errors.New("bad magic")
	}
	if le.Uint32(m[4:]) != 2 {
		return meta{}, fmt.Errorf("version %d", le.Uint32(m[4:]))
	}
	h := fnv.New64a()
	_, _ = h.Write(m[:56])
	if h.Sum64() != le.Uint64(m[56:]) {
		return meta{}, errors.New("bad checksum")
	}
	return meta{pageSize: le.Uint32(m[8:]), root: le.Uint64(m[16:]), pgid: le.Uint64(m[40:]), txid: le.Uint64(m[48:])}, nil
}

func (w *pageWalk) run() error {
	head := make([]byte, 4096+hdrSize+64)
	n, err := w.f.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	m0, err0 := parseMeta(head[:n])
	if err0 != nil {
		m0.pageSize = 4096
	}
	var m1 meta
	err1 := errors.New("unreadable")
	if ps := int64(m0.pageSize); ps >= 512 && ps <= 1<<20 {
		b := make([]byte, hdrSize+64)
		if _, err := w.f.ReadAt(b, ps); err == nil {
			m1, err1 = parseMeta(b)
		}
	}
	var m meta
	switch {
	case err0 == nil && (err1 != nil || m0.txid >= m1.txid):
		m = m0
	case err1 == nil:
		m = m1
	default:
		return fmt.Errorf("both meta pages are invalid (%v; %v)", err0, err1)
	}
	w.pageSize, w.hwm = int64(m.pageSize), m.pgid
	if w.pageSize < 512 || w.pageSize > 1<<20 {
		return fmt.Errorf("meta: page size %d", w.pageSize)
	}
	if int64(w.hwm)*w.pageSize > w.size {
		return fmt.Errorf("the file is %d bytes but its metadata counts %d: it was truncated", w.size, int64(w.hwm)*w.pageSize)
	}
	return w.page(m.root, 0, 0)
}

// page checks page id, reached at bucket level lvl (0: the root bucket,
// whose entries are the queue's buckets; 1: a queue bucket) and tree depth.
func (w *pageWalk) page(id uint64, lvl, depth int) error {
	if depth > 64 {
		return fmt.Errorf("page %d: tree deeper than 64", id)
	}
	if id < 2 || id >= w.hwm {
		return fmt.Errorf("page %d: out of bounds (high-water mark %d)", id, w.hwm)
	}
	if w.seen[id] {
		return fmt.Errorf("page %d: referenced twice", id)
	}
	hdr := make([]byte, hdrSize)
	if _, err := w.f.ReadAt(hdr, int64(id)*w.pageSize); err != nil {
		return fmt.Errorf("page %d: %w", id, err)
	}
	if got := le.Uint64(hdr); got != id {
		return fmt.Errorf("page %d: header says page %d", id, got)
	}
	over := uint64(le.Uint32(hdr[12:]))
	if id+over >= w.hwm {
		return fmt.Errorf("page %d: %d overflow pages run past the high-water mark %d", id, over, w.hwm)
	}
	for i := id; i <= id+over; i++ {
		if w.seen[i] {
			return fmt.Errorf("page %d: referenced twice", i)
		}
		w.seen[i] = true
	}
	buf := make([]byte, int64(over+1)*w.pageSize)
	if _, err := w.f.ReadAt(buf, int64(id)*w.pageSize); err != nil {
		return fmt.Errorf("page %d: %w", id, err)
	}
	err := w.nodes(buf, id, lvl, depth)
	if err != nil && w.salvage {
		return err // the caller records it and goes on with the next subtree
	}
	return err
}

// nodes checks the elements of one page (or an inline bucket's page) in buf.
func (w *pageWalk) nodes(buf []byte, id uint64, lvl, depth int) error {
	if len(buf) < hdrSize {
		return fmt.Errorf("page %d: shorter than its header", id)
	}
	flags, count := le.Uint16(buf[8:]), int(le.Uint16(buf[10:]))
	if hdrSize+count*elemSize > len(buf) {
		return fmt.Errorf("page %d: %d elements do not fit", id, count)
	}
	var prev []byte
	for i := range count {
		at := hdrSize + i*elemSize
		e := buf[at : at+elemSize]
		var (
			key, val []byte
			child    uint64
			eflags   uint32
		)
		switch flags {
		case branchFlag:
			pos, ks := int64(le.Uint32(e)), int64(le.Uint32(e[4:]))
			if int64(at)+pos+ks > int64(len(buf)) {
				return fmt.Errorf("page %d: branch key %d runs past the page", id, i)
			}
			key, child = buf[int64(at)+pos:int64(at)+pos+ks], le.Uint64(e[8:])
		case leafFlag:
			eflags = le.Uint32(e)
			pos, ks, vs := int64(le.Uint32(e[4:])), int64(le.Uint32(e[8:])), int64(le.Uint32(e[12:]))
			if int64(at)+pos+ks+vs > int64(len(buf)) {
				return fmt.Errorf("page %d: leaf element %d runs past the page", id, i)
			}
			key, val = buf[int64(at)+pos:int64(at)+pos+ks], buf[int64(at)+pos+ks:int64(at)+pos+ks+vs]
		default:
			return fmt.Errorf("page %d: unexpected page type (flags %#x)", id, flags)
		}
		if prev != nil && bytes.Compare(key, prev) <= 0 {
			return fmt.Errorf("page %d: keys out of order", id)
		}
		prev = key
		if flags == branchFlag {
			if err := w.fail(w.page(child, lvl, depth+1)); err != nil {
				return err
			}
			continue
		}
		isBucket := eflags&bucketLeaf != 0
		switch {
		case lvl == 0 && !isBucket:
			return fmt.Errorf("page %d: top-level key %q is not a bucket", id, key)
		case lvl > 0 && isBucket:
			return fmt.Errorf("page %d: key %x is a nested bucket (the queue has none)", id, key)
		case !isBucket:
			if w.record != nil {
				w.record(w.bucket, key, val)
			}
			continue
		}
		if len(val) < 16 {
			return fmt.Errorf("page %d: bucket %q header is %d bytes", id, key, len(val))
		}
		root := le.Uint64(val)
		var err error
		w.bucket = key
		if root == 0 {
			err = w.nodes(val[16:], id, lvl+1, depth+1) // inline bucket
		} else {
			err = w.page(root, lvl+1, 0)
		}
		if err != nil {
			if err := w.fail(fmt.Errorf("bucket %s: %w", key, err)); err != nil {
				return err
			}
		}
	}
	return nil
}
