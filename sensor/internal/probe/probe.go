package probe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// Interest-map slots for the lifecycle hooks (IDX_* in bpf/probe.bpf.c).
const (
	nrMax      = 512
	idxOnly    = 507
	idxExclude = 508
	idxExec    = 509
	idxFork    = 510
	idxExit    = 511
)

// DefaultRingSize is the ring buffer size used when Config.RingSize is 0.
const DefaultRingSize = 8 << 20

// DefaultPollInterval is how long the reader sleeps on a ring that holds
// less than the wakeup watermark: the most a record waits on a quiet node.
// Bursts wake the reader earlier (see Config.WakeupBytes).
const DefaultPollInterval = 50 * time.Millisecond

// Config configures Open.
type Config struct {
	// RingSize is the ring buffer size in bytes: a power of two and a
	// multiple of the page size. 0 means DefaultRingSize.
	RingSize int
	// PollInterval is how long the reader waits on a ring below the wakeup
	// watermark. 0 means DefaultPollInterval.
	PollInterval time.Duration
	// WakeupBytes is the watermark: records are written without waking the
	// reader until this much data waits, so a quiet node costs a timer tick
	// per PollInterval and no wakeup per record, while a burst wakes the
	// reader long before the ring is full. 0 means RingSize/8.
	WakeupBytes int
	// Logger receives decode problems; nil means slog.Default().
	Logger *slog.Logger
	// Interest is the set of event types to deliver; everything else is
	// filtered in the kernel. Types the probe does not support are ignored.
	Interest event.TypeSet
	// ExcludePID, when not 0, is a process (tgid) whose events are filtered
	// in the kernel: the sensor passes its own pid so that its /proc reads,
	// metrics scrapes and posts to the router do not come back as events.
	// Its children are not excluded: their fork (which runs in the excluded
	// parent), exec and syscalls pass.
	ExcludePID int
	// OnlyPID, when not 0, is the only process (tgid) whose events pass the
	// kernel filter: for watching one process, and for tests that must not
	// see the rest of the machine.
	OnlyPID int

	// probeReads makes the hooks read kernel structures with
	// bpf_probe_read_kernel even where typed loads are possible: tests use
	// it to check the path kernels without bpf_rdonly_cast (before 6.2) take.
	probeReads bool
}

// Probe is a loaded and attached set of BPF programs.
type Probe struct {
	objs  bpfObjects
	links []link.Link
	rd    *ringbuf.Reader
	dec   *decoder
	cfg   Config
	log   *slog.Logger
	// decodeErrors counts records the decoder rejected.
	decodeErrors atomic.Uint64
	closeOnce    sync.Once
	closeErr     error
}

// Open checks privileges and kernel support, loads the programs with the
// given ring size, sets the interest filter and attaches the hooks. Errors
// say what is missing (a capability, BTF, a kernel too old).
func Open(ctx context.Context, cfg Config) (*Probe, error) {
	if err := checkCaps(); err != nil {
		return nil, err
	}
	if err := checkKernel(); err != nil {
		return nil, err
	}
	if cfg.RingSize == 0 {
		cfg.RingSize = DefaultRingSize
	}
	page := os.Getpagesize()
	if cfg.RingSize < page || cfg.RingSize&(cfg.RingSize-1) != 0 {
		return nil, fmt.Errorf("probe: ring size %d must be a power of two and at least the page size %d", cfg.RingSize, page)
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	spec, err := loadBpf()
	if err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	spec.Maps["events"].MaxEntries = uint32(cfg.RingSize)
	if cfg.WakeupBytes <= 0 || cfg.WakeupBytes > cfg.RingSize {
		cfg.WakeupBytes = cfg.RingSize / 8
	}
	if err := spec.Variables["wakeup_bytes"].Set(uint64(cfg.WakeupBytes)); err != nil {
		return nil, fmt.Errorf("probe: set the wakeup watermark: %w", err)
	}
	if cfg.probeReads {
		if err := spec.Variables["probe_reads"].Set(uint32(1)); err != nil {
			return nil, fmt.Errorf("probe: %w", err)
		}
	}
	p := &Probe{cfg: cfg, log: cfg.Logger}
	if err := spec.LoadAndAssign(&p.objs, nil); err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("probe: load bpf programs: %+v", ve)
		}
		return nil, fmt.Errorf("probe: load bpf programs: %w", err)
	}
	if err := p.SetInterest(cfg.Interest); err != nil {
		p.Close()
		return nil, err
	}
	if err := p.attach(); err != nil {
		p.Close()
		return nil, err
	}
	p.rd, err = ringbuf.NewReader(p.objs.Events)
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("probe: open ring buffer reader: %w", err)
	}
	var bt unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &bt); err != nil {
		p.Close()
		return nil, fmt.Errorf("probe: read CLOCK_BOOTTIME: %w", err)
	}
	p.dec = newDecoder(time.Now().UnixNano() - bt.Nano())
	_ = ctx
	return p, nil
}

