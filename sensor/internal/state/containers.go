package state

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"time"

	"github.com/lookout-sec/lookout/sensor/internal/event"
	"github.com/lookout-sec/lookout/sensor/internal/state/container"
)

// Container table bounds and retry policy.
const (
	maxContainers      = 4096
	metadataRetryAfter = 30 * time.Second // event time before a failed fetch is asked again
	// The first failures (also "not found": a container in its first
	// moments may not be visible to its runtime's API yet) are retried
	// quickly: after 50 ms, 100 ms, 200 ms, 400 ms, 800 ms of event time.
	metadataQuickRetry   = 50 * time.Millisecond
	metadataQuickRetries = 5
	metadataNeverRetried = -1
)

// ctrEntry is one container the tables have seen. All processes of the
// container share c, so metadata filled in later reaches all of them.
type ctrEntry struct {
	c        *event.Container
	db       *userDB // the container's own passwd/group; nil until loaded
	pending  bool    // a fetch is queued or running
	retryAt  int64   // event time from which a failed fetch may be retried; -1 never
	dbLoaded bool
	seen     time.Time // wall time the container was first seen, for the metadata delay
	failures int       // failed fetches so far
}

// container returns the shared Container for id, creating it and asking
// the runtime for its metadata (asynchronously) on first sight.
func (t *Tables) container(id container.ID, now int64) *event.Container {
	e := t.containers[id.FullID]
	if e == nil {
		if len(t.containers) >= maxContainers {
			// Forget them all: live processes keep their pointers, and a
			// container seen again is created and fetched anew.
			t.containers = make(map[string]*ctrEntry)
		}
		e = &ctrEntry{c: &event.Container{ID: id.Short(), FullID: id.FullID, Runtime: id.Runtime}, seen: time.Now()}
		t.containers[id.FullID] = e
	}
	t.requestMetadata(e, id, now)
	return e.c
}

// requestMetadata queues a fetch unless one is pending, done, or not due.
func (t *Tables) requestMetadata(e *ctrEntry, id container.ID, now int64) {
	if t.resolver == nil || e.c.Metadata || e.pending || e.retryAt == metadataNeverRetried || now < e.retryAt {
		return
	}
	if t.resolver.Request(id) {
		e.pending = true
		delete(t.retry, id.FullID)
	} else {
		// Queue full, or no socket for this runtime yet (the resolver
		// looks for it again): ask again from drainMetadata.
		t.retry[id.FullID] = id
	}
}

// retrySweep is how often (event time) drainMetadata re-asks for
// containers whose request was refused or whose fetch failed.
const retrySweep = int64(time.Second)

// retryDue re-requests metadata for the containers waiting in t.retry whose
// retry time has come, so a container that never execs again is still
// resolved.
func (t *Tables) retryDue(now int64) {
	if len(t.retry) == 0 || now < t.nextRetry {
		return
	}
	t.nextRetry = now + retrySweep
	for full, id := range t.retry {
		e := t.containers[full]
		if e == nil || e.c.Metadata || e.retryAt == metadataNeverRetried {
			delete(t.retry, full)
			continue
		}
		t.requestMetadata(e, id, now)
	}
}

// drainMetadata applies the resolver's finished fetches without blocking.
func (t *Tables) drainMetadata(now int64) {
	if t.resolver == nil {
		return
	}
	t.retryDue(now)
	results := t.resolver.Results()
	for {
		select {
		case r := <-results:
			t.applyMetadata(r, now)
		default:
			return
		}
	}
}

func (t *Tables) applyMetadata(r container.Result, now int64) {
	e := t.containers[r.ID.FullID]
	if e == nil {
		return
	}
	e.pending = false
	if r.Err != nil {
		t.stats.MetadataFailed++
		e.failures++
		t.retry[r.ID.FullID] = r.ID
		switch {
		case e.failures <= metadataQuickRetries:
			// A container seen in its first moments may not be
			// registered yet, or the runtime busy starting it: quick
			// retries, during which its events keep waiting (see
			// MetadataPending).
			e.retryAt = now + metadataQuickRetry.Nanoseconds()<<(e.failures-1)
			t.nextRetry = min(t.nextRetry, e.retryAt)
		case errors.Is(r.Err, container.ErrNotFound):
			e.retryAt = metadataNeverRetried
			delete(t.retry, r.ID.FullID)
		default:
			e.retryAt = now + metadataRetryAfter.Nanoseconds()
		}
		t.log.Debug("container metadata: fetch failed", "container", r.ID.Short(), "failures", e.failures, "err", r.Err)
		return
	}
	t.stats.MetadataFetched++
	c, m := e.c, r.Meta
	t.log.Info("container metadata", "container", c.ID, "runtime", c.Runtime, "name", m.Name, "image", m.Image,
		"delay", time.Since(e.seen).Round(time.Microsecond))
	c.Name = m.Name
	c.Image = m.Image
	c.ImageRepository = m.ImageRepository
	c.ImageTag = m.ImageTag
	c.ImageDigest = m.ImageDigest
	c.Privileged = m.Privileged
	c.StartTS = m.StartedTS
	if c.StartTS == 0 {
		c.StartTS = m.CreatedTS
	}
	c.Labels = m.Labels
	c.PodName = m.PodName
	c.PodUID = m.PodUID
	c.Namespace = m.Namespace
	c.PodLabels = m.PodLabels
	c.SandboxID = m.SandboxID
	c.ImageID = m.ImageID
	c.Mounts = m.Mounts
	c.HostPID, c.HostNetwork, c.HostIPC = m.HostPID, m.HostNetwork, m.HostIPC
	c.Healthcheck = m.Healthcheck
	c.IP = m.IP
	labels := m.PodLabels
	if labels == nil {
		labels = m.Labels // Docker-style runtimes: the container carries the pod's io.kubernetes.* labels only
	}
	c.WorkloadName, c.WorkloadKind = container.Workload(m.PodName, labels)
	c.Metadata = true
}

