package state

import (
	"bytes"
	"path"
	"strings"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// Linux clone flags, as the probe reports them in the "flags" argument.
const (
	cloneFS     = 0x00000200
	cloneFiles  = 0x00000400
	cloneThread = 0x00010000
)

// Exec flags (Falco's PPM_EXE_*) in the execve "flags" argument.
const (
	exeWritable   = 1 << 0
	exeUpperLayer = 1 << 1
	exeFromMemfd  = 1 << 2
	exeLowerLayer = 1 << 3
)

// oCloexec is Linux O_CLOEXEC; fds opened with it close at exec.
const oCloexec = 0o2000000

// applyClone creates the child of a fork/clone. The probe reports it from
// the child's side (ev.TID is the child, Res 0, "ptid" the parent thread);
// a parent-side event (Res > 0 is the child's tid) is accepted too.
func (t *Tables) applyClone(ev *event.Event) {
	childTID, childPID := ev.TID, ev.PID
	parentTID := argInt(ev, "ptid", 0)
	if ev.Res > 0 {
		if t.threads[ev.Res] != nil {
			ev.Proc = t.threads[ev.Res].p
			return // already created from the child's side
		}
		parentTID, childTID = ev.TID, ev.Res
		childPID = argInt(ev, "pid", childTID)
		if childPID == ev.PID && childPID == ev.TID {
			childPID = childTID
		}
	} else if ev.Res < 0 {
		ev.Proc = t.lookup(ev.TID, ev.PID).p
		return
	}
	flags, _ := argUint(ev, "flags")
	isThread := flags&cloneThread != 0 || (childPID != 0 && childPID != childTID)
	var parent *thread
	if parentTID > 0 {
		parent = t.lookup(parentTID, 0)
	} else if isThread {
		parent = t.threads[childPID]
	}
	p := &event.Process{TID: childTID, PID: childPID, LoginUID: -1, StartTS: ev.TS}
	child := &thread{p: p}
	if parent != nil {
		*p = *parent.p
		p.TID, p.StartTS, p.ExitTS, p.Parent = childTID, ev.TS, 0, nil
		child.fds, child.fs = parent.fds, parent.fs
	}
	if isThread {
		if childPID == 0 && parent != nil {
			childPID = parent.p.PID
		}
		p.PID = childPID
		if leader := t.threads[childPID]; leader != nil {
			p.PPID = leader.p.PPID
			child.fds, child.fs = leader.fds, leader.fs
		}
	} else {
		p.PID = childPID
		if parent != nil {
			p.PPID = parent.p.PID
			if flags&cloneFiles == 0 {
				child.fds = parent.fds.clone()
			}
			if flags&cloneFS == 0 {
				child.fs = &fsInfo{cwd: parent.fs.cwd}
			}
		} else {
			p.PPID = parentTID
		}
	}
	if child.fds == nil {
		child.fds = newFDTable()
	}
	if child.fs == nil {
		child.fs = &fsInfo{}
	}
	if a := ev.Arg("comm"); a != nil && a.Str != "" {
		p.Name = a.Str
	}
	if a := ev.Arg("start_ts"); a != nil && a.Int > 0 {
		p.StartTS = a.Int // the kernel's start time, as proc.start (ev.TS is the fork's exit)
	}
	if a := ev.Arg("vtid"); a != nil {
		p.VTID = a.Int
	}
	if a := ev.Arg("vpid"); a != nil {
		p.VPID = a.Int
	}
	t.insert(child)
	p.Cwd = child.fs.cwd
	ev.Proc = p
}

func (f *fdTable) clone() *fdTable {
	c := &fdTable{fds: make(map[int64]*event.FD, len(f.fds))}
	for n, fd := range f.fds {
		cp := *fd
		c.fds[n] = &cp
	}
	return c
}

// applyExec installs the new image from a successful execve/execveat exit.
func (t *Tables) applyExec(th *thread, ev *event.Event) {
	if ev.Res != 0 {
		return
	}
	t.execReset(th)
	p := th.p
	if a := ev.Arg("exe"); a != nil {
		p.Exe = a.Str
	}
	if a := ev.Arg("args"); a != nil {
		p.Args = splitNUL(a.Bytes, a.Str)
	}
	if a := ev.Arg("comm"); a != nil && a.Str != "" {
		p.Name = a.Str
	} else if p.Exe != "" {
		p.Name = path.Base(p.Exe)
	}
	exepath := ""
	if a := ev.Arg("trusted_exepath"); a != nil && a.Str != "" {
		exepath = a.Str
	} else if a := ev.Arg("filename"); a != nil && a.Str != "" {
		exepath = resolvePath(th.fs.cwd, a.Str)
	}
	if exepath != "" {
		p.ExePath = exepath
	}
	if a := ev.Arg("cwd"); a != nil && a.Str != "" {
		th.fs.cwd = cwdString(a.Str)
	}
	if a := ev.Arg("env"); a != nil {
		p.Env = boundEnv(splitNUL(a.Bytes, a.Str), t.opts.MaxEnvBytes)
	}
	if v, ok := argUint(ev, "tty"); ok {
		p.TTY = uint32(v)
	}
	if v, ok := argUint(ev, "loginuid"); ok {
		p.LoginUID = normID(int64(uint32(v)))
	}
	if v, ok := argUint(ev, "uid"); ok {
		p.UID = uint32(v)
	}
	if v, ok := argUint(ev, "gid"); ok {
		p.GID = uint32(v)
	}
	t.refreshContainer(ev, p, p.PID, ev.TS)
	t.setUsers(p, ev.TS)
	if v, ok := argUint(ev, "cap_effective"); ok {
		p.CapEffective = v
	}
	if v, ok := argUint(ev, "cap_permitted"); ok {
		p.CapPermitted = v
	}
	if v, ok := argUint(ev, "cap_inheritable"); ok {
		p.CapInheritable = v
	}
	if v, ok := argUint(ev, "exe_ino"); ok {
		p.ExeIno = v
	}
	if a := ev.Arg("exe_ino_ctime"); a != nil {
		p.ExeCtime = a.Int
	}
	if a := ev.Arg("exe_ino_mtime"); a != nil {
		p.ExeMtime = a.Int
	}
	if v, ok := argUint(ev, "flags"); ok {
		p.ExeFlags = uint32(v)
		p.ExeWrite = v&exeWritable != 0
		p.ExeUpper = v&exeUpperLayer != 0
		p.ExeMemfd = v&exeFromMemfd != 0
		p.ExeLower = v&exeLowerLayer != 0
	}
	if v, ok := argUint(ev, "fdlimit"); ok {
		p.FDLimit = v
	}
	if a := ev.Arg("pgid"); a != nil {
		p.PGID = a.Int
	}
	if a := ev.Arg("vpgid"); a != nil {
		p.VPGID = a.Int
	}
	for n, f := range th.fds.fds {
		if f.OpenFlags&oCloexec != 0 {
			delete(th.fds.fds, n)
		}
	}
}

// execReset applies what a successful exec does to the thread group: the
// process is single-threaded afterwards, with the pid as its only tid. The
// other threads are gone (the kernel killed them; a non-leader that exec'd
// took the leader's tid), and the leader's own exit record, which de_thread
// produces when another thread execs, does not end the process.
func (t *Tables) execReset(th *thread) {
	for tid := range th.members {
		if tid != th.p.TID {
			t.remove(tid)
		}
	}
	th.members = nil
	th.zombie = false
	if th.exited {
		th.exited = false
		t.nExited--
		th.p.ExitTS = 0
	}
}

// applyExit marks the thread exited and reparents its children to the
// reaper the kernel reports ("reaper_tid"), or else to the init of its pid
// namespace.
func (t *Tables) applyExit(ev *event.Event) {
	th := t.threads[ev.TID]
	if th == nil {
		t.stats.Unknown++
		return
	}
	ev.Proc = th.p
	if th.exited || th.zombie {
		return
	}
	if th.p.TID == th.p.PID && t.liveMembers(th) {
		// The leader thread ended but the process lives on in its other
		// threads: the kernel keeps the children in the thread group.
		th.zombie = true
		return
	}
	t.markExited(th, ev.TS, argInt(ev, "reaper_tid", 0))
	if th.p.TID != th.p.PID {
		if leader := t.threads[th.p.PID]; leader != nil && leader.zombie && !t.liveMembers(leader) {
			leader.zombie = false
			t.markExited(leader, ev.TS, 0) // the last thread ended the process
		}
	}
}

// liveMembers reports whether a leader has threads that have not exited.
func (t *Tables) liveMembers(leader *thread) bool {
	for tid := range leader.members {
		if m := t.threads[tid]; m != nil && !m.exited && tid != leader.p.TID {
			return true
		}
	}
	return false
}

// markExited queues th for expiry at event time ts and reparents its
// children to reaper, or when that is 0 to the init of its pid namespace.
func (t *Tables) markExited(th *thread, ts, reaper int64) {
	th.exited = true
	t.nExited++
	th.p.ExitTS = ts
	t.exited = append(t.exited, th.p.TID)
	for t.nExited > t.opts.MaxExited && t.evictOldestExited() {
		t.stats.EvictedEarly++
	}
	if len(th.children) == 0 {
		return
	}
	if reaper <= 0 {
		reaper = nsReaper(th.p)
	}
	rt := t.threads[reaper]
	for c := range th.children {
		ct := t.threads[c]
		if ct == nil {
			continue
		}
		ct.p.PPID = reaper
		ct.p.Parent = nil
		if rt != nil && !descends(rt.p, ct.p) {
			ct.p.Parent = rt.p
			if rt.children == nil {
				rt.children = map[int64]struct{}{}
			}
			rt.children[c] = struct{}{}
		}
	}
	th.children = nil
}

// nsReaper guesses the reaper of p's orphans when the probe does not say:
// the init of p's pid namespace, i.e. the nearest ancestor whose pid in its
// own namespace is 1 (a container's init; the host's init on the host).
// Child subreapers (PR_SET_CHILD_SUBREAPER) are not visible here.
func nsReaper(p *event.Process) int64 {
	for a, i := p.Parent, 0; a != nil && i < 256; a, i = a.Parent, i+1 {
		if a.VPID == 1 || a.PID == 1 {
			return a.PID
		}
	}
	return 1
}

// normID maps the kernel's "unset" id (4294967295 or -1) to -1.
func normID(v int64) int64 {
	if v == 0xffffffff || v < 0 {
		return -1
	}
	return v
}

// splitNUL splits a NUL-separated buffer (execve args/env) into strings;
// str is used when the probe delivered a string instead of bytes.
func splitNUL(b []byte, str string) []string {
	if b == nil && str != "" {
		b = []byte(str)
	}
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil
	}
	return strings.Split(string(b), "\x00")
}

// boundEnv keeps leading entries totalling at most max bytes.
func boundEnv(env []string, max int) []string {
	n := 0
	for i, e := range env {
		n += len(e) + 1
		if n > max {
			return env[:i]
		}
	}
	return env
}