// SetInterest replaces the in-kernel filter: only syscalls and lifecycle
// events in s reach user space. Safe to call while Run is running.
func (p *Probe) SetInterest(s event.TypeSet) error {
	vals := make([]uint32, nrMax)
	specs := syscallSpecs()
	for nr, t := range syscallTypes() {
		if spec, ok := specs[t]; ok && s.Has(t) && int(nr) < idxOnly {
			vals[nr] = kernelSpec(t, spec)
		}
	}
	if s.Has(event.TypeExecve) || s.Has(event.TypeExecveat) {
		vals[idxExec] = 1
	}
	if s.Has(event.TypeClone) {
		vals[idxFork] = 1
	}
	if s.Has(event.TypeProcexit) {
		vals[idxExit] = 1
	}
	vals[idxExclude] = uint32(p.cfg.ExcludePID)
	vals[idxOnly] = uint32(p.cfg.OnlyPID)
	keys := make([]uint32, nrMax)
	for i := range keys {
		keys[i] = uint32(i)
	}
	if _, err := p.objs.Interest.BatchUpdate(keys, vals, nil); err != nil {
		for i := range keys {
			if err := p.objs.Interest.Put(keys[i], vals[i]); err != nil {
				return fmt.Errorf("probe: set interest for slot %d: %w", i, err)
			}
		}
	}
	return nil
}

// SetExcludePID changes Config.ExcludePID (0: exclude nothing) while the
// probe runs; the next hook run sees it.
func (p *Probe) SetExcludePID(pid int) error {
	if err := p.objs.Interest.Put(uint32(idxExclude), uint32(pid)); err != nil {
		return fmt.Errorf("probe: set the excluded pid: %w", err)
	}
	p.cfg.ExcludePID = pid
	return nil
}

// Run drains the ring buffer until ctx is done or the probe is closed,
// decoding each record into one reused Event and passing it to fn. fn must
// not keep the Event. Run must not be called concurrently with itself.
func (p *Probe) Run(ctx context.Context, fn func(*event.Event)) error {
	var rec ringbuf.Record
	var ev event.Event
	for ctx.Err() == nil {
		p.rd.SetDeadline(time.Now().Add(p.cfg.PollInterval))
		for n := 1; ; n++ {
			// ReadInto returns a waiting record without looking at the
			// deadline, so a stream the reader never catches up with would
			// keep it here: look at ctx every runBatch records.
			if n%runBatch == 0 && ctx.Err() != nil {
				return nil
			}
			err := p.rd.ReadInto(&rec)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			if errors.Is(err, ringbuf.ErrClosed) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("probe: read ring buffer: %w", err)
			}
			if err := p.dec.decode(rec.RawSample, &ev); err != nil {
				// Logged at 1, 2, 4, 8 ... so a systematic problem cannot flood the log.
				if n := p.decodeErrors.Add(1); n&(n-1) == 0 {
					p.log.Warn("probe: dropped undecodable record", "err", err, "total", n)
				}
				continue
			}
			fn(&ev)
		}
	}
	return nil
}

// runBatch is how many records Run reads between looks at its context.
const runBatch = 1 << 14

// attach attaches every program to its hook.
func (p *Probe) attach() error {
	for _, prog := range []*ebpf.Program{p.objs.OnSysExit, p.objs.OnExec, p.objs.OnFork, p.objs.OnExit} {
		l, err := link.AttachTracing(link.TracingOptions{Program: prog})
		if err != nil {
			return fmt.Errorf("probe: attach %s: %w", prog, err)
		}
		p.links = append(p.links, l)
	}
	return nil
}

// detach closes the hook links, so counters stop moving; the maps and the
// ring stay readable. Tests use it to read exact counters.
func (p *Probe) detach() error {
	var errs []error
	for _, l := range p.links {
		errs = append(errs, l.Close())
	}
	p.links = nil
	return errors.Join(errs...)
}

// drain passes every record still in the ring to fn and returns when the
// ring is empty. It must not run concurrently with Run.
func (p *Probe) drain(fn func(*event.Event)) error {
	var rec ringbuf.Record
	var ev event.Event
	p.rd.SetDeadline(time.Now())
	for {
		err := p.rd.ReadInto(&rec)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("probe: drain ring buffer: %w", err)
		}
		if err := p.dec.decode(rec.RawSample, &ev); err != nil {
			p.decodeErrors.Add(1)
			continue
		}
		fn(&ev)
	}
}

// Close detaches the programs and frees the maps. It is safe to call more
// than once and concurrently with Run, which then returns.
func (p *Probe) Close() error {
	p.closeOnce.Do(func() {
		var errs []error
		if p.rd != nil {
			errs = append(errs, p.rd.Close())
		}
		errs = append(errs, p.detach())
		errs = append(errs, p.objs.Close())
		p.closeErr = errors.Join(errs...)
	})
	return p.closeErr
}
