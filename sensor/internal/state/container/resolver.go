package container

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ResolverOptions configures NewResolver. Zero values select the defaults.
type ResolverOptions struct {
	// DockerSocket is the Docker Engine API socket; default
	// DefaultDockerSocket. It serves docker containers.
	DockerSocket string
	// PodmanSocket is Podman's Docker-compatible API socket; default
	// "/run/podman/podman.sock". It serves podman containers.
	PodmanSocket string
	// ContainerdSocket is containerd's CRI endpoint; default
	// DefaultContainerdSocket. It serves containerd containers.
	ContainerdSocket string
	// CRIOSocket is cri-o's CRI endpoint; default DefaultCRIOSocket.
	CRIOSocket string
	// Fetchers, when set, replaces the socket discovery: runtime name
	// (RuntimeDocker, …) to fetcher.
	Fetchers map[string]Fetcher
	Workers  int           // concurrent fetches; default 2
	Queue    int           // pending requests kept; default 1024
	Timeout  time.Duration // per fetch; default 5s
	// Rediscover is how often missing runtime sockets are looked for
	// again; default 10s.
	Rediscover time.Duration
	Logger     *slog.Logger // default slog.Default()
}

// Result is one finished fetch.
type Result struct {
	ID   ID
	Meta Metadata
	Err  error // ErrNotFound (wrapped) when the runtime does not know the id
}

// ResolverStats counts the resolver's work.
type ResolverStats struct {
	Requested uint64 // requests queued
	Dropped   uint64 // requests refused because the queue was full
	Fetched   uint64 // successful fetches
	Failed    uint64 // failed fetches (not found included)
}

// Resolver fetches container metadata from the runtimes in the background
// so that the event loop never waits on a socket: Request queues an id
// without blocking, Run's workers fetch, and Results delivers the answers
// for the event loop to apply. It keeps no cache; the caller decides what
// to ask for (state asks once per container and retries failures later).
type Resolver struct {
	fetchers map[string]Fetcher
	reqs     chan ID
	results  chan Result
	opts     ResolverOptions
	log      *slog.Logger
	sockets  []runtimeSocket // looked for again while missing
	mu       sync.RWMutex    // guards fetchers and closers
	closers  []func()

	requested, dropped, fetched, failed atomic.Uint64
}

