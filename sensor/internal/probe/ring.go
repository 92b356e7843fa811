package probe

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The kernel's ring buffer record header (include/uapi/linux/bpf.h).
const (
	ringHdrSize    = 8       // BPF_RINGBUF_HDR_SZ
	ringBusyBit    = 1 << 31 // BPF_RINGBUF_BUSY_BIT: reserved, not committed yet
	ringDiscardBit = 1 << 30 // BPF_RINGBUF_DISCARD_BIT: committed as discarded
	ringLenMask    = 1<<30 - 1
	// ringCommitEvery is how many records the reader handles before it
	// publishes its consumer position (and at the end of every batch): the
	// kernel reads that position on every reservation, so storing it per
	// record bounced its cache line between the reader's and the writers'
	// CPUs once per record.
	ringCommitEvery = 64
)

// errRingClosed is returned by ring.run once close has been called.
var errRingClosed = errors.New("ring buffer closed")

// ring reads a BPF ring buffer map in place: records are decoded straight
// from the mapping (the data pages are mapped twice in a row, so a record
// that wraps is contiguous), with no copy and no lock per record, and the
// consumer position is published once per ringCommitEvery records. It
// replaces cilium/ebpf's ringbuf.Reader, which copies every record and
// takes a mutex and an atomic store per record.
type ring struct {
	consPage []byte // consumer position page (read-write)
	data     []byte // producer position page, then the data pages twice
	consPos  *uintptr
	prodPos  *uintptr
	buf      []byte // the data pages, twice
	mask     uintptr
	epfd     int
	closeFD  int // eventfd: written by close to wake run

	mu     sync.Mutex // held by run while it uses the mapping; close takes it to unmap
	closed atomic.Bool
}

// newRing maps the ring buffer map mapFD of size bytes (a power of two) and
// sets up the epoll that waits for its wakeups.
func newRing(mapFD, size int) (_ *ring, err error) {
	page := os.Getpagesize()
	r := &ring{epfd: -1, closeFD: -1, mask: uintptr(size - 1)}
	defer func() {
		if err != nil {
			r.release()
		}
	}()
	if r.consPage, err = unix.Mmap(mapFD, 0, page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED); err != nil {
		return nil, fmt.Errorf("probe: mmap the ring's consumer page: %w", err)
	}
	if r.data, err = unix.Mmap(mapFD, int64(page), page+2*size, unix.PROT_READ, unix.MAP_SHARED); err != nil {
		return nil, fmt.Errorf("probe: mmap the ring's data pages: %w", err)
	}
	r.consPos = (*uintptr)(unsafe.Pointer(&r.consPage[0]))
	r.prodPos = (*uintptr)(unsafe.Pointer(&r.data[0]))
	r.buf = r.data[page:]
	if r.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return nil, fmt.Errorf("probe: epoll_create1: %w", err)
	}
	if r.closeFD, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return nil, fmt.Errorf("probe: eventfd: %w", err)
	}
	for _, fd := range []int{mapFD, r.closeFD} {
		if err := unix.EpollCtl(r.epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}); err != nil {
			return nil, fmt.Errorf("probe: epoll_ctl: %w", err)
		}
	}
	return r, nil
}

// run passes every committed record to fn, then sleeps until the kernel
// wakes the reader or poll passes, and again, until stop returns true or
// close is called (errRingClosed). fn sees the record in place: it must
// not keep raw. poll 0 means drain once without waiting.
func (r *ring) run(poll time.Duration, stop func() bool, fn func(raw []byte)) error {
	events := make([]unix.EpollEvent, 2)
	for {
		r.mu.Lock()
		if r.closed.Load() {
			r.mu.Unlock()
			return errRingClosed
		}
		r.drain(fn)
		if poll == 0 || stop() {
			r.mu.Unlock()
			return nil
		}
		_, err := unix.EpollWait(r.epfd, events, int(poll.Milliseconds()))
		r.mu.Unlock()
		if err != nil && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("probe: wait for the ring buffer: %w", err)
		}
	}
}

// drain hands fn every record committed when it starts (and those
// committed meanwhile), stopping at one still being written.
func (r *ring) drain(fn func(raw []byte)) {
	cons := atomic.LoadUintptr(r.consPos)
	prod := atomic.LoadUintptr(r.prodPos)
	n := 0
	for cons < prod {
		// The length word is read atomically: it orders the record's data
		// after the kernel's commit (the xchg that clears the busy bit).
		hdr := atomic.LoadUint32((*uint32)(unsafe.Pointer(&r.buf[cons&r.mask])))
		if hdr&ringBusyBit != 0 {
			break
		}
		size := uintptr(hdr & ringLenMask)
		start := (cons + ringHdrSize) & r.mask
		if hdr&ringDiscardBit == 0 {
			fn(r.buf[start : start+size : start+size])
		}
		cons += ringHdrSize + (size+7)&^7
		if n++; n%ringCommitEvery == 0 {
			atomic.StoreUintptr(r.consPos, cons)
		}
		if cons == prod {
			prod = atomic.LoadUintptr(r.prodPos)
		}
	}
	atomic.StoreUintptr(r.consPos, cons)
}

// availableBytes is how much data waits in the ring.
func (r *ring) availableBytes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed.Load() {
		return 0
	}
	return int(atomic.LoadUintptr(r.prodPos) - atomic.LoadUintptr(r.consPos))
}

// close wakes run, waits for it to leave the mapping, and unmaps. It is
// safe to call more than once and concurrently with run.
func (r *ring) close() error {
	if r.closed.Swap(true) {
		return nil
	}
	one := [8]byte{1}
	_, _ = unix.Write(r.closeFD, one[:]) // the eventfd stays readable: run cannot sleep past it
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.release()
}

func (r *ring) release() error {
	var errs []error
	for _, m := range [][]byte{r.data, r.consPage} {
		if m != nil {
			errs = append(errs, unix.Munmap(m))
		}
	}
	r.data, r.consPage, r.buf = nil, nil, nil
	for _, fd := range []int{r.epfd, r.closeFD} {
		if fd >= 0 {
			errs = append(errs, unix.Close(fd))
		}
	}
	r.epfd, r.closeFD = -1, -1
	return errors.Join(errs...)
}
