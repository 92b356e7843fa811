// Package emit carries the sensor's alerts from the event loop to their
// destinations without ever blocking the loop.
//
// Each output has its own bounded queue and goroutine: Emit puts a copy of
// the alert (with a fresh uuid) on every queue and returns at once; when a
// queue is full the alert is dropped for that output and counted. The output
// goroutine batches alerts by size and interval and hands each batch to its
// Writer, retrying with exponential backoff and jitter while the error is
// retryable (a router that is down, 5xx, 429 with Retry-After) for up to
// RetryFor, after which the batch is dropped and counted. An output with a
// Spool (the router) is lossless instead: alerts go to the on-disk spool
// and are sent from it in order, split by bytes under the destination's
// body limit, for as long as it takes (spooled.go). Drops of any kind
// raise a rate-limited synthetic alert, "Lookout internal: alert drops",
// modelled on Falco's syscall_event_drops alert, sent through the same
// outputs; losing one of those is counted apart and raises none.
package emit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/sensor/internal/spool"
)

// Writer delivers one batch of alerts to a destination, once; retries are
// the emitter's job. Write is called from one goroutine at a time.
type Writer interface {
	Write(ctx context.Context, alerts []api.Alert) error
	Close() error
}

// Output is one destination and its queueing policy.
type Output struct {
	// Name labels the output in stats, metrics and logs ("router").
	Name string
	// Writer delivers batches.
	Writer Writer
	// QueueSize bounds the queue; default 10000.
	QueueSize int
	// BatchSize is the most alerts per Write; default 100.
	BatchSize int
	// BatchInterval is how long a partial batch waits for more alerts; 0
	// writes whatever is queued at once.
	BatchInterval time.Duration
	// RetryFor is how long a failing batch is retried; 0 disables retries.
	RetryFor time.Duration
	// Backoff shapes the delay between retries; zero values select
	// 100ms initial and 10s maximum.
	Backoff Backoff
	// Spool, when set, makes delivery lossless: every alert is appended to
	// it (fsync'd) and sent from it, oldest first, by Sender, which must
	// be set too; Writer is then only closed. RetryFor does not apply:
	// alerts wait in the spool until the destination takes them, and only
	// a full spool drops (the oldest).
	Spool *spool.Spool
	// Sender posts encoded batches, for a spooled output.
	Sender Sender
}

// Backoff is exponential backoff with full jitter (router/api/backoff, the
// same as the router's): retry n waits a random duration in [Initial, d]
// with d = min(Max, Initial·2ⁿ), or the destination's Retry-After when
// that is longer.
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
}

// Options configures New.
type Options struct {
	Outputs []Output
	// Hostname goes into the synthetic drop alert.
	Hostname string
	// DropAlertInterval is the minimum time between two drop alerts;
	// default 30s.
	DropAlertInterval time.Duration
	// Logger receives delivery problems; nil means slog.Default().
	Logger *slog.Logger
}

// Drop reasons, as reported in Stats and metrics.
const (
	DropQueueFull        = "queue_full"        // the output's queue was full
	DropRetriesExhausted = "retries_exhausted" // retried for RetryFor without success
	DropRejected         = "rejected"          // the destination refused it (non-retryable)
	DropShutdown         = "shutdown"          // still queued when Close's deadline passed
	DropTooLarge         = "too_large"         // one alert larger than the destination's body limit
	DropSpoolFull        = "spool_full"        // the oldest spooled alerts, removed to make room
)

// DropRule is the rule name of the synthetic alert about dropped alerts.
const DropRule = "Lookout internal: alert drops"

// Emitter fans alerts out to its outputs. Emit may be called from any
// goroutine; it never blocks on a destination.
type Emitter struct {
	mu      sync.RWMutex // guards closed against Emit racing Close's channel closes
	closed  bool
	once    sync.Once
	outs    []*output
	log     *slog.Logger
	host    string
	every   time.Duration
	hard    context.Context // cancelled when Close gives up waiting
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	stopMon chan struct{}
	monDone chan struct{}
}

