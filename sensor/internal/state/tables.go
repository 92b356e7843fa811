package state

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/lookout-sec/lookout/sensor/internal/event"
	"github.com/lookout-sec/lookout/sensor/internal/state/container"
)

// Options configures New. Zero values select the defaults noted.
type Options struct {
	ProcRoot         string        // procfs mount; default "/proc"
	HostRoot         string        // host root for etc/passwd and etc/group; default "/"
	Logger           *slog.Logger  // default slog.Default()
	MaxProcesses     int           // threads kept in the table; default 131072
	MaxFDsPerProcess int           // fds kept per fd table; default 4096
	MaxEnvBytes      int           // environment bytes kept per process; default 8192
	ExitGrace        time.Duration // how long an exited thread stays (event time); default 5s
	// MaxExited bounds the exited threads kept for their grace period;
	// past it the oldest go early (counted in Stats.EvictedEarly), so a
	// fork storm cannot grow the tables. Default 1024.
	MaxExited int

	// Containers fetches container metadata (name, image, privileged, pod)
	// from the runtimes; nil leaves containers with their cgroup id only.
	// The caller runs its Run method; Apply applies what it delivers.
	Containers *container.Resolver
}

// Stats counts what the tables hold and what they had to give up.
type Stats struct {
	Threads       int    // entries in the process table, exited ones included
	Exited        int    // exited entries waiting for eviction
	Evicted       uint64 // entries removed because the table was full
	Expired       uint64 // exited entries removed after the grace period
	EvictedEarly  uint64 // exited entries removed before their grace period (more than MaxExited waited)
	Unknown       uint64 // events for a thread the tables did not know
	FDsDropped    uint64 // fds not recorded because a table was full
	ScanProcesses int    // threads found by the last Scan

	Containers      int    // containers known
	MetadataFetched uint64 // container metadata applied
	MetadataFailed  uint64 // failed metadata fetches (retried after 30s of event time unless not found)
}

// thread is one process-table entry. Threads of one process share fds and fs
// (as CLONE_FILES and CLONE_FS do); a forked child gets copies.
type thread struct {
	p        *event.Process
	fds      *fdTable
	fs       *fsInfo
	children map[int64]struct{} // tids whose Parent is this thread
	members  map[int64]struct{} // on a leader: the other threads of its process
	exited   bool
	zombie   bool // a leader whose thread exited while other threads live on
}

type fdTable struct {
	fds map[int64]*event.FD
}

type fsInfo struct {
	cwd string // with trailing slash
}

// Tables is the sensor's process, fd, user and container state. See the
// package documentation for its concurrency rules.
type Tables struct {
	opts    Options
	log     *slog.Logger
	threads map[int64]*thread
	exited  []int64 // exit order, for grace-period expiry and eviction (may hold stale tids)
	nExited int     // exited entries in threads
	users   *userDB
	scratch event.FD                         // fd view for events that create no table entry (failed opens)
	boot    int64                            // boot time in ns, from ProcRoot/stat; -1 when unknown
	pfs     *procFS                          // ProcRoot read with prometheus/procfs, made on first use
	netns   map[string]map[uint64]socketInfo // socket inode maps per network namespace, per Scan
	stats   Stats

	resolver   *container.Resolver
	containers map[string]*ctrEntry    // by full id
	retry      map[string]container.ID // containers to ask again (queue was full, or the fetch failed)
	nextRetry  int64                   // event time of the next retry sweep

	// Hot-path reuse (see bench_test.go): closed fds are recycled, resolved
	// names are built in pathBuf and interned in names.
	freeFDs []*event.FD
	pathBuf []byte
	names   map[string]string
}