// NewResolver returns a resolver for the runtimes whose sockets exist; Run
// looks for the missing ones again every Rediscover. While none exists,
// Enabled reports false and Request does nothing, so a host without a
// container runtime costs nothing.
func NewResolver(opts ResolverOptions) *Resolver {
	if opts.DockerSocket == "" {
		opts.DockerSocket = DefaultDockerSocket
	}
	if opts.PodmanSocket == "" {
		opts.PodmanSocket = "/run/podman/podman.sock"
	}
	if opts.ContainerdSocket == "" {
		opts.ContainerdSocket = DefaultContainerdSocket
	}
	if opts.CRIOSocket == "" {
		opts.CRIOSocket = DefaultCRIOSocket
	}
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	if opts.Queue <= 0 {
		opts.Queue = 1024
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Rediscover <= 0 {
		opts.Rediscover = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	r := &Resolver{opts: opts, log: opts.Logger, fetchers: map[string]Fetcher{}}
	if opts.Fetchers != nil {
		for k, f := range opts.Fetchers {
			r.fetchers[k] = f
		}
	} else {
		r.sockets = []runtimeSocket{
			{RuntimeDocker, opts.DockerSocket, false}, {RuntimePodman, opts.PodmanSocket, false},
			{RuntimeContainerd, opts.ContainerdSocket, true}, {RuntimeCRIO, opts.CRIOSocket, true},
		}
		// One line for all the sockets that are missing (off a container
		// host that is every one of them, on every start).
		var missing []string
		for _, s := range r.sockets {
			if !r.discover(s) {
				missing = append(missing, s.runtime+"="+s.socket)
			}
		}
		if len(missing) > 0 {
			r.log.Info("container metadata: no runtime socket yet; looking again every "+opts.Rediscover.String(),
				"missing", strings.Join(missing, " "))
		}
	}
	r.reqs = make(chan ID, opts.Queue)
	r.results = make(chan Result, opts.Queue)
	return r
}

// runtimeSocket is one runtime API endpoint the resolver looks for.
type runtimeSocket struct {
	runtime, socket string
	cri             bool
}

// discover adds a fetcher for s when it has none and its socket exists.
func (r *Resolver) discover(s runtimeSocket) bool {
	r.mu.RLock()
	_, have := r.fetchers[s.runtime]
	r.mu.RUnlock()
	if have {
		return true
	}
	if fi, err := os.Stat(s.socket); err != nil || fi.Mode()&os.ModeSocket == 0 {
		return false
	}
	var f Fetcher
	var closer func()
	if s.cri {
		c := NewCRI(s.socket)
		f, closer = c, c.Close
	} else {
		d := NewDocker(s.socket)
		f, closer = d, d.Close
	}
	r.mu.Lock()
	r.fetchers[s.runtime] = f
	r.closers = append(r.closers, closer)
	r.mu.Unlock()
	return true
}

// rediscover looks, every Rediscover, for the sockets not found so far
// (a runtime started, restarted or socket-activated after the sensor).
func (r *Resolver) rediscover(ctx context.Context) {
	if len(r.sockets) == 0 {
		return
	}
	tick := time.NewTicker(r.opts.Rediscover)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, s := range r.sockets {
			if r.Serves(s.runtime) {
				continue
			}
			if r.discover(s) {
				r.log.Info("container metadata: runtime socket appeared", "runtime", s.runtime, "socket", s.socket)
			}
		}
	}
}

// Enabled reports whether any runtime can be asked.
func (r *Resolver) Enabled() bool {
	if r == nil {
		return false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.fetchers) > 0
}

// Serves reports whether a fetcher exists for the runtime.
func (r *Resolver) Serves(runtime string) bool {
	if r == nil {
		return false
	}
	r.mu.RLock()
	_, ok := r.fetchers[runtime]
	r.mu.RUnlock()
	return ok
}

// Request queues a fetch without blocking. It returns false when no
// runtime serves id or the queue is full (counted in Dropped).
func (r *Resolver) Request(id ID) bool {
	if !r.Serves(id.Runtime) {
		return false
	}
	select {
	case r.reqs <- id:
		r.requested.Add(1)
		return true
	default:
		r.dropped.Add(1)
		return false
	}
}

// Results delivers finished fetches. The event loop drains it without
// blocking.
func (r *Resolver) Results() <-chan Result { return r.results }

// Run fetches queued requests until ctx is done, then releases the
// runtime connections.
func (r *Resolver) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for range r.opts.Workers {
		wg.Go(func() { r.work(ctx) })
	}
	wg.Go(func() { r.rediscover(ctx) })
	wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.closers {
		c()
	}
	return nil
}

func (r *Resolver) work(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case id := <-r.reqs:
			res := r.fetch(ctx, id)
			select {
			case r.results <- res:
			case <-ctx.Done():
				return
			}
		}
	}
}

func (r *Resolver) fetch(ctx context.Context, id ID) Result {
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	r.mu.RLock()
	f := r.fetchers[id.Runtime]
	r.mu.RUnlock()
	m, err := f.Fetch(ctx, id)
	if err != nil {
		r.failed.Add(1)
		if !errors.Is(err, ErrNotFound) {
			r.log.Warn("container metadata: fetch failed", "container", id.Short(), "runtime", id.Runtime, "err", err)
		}
		return Result{ID: id, Err: fmt.Errorf("container %s: %w", id.Short(), err)}
	}
	r.fetched.Add(1)
	return Result{ID: id, Meta: m}
}

// Stats returns the counters.
func (r *Resolver) Stats() ResolverStats {
	if r == nil {
		return ResolverStats{}
	}
	return ResolverStats{Requested: r.requested.Load(), Dropped: r.dropped.Load(),
		Fetched: r.fetched.Load(), Failed: r.failed.Load()}
}