// MetadataPending reports whether c's runtime metadata is being fetched
// (a request is queued or running, or a quick retry after one of the
// first failures is due): its fields may change soon.
func (t *Tables) MetadataPending(c *event.Container) bool {
	if c == nil || c.Metadata {
		return false
	}
	e := t.containers[c.FullID]
	return e != nil && e.c == c && (e.pending || e.failures > 0 && e.failures <= metadataQuickRetries)
}

// refreshContainer sets p's container after an exec: a process that
// entered a container (runc, docker exec, a pod's first process) changed
// cgroup after it was forked on the host side. The exec event's "cgroups"
// parameter (Falco's "subsys=path" list) is used when the probe sends it;
// otherwise /proc/PID/cgroup is read, and the old value stays when the
// process is already gone.
func (t *Tables) refreshContainer(ev *event.Event, p *event.Process, pid, now int64) {
	if a := ev.Arg("cgroups"); a != nil && (len(a.Bytes) > 0 || a.Str != "") {
		id, ok := parseCgroupsArg(a)
		p.Container = nil
		if ok {
			p.Container = t.container(id, now)
		}
		return
	}
	// Hand-written rather than prometheus/procfs's Proc.Cgroups: this runs
	// per exec, and BenchmarkCgroupRead measured the read + scan at ~35 µs,
	// 28 allocs against procfs's ~115 µs, 119 allocs (load average 5-6).
	name := t.opts.ProcRoot + "/" + strconv.FormatInt(pid, 10) + "/cgroup"
	data, err := os.ReadFile(name)
	if err != nil {
		return
	}
	if id, ok := container.ParseCgroupFile(data); ok {
		p.Container = t.container(id, now) // also retries a failed metadata fetch when due
		return
	}
	p.Container = nil
}

// parseCgroupsArg reads the execve "cgroups" parameter: NUL-separated
// "subsys=path" entries (cgroup v2 has one, "=path" or "unified=path").
func parseCgroupsArg(a *event.Arg) (container.ID, bool) {
	data := a.Bytes
	if len(data) == 0 {
		data = []byte(a.Str)
	}
	for len(data) > 0 {
		entry := data
		if i := bytes.IndexByte(data, 0); i >= 0 {
			entry, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if i := bytes.IndexByte(entry, '='); i >= 0 {
			entry = entry[i+1:]
		}
		if id, ok := container.ParsePath(string(entry)); ok {
			return id, true
		}
	}
	return container.ID{}, false
}

// usersFor returns the passwd/group database that names p's ids: the
// host's, or the container's own (read once per container from
// ProcRoot/PID/root/etc, as Falco resolves container users).
func (t *Tables) usersFor(p *event.Process) *userDB {
	if p.Container == nil {
		return t.users
	}
	e := t.containers[p.Container.FullID]
	if e == nil {
		return t.users
	}
	if !e.dbLoaded {
		root := t.opts.ProcRoot + "/" + strconv.FormatInt(p.PID, 10) + "/root"
		if _, err := os.Stat(root + "/etc"); err != nil {
			return nil // the process is gone or its root unreadable; try again next time
		}
		db, err := loadUserDB(root)
		if err != nil {
			return nil // the process is gone or its root unreadable; try again next time
		}
		e.db, e.dbLoaded = db, true
	}
	return e.db
}

// setUsers resolves p's user, group and login user names at event time
// now (a miss may re-read changed passwd/group files).
func (t *Tables) setUsers(p *event.Process, now int64) {
	db := t.usersFor(p)
	p.User = db.userAt(p.UID, now)
	p.Group = db.groupAt(p.GID, now)
	p.LoginUser = nil
	if p.LoginUID >= 0 {
		p.LoginUser = db.userAt(uint32(p.LoginUID), now)
	}
}