// New returns empty tables; call Scan to seed them from /proc.
func New(opts Options) (*Tables, error) {
	if opts.ProcRoot == "" {
		opts.ProcRoot = "/proc"
	}
	if opts.HostRoot == "" {
		opts.HostRoot = "/"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxProcesses <= 0 {
		opts.MaxProcesses = 131072
	}
	if opts.MaxFDsPerProcess <= 0 {
		opts.MaxFDsPerProcess = 4096
	}
	if opts.MaxEnvBytes <= 0 {
		opts.MaxEnvBytes = 8192
	}
	if opts.ExitGrace <= 0 {
		opts.ExitGrace = 5 * time.Second
	}
	if opts.MaxExited <= 0 {
		opts.MaxExited = 1024
	}
	root := opts.HostRoot
	if root == "/" {
		root = ""
	}
	users, err := loadUserDB(root)
	if err != nil {
		return nil, fmt.Errorf("state: users and groups under %q: %w", opts.HostRoot, err)
	}
	return &Tables{opts: opts, log: opts.Logger, threads: map[int64]*thread{}, users: users,
		resolver: opts.Containers, containers: map[string]*ctrEntry{}, retry: map[string]container.ID{}}, nil
}

// Process returns the table entry for tid, or nil.
func (t *Tables) Process(tid int64) *event.Process {
	if th := t.threads[tid]; th != nil {
		return th.p
	}
	return nil
}

// FD returns the fd num of thread tid, or nil.
func (t *Tables) FD(tid, num int64) *event.FD {
	if th := t.threads[tid]; th != nil {
		return th.fds.fds[num]
	}
	return nil
}

// Stats returns current counters.
func (t *Tables) Stats() Stats {
	s := t.stats
	s.Threads = len(t.threads)
	s.Exited = t.nExited
	s.Containers = len(t.containers)
	return s
}

// Scan seeds the tables from ProcRoot. Entries already present are replaced.
func (t *Tables) Scan(ctx context.Context) error {
	n, err := t.scan(ctx)
	t.stats.ScanProcesses = n
	return err
}

// Apply updates the tables from ev and sets ev.Proc and ev.FD.
func (t *Tables) Apply(ev *event.Event) {
	t.expire(ev.TS)
	t.drainMetadata(ev.TS)
	switch ev.Type {
	case event.TypeClone, event.TypeClone3, event.TypeFork, event.TypeVfork:
		t.applyClone(ev)
		return
	case event.TypeProcexit:
		t.applyExit(ev)
		return
	}
	th := t.lookup(ev.TID, ev.PID)
	ev.Proc = th.p
	switch ev.Type {
	case event.TypeExecve, event.TypeExecveat:
		t.applyExec(th, ev)
	case event.TypeSetuid, event.TypeSetresuid:
		if ev.Res == 0 {
			name := "uid"
			if ev.Type == event.TypeSetresuid {
				name = "euid"
			}
			if id, ok := argID(ev, name); ok {
				th.p.UID = id
				th.p.User = t.usersFor(th.p).userAt(th.p.UID, ev.TS)
			}
		}
	case event.TypeSetgid, event.TypeSetresgid:
		if ev.Res == 0 {
			name := "gid"
			if ev.Type == event.TypeSetresgid {
				name = "egid"
			}
			if id, ok := argID(ev, name); ok {
				th.p.GID = id
				th.p.Group = t.usersFor(th.p).groupAt(th.p.GID, ev.TS)
			}
		}
	case event.TypeChdir:
		if a := ev.Arg("path"); a != nil && ev.Res == 0 {
			th.fs.cwd = cwdString(resolvePath(th.fs.cwd, a.Str))
		}
	case event.TypeFchdir:
		if ev.Res == 0 {
			if f := th.fds.fds[argInt(ev, "fd", -1)]; f != nil {
				th.fs.cwd = cwdString(f.Name)
				ev.FD = f
			}
		}
	default:
		t.applyFD(th, ev)
	}
	th.p.Cwd = th.fs.cwd
}

// lookup returns the thread for tid, creating it from /proc (or as a bare
// placeholder) when unknown.
func (t *Tables) lookup(tid, pid int64) *thread {
	if th := t.threads[tid]; th != nil {
		return th
	}
	t.stats.Unknown++
	th := t.readThread(pid, tid)
	if th == nil {
		if pid == 0 {
			pid = tid
		}
		th = &thread{p: &event.Process{TID: tid, PID: pid, LoginUID: -1}, fds: newFDTable(), fs: &fsInfo{}}
		if leader := t.threads[pid]; leader != nil && pid != tid {
			th.fds, th.fs = leader.fds, leader.fs
			*th.p = *leader.p
			th.p.TID = tid
		}
	}
	t.insert(th)
	return th
}

func newFDTable() *fdTable { return &fdTable{fds: map[int64]*event.FD{}} }

// insert adds th, evicting to stay within MaxProcesses, and links it to its
// parent.
func (t *Tables) insert(th *thread) {
	if old := t.threads[th.p.TID]; old != nil {
		t.remove(th.p.TID)
	}
	for len(t.threads) >= t.opts.MaxProcesses {
		if !t.evictOne() {
			break
		}
	}
	t.threads[th.p.TID] = th
	t.join(th)
	t.link(th)
}

// join records a non-leader thread in its leader's member set.
func (t *Tables) join(th *thread) {
	if th.p.TID == th.p.PID {
		return
	}
	if leader := t.threads[th.p.PID]; leader != nil {
		if leader.members == nil {
			leader.members = map[int64]struct{}{}
		}
		leader.members[th.p.TID] = struct{}{}
	}
}

// link points th's Parent at the leader of its parent process.
func (t *Tables) link(th *thread) {
	if th.p.PPID <= 0 {
		return
	}
	parent := t.threads[th.p.PPID]
	if parent == nil || descends(parent.p, th.p) {
		return // unknown, or a loop (only possible with inconsistent input)
	}
	th.p.Parent = parent.p
	if parent.children == nil {
		parent.children = map[int64]struct{}{}
	}
	parent.children[th.p.TID] = struct{}{}
}

// descends reports whether p is anc or one of its descendants, walking p's
// Parent chain (bounded).
func descends(p, anc *event.Process) bool {
	for a, i := p, 0; a != nil && i < 1024; a, i = a.Parent, i+1 {
		if a == anc {
			return true
		}
	}
	return false
}

// evictOne removes the oldest exited entry, or else an arbitrary live one.
func (t *Tables) evictOne() bool {
	if t.evictOldestExited() {
		t.stats.Evicted++
		return true
	}
	for tid := range t.threads {
		t.remove(tid)
		t.stats.Evicted++
		return true
	}
	return false
}

// evictOldestExited removes the exited entry that exited first, if any.
func (t *Tables) evictOldestExited() bool {
	for len(t.exited) > 0 {
		tid := t.exited[0]
		t.exited = t.exited[1:]
		if th := t.threads[tid]; th != nil && th.exited {
			t.remove(tid)
			return true
		}
	}
	return false
}

// expire removes exited entries whose grace period has passed at event time
// now.
func (t *Tables) expire(now int64) {
	grace := t.opts.ExitGrace.Nanoseconds()
	for len(t.exited) > 0 {
		tid := t.exited[0]
		th := t.threads[tid]
		if th != nil && th.exited && th.p.ExitTS+grace > now {
			return
		}
		t.exited = t.exited[1:]
		if th != nil && th.exited {
			t.remove(tid)
			t.stats.Expired++
		}
	}
}

// remove deletes tid, unlinking it from its parent. Children keep their
// Parent pointer (the value stays valid memory) until reparented.
func (t *Tables) remove(tid int64) {
	th := t.threads[tid]
	if th == nil {
		return
	}
	delete(t.threads, tid)
	if th.exited {
		t.nExited--
	}
	if parent := t.threads[th.p.PPID]; parent != nil && parent.children != nil {
		delete(parent.children, tid)
	}
	if leader := t.threads[th.p.PID]; leader != nil && leader.members != nil {
		delete(leader.members, tid)
	}
}

func argInt(ev *event.Event, name string, def int64) int64 {
	if a := ev.Arg(name); a != nil {
		if a.Kind == event.ArgUint || a.Kind == event.ArgFlags {
			return int64(a.Uint)
		}
		return a.Int
	}
	return def
}

// argID reads a uid/gid argument of the set*id calls. The probe decodes
// them as unsigned 32-bit values, tests and older decoders as signed: both
// are accepted. -1 (0xffffffff) means "leave unchanged" and yields false.
func argID(ev *event.Event, name string) (uint32, bool) {
	a := ev.Arg(name)
	if a == nil {
		return 0, false
	}
	v := a.Uint
	if a.Kind == event.ArgInt {
		if a.Int < 0 {
			return 0, false
		}
		v = uint64(a.Int)
	}
	if v >= 0xffffffff {
		return 0, false
	}
	return uint32(v), true
}

func argUint(ev *event.Event, name string) (uint64, bool) {
	if a := ev.Arg(name); a != nil {
		if a.Kind == event.ArgInt || a.Kind == event.ArgFD || a.Kind == event.ArgErrno {
			return uint64(a.Int), true
		}
		return a.Uint, true
	}
	return 0, false
}