// New starts one goroutine per output and the drop monitor.
func New(opts Options) (*Emitter, error) {
	if len(opts.Outputs) == 0 {
		return nil, errors.New("emit: no outputs")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.DropAlertInterval <= 0 {
		opts.DropAlertInterval = 30 * time.Second
	}
	e := &Emitter{log: opts.Logger, host: opts.Hostname, every: opts.DropAlertInterval,
		stopMon: make(chan struct{}), monDone: make(chan struct{})}
	e.hard, e.cancel = context.WithCancel(context.Background())
	seen := map[string]bool{}
	for _, o := range opts.Outputs {
		if o.Name == "" || o.Writer == nil {
			return nil, fmt.Errorf("emit: output %q needs a name and a writer", o.Name)
		}
		if (o.Spool == nil) != (o.Sender == nil) {
			return nil, fmt.Errorf("emit: output %q needs both a spool and a sender, or neither", o.Name)
		}
		if seen[o.Name] {
			return nil, fmt.Errorf("emit: output %q configured twice", o.Name)
		}
		seen[o.Name] = true
		e.outs = append(e.outs, newOutput(o, e.log))
	}
	for _, o := range e.outs {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			o.run(e.hard)
		}()
	}
	go e.monitor()
	return e, nil
}

// Emit queues a copy of a for every output, giving it a uuid if it has
// none. It never blocks: an output whose queue is full drops the alert and
// counts it. After Close, alerts are dropped and counted as shutdown drops.
func (e *Emitter) Emit(a *api.Alert) {
	c := *a
	if c.UUID == "" {
		c.UUID = uuid.NewString()
	}
	c.OutputFields = maps.Clone(a.OutputFields)
	c.Tags = append([]string(nil), a.Tags...)
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, o := range e.outs {
		if e.closed {
			o.drop(dropShutdown, []api.Alert{c})
			continue
		}
		select {
		case o.ch <- c:
		default:
			o.drop(dropQueueFull, []api.Alert{c})
		}
	}
}

// Close stops accepting alerts and delivers what is queued, retrying as
// configured, until ctx is done; whatever is still undelivered then is
// dropped and counted. It closes the writers. Close is idempotent.
func (e *Emitter) Close(ctx context.Context) error {
	first := false
	e.once.Do(func() { first = true })
	if !first {
		return nil
	}
	close(e.stopMon)
	<-e.monDone
	e.mu.Lock()
	e.closed = true
	for _, o := range e.outs {
		close(o.ch)
	}
	e.mu.Unlock()
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		e.cancel()
		<-done
	}
	e.cancel()
	var errs []error
	for _, o := range e.outs {
		if err := o.w.Close(); err != nil {
			errs = append(errs, fmt.Errorf("emit: close output %s: %w", o.name, err))
		}
	}
	return errors.Join(errs...)
}

// monitor raises the synthetic drop alert at most once per interval when
// any output dropped alerts since the last one.
func (e *Emitter) monitor() {
	defer close(e.monDone)
	tick := min(e.every, time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	reported := e.dropCounts()
	var last time.Time
	for {
		select {
		case <-e.stopMon:
			return
		case now := <-t.C:
			if !last.IsZero() && now.Sub(last) < e.every {
				continue
			}
			cur := e.dropCounts()
			if a, ok := dropAlert(e.host, now, e.every, reported, cur); ok {
				reported = cur
				last = now
				e.log.Warn("emit: alerts dropped", "alert", a.Output)
				e.Emit(&a)
			}
		}
	}
}

// dropCounts returns drops per output and reason.
func (e *Emitter) dropCounts() map[string][numDrop]uint64 {
	out := make(map[string][numDrop]uint64, len(e.outs))
	for _, o := range e.outs {
		var c [numDrop]uint64
		for i := range c {
			c[i] = o.drops[i].Load()
		}
		out[o.name] = c
	}
	return out
}

// Stats returns one entry per output, in configuration order.
func (e *Emitter) Stats() []OutputStats {
	out := make([]OutputStats, 0, len(e.outs))
	for _, o := range e.outs {
		out = append(out, o.stats())
	}
	return out
}
