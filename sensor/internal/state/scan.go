package state

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/prometheus/procfs"

	"github.com/lookout-sec/lookout/sensor/internal/event"
	"github.com/lookout-sec/lookout/sensor/internal/state/container"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat start times; it is 100
// on every Linux architecture the sensor supports.
const clockTicks = 100

// scan walks ProcRoot and replaces the tables' content.
func (t *Tables) scan(ctx context.Context) (int, error) {
	ents, err := os.ReadDir(t.opts.ProcRoot)
	if err != nil {
		return 0, fmt.Errorf("state: scan %s: %w", t.opts.ProcRoot, err)
	}
	t.threads = map[int64]*thread{}
	t.exited = nil
	t.nExited = 0
	t.netns = map[string]map[uint64]socketInfo{}
	defer func() { t.netns = nil }()
	n := 0
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return n, fmt.Errorf("state: scan: %w", err)
		}
		pid, err := strconv.ParseInt(e.Name(), 10, 64)
		if err != nil {
			continue
		}
		leader := t.readThread(pid, pid)
		if leader == nil {
			continue // exited during the scan
		}
		t.threads[pid] = leader
		n++
		tasks, _ := os.ReadDir(fmt.Sprintf("%s/%d/task", t.opts.ProcRoot, pid))
		for _, te := range tasks {
			tid, err := strconv.ParseInt(te.Name(), 10, 64)
			if err != nil || tid == pid {
				continue
			}
			th := t.readTask(pid, tid, leader)
			if th != nil {
				t.threads[tid] = th
				n++
			}
		}
	}
	for len(t.threads) > t.opts.MaxProcesses {
		t.evictOne()
	}
	for _, th := range t.threads {
		t.join(th)
		t.link(th)
	}
	return n, nil
}

// readTask reads a non-leader thread; it shares the leader's fds and cwd.
func (t *Tables) readTask(pid, tid int64, leader *thread) *thread {
	p := *leader.p
	p.TID = tid
	p.Parent = nil
	pfs, ok := t.procFS()
	if !ok {
		return nil
	}
	proc, err := pfs.Thread(int(pid), int(tid))
	if err != nil {
		return nil
	}
	st, err := proc.Stat()
	if err != nil {
		return nil
	}
	applyStat(st, &p, t.bootTime())
	return &thread{p: &p, fds: leader.fds, fs: leader.fs}
}

// readThread reads one process (and its fds) from ProcRoot; pid 0 means use
// tid's own directory. It returns nil when the process is gone.
func (t *Tables) readThread(pid, tid int64) *thread {
	if pid == 0 {
		pid = tid
	}
	dir := fmt.Sprintf("%s/%d", t.opts.ProcRoot, pid)
	if pid != tid {
		dir = fmt.Sprintf("%s/%d/task/%d", t.opts.ProcRoot, pid, tid)
	}
	pfs, ok := t.procFS()
	if !ok {
		return nil
	}
	proc, err := pfs.Proc(int(pid))
	if pid != tid {
		proc, err = pfs.Thread(int(pid), int(tid))
	}
	if err != nil {
		return nil
	}
	status, err := proc.NewStatus()
	if err != nil {
		return nil
	}
	p := &event.Process{TID: tid, PID: pid, LoginUID: -1}
	applyStatus(status, p)
	if st, err := proc.Stat(); err == nil {
		applyStat(st, p, t.bootTime())
	}
	if cmd, err := os.ReadFile(dir + "/cmdline"); err == nil {
		if args := splitNUL(cmd, ""); len(args) > 0 {
			p.Exe = args[0]
			p.Args = args[1:]
		}
	}
	if comm, err := proc.Comm(); err == nil {
		p.Name = comm
	}
	p.ExePath, _ = proc.Executable()
	p.ExePath = strings.TrimSuffix(p.ExePath, " (deleted)")
	cwd, _ := proc.Cwd()
	if env, err := os.ReadFile(dir + "/environ"); err == nil {
		p.Env = boundEnv(splitNUL(env, ""), t.opts.MaxEnvBytes)
	}
	if lu, err := os.ReadFile(dir + "/loginuid"); err == nil {
		if v, err := strconv.ParseInt(strings.TrimSpace(string(lu)), 10, 64); err == nil {
			p.LoginUID = normID(v)
		}
	}
	if cg, err := os.ReadFile(dir + "/cgroup"); err == nil {
		if id, ok := container.ParseCgroupFile(cg); ok {
			p.Container = t.container(id, 0)
		}
	}
	t.setUsers(p, 0)
	p.Cwd = cwdString(cwd)
	th := &thread{p: p, fds: newFDTable(), fs: &fsInfo{cwd: p.Cwd}}
	t.readFDs(dir, th)
	return th
}

// readFDs fills th's fd table from dir/fd, mapping sockets through the
// process's network namespace tables.
func (t *Tables) readFDs(dir string, th *thread) {
	ents, err := os.ReadDir(dir + "/fd")
	if err != nil {
		return
	}
	var socks map[uint64]socketInfo
	for _, e := range ents {
		num, err := strconv.ParseInt(e.Name(), 10, 64)
		if err != nil {
			continue
		}
		target, err := os.Readlink(dir + "/fd/" + e.Name())
		if err != nil {
			continue
		}
		f := &event.FD{Num: num}
		switch {
		case strings.HasPrefix(target, "socket:["):
			ino, _ := strconv.ParseUint(strings.TrimSuffix(target[len("socket:["):], "]"), 10, 64)
			if socks == nil {
				socks = t.netSockets(dir)
			}
			f.Ino = ino
			if s, ok := socks[ino]; ok {
				s.apply(f)
			}
		case strings.HasPrefix(target, "pipe:["):
			f.Type, f.Name = event.FDPipe, target
		case strings.HasPrefix(target, "anon_inode:"):
			f.Type, f.Name = anonType(target), target
		case strings.HasPrefix(target, "/memfd:"):
			f.Type, f.Name = event.FDMemfd, target[1:]
		case strings.HasPrefix(target, "/"):
			f.Type, f.Name, f.NameRaw = event.FDFile, strings.TrimSuffix(target, " (deleted)"), target
			if fi, err := os.Stat(target); err == nil && fi.IsDir() {
				f.Type = event.FDDirectory
			}
		default:
			f.Name = target
		}
		if fdinfo, err := os.ReadFile(dir + "/fdinfo/" + e.Name()); err == nil {
			f.OpenFlags = parseFdinfoFlags(fdinfo)
		}
		t.putFD(th, f)
	}
}

func anonType(target string) event.FDType {
	switch target {
	case "anon_inode:[eventfd]":
		return event.FDEvent
	case "anon_inode:[signalfd]":
		return event.FDSignalfd
	case "anon_inode:[eventpoll]":
		return event.FDEventpoll
	case "anon_inode:inotify":
		return event.FDInotify
	case "anon_inode:[timerfd]":
		return event.FDTimerfd
	case "anon_inode:bpf-map", "anon_inode:bpf-prog", "anon_inode:bpf_link":
		return event.FDBpf
	case "anon_inode:[userfaultfd]":
		return event.FDUserfaultfd
	case "anon_inode:[io_uring]":
		return event.FDIOUring
	case "anon_inode:[pidfd]":
		return event.FDPidfd
	}
	return event.FDUnknown
}

// parseFdinfoFlags reads the octal "flags:" line of /proc/PID/fdinfo/N.
func parseFdinfoFlags(data []byte) uint32 {
	for line := range bytes.SplitSeq(data, []byte{'\n'}) {
		if v, ok := bytes.CutPrefix(line, []byte("flags:")); ok {
			n, _ := strconv.ParseUint(string(bytes.TrimSpace(v)), 8, 32)
			return uint32(n)
		}
	}
	return 0
}

// applyStatus copies the effective uid and gid, the capabilities and the
// innermost NSpid of /proc/PID/status (read by prometheus/procfs).
func applyStatus(st procfs.ProcStatus, p *event.Process) {
	p.UID, p.GID = uint32(st.UIDs[1]), uint32(st.GIDs[1])
	p.CapEffective, p.CapPermitted, p.CapInheritable = st.CapEff, st.CapPrm, st.CapInh
	if n := len(st.NSpids); n > 0 {
		p.VPID = int64(st.NSpids[n-1])
		p.VTID = p.VPID
	}
}

// applyStat copies the parent, pgrp, session, tty and start time of
// /proc/PID/stat (read by prometheus/procfs, which finds the fields after
// the last ')' of a comm that may hold spaces and parentheses).
func applyStat(st procfs.ProcStat, p *event.Process, bootNS int64) {
	p.PPID, p.PGID, p.SID, p.TTY = int64(st.PPID), int64(st.PGRP), int64(st.Session), uint32(st.TTY)
	if bootNS > 0 {
		p.StartTS = bootNS + int64(st.Starttime)*(1e9/clockTicks)
	}
}

// bootTime returns the boot time from ProcRoot/stat's btime, cached.
func (t *Tables) bootTime() int64 {
	if t.boot != 0 {
		return t.boot
	}
	pfs, ok := t.procFS()
	if !ok {
		t.boot = -1
		return 0
	}
	st, err := pfs.Stat()
	if err != nil || st.BootTime == 0 {
		t.boot = -1
		return 0
	}
	t.boot = int64(st.BootTime) * 1e9
	return t.boot
}

// procFS returns the procfs reader of ProcRoot, made once. When ProcRoot
// is not a directory, ok is false and every /proc read is skipped (the scan
// has already failed naming ProcRoot).
func (t *Tables) procFS() (procfs.FS, bool) {
	if t.pfs == nil {
		fs, err := procfs.NewFS(t.opts.ProcRoot)
		t.pfs = &procFS{fs: fs, ok: err == nil}
	}
	return t.pfs.fs, t.pfs.ok
}

type procFS struct {
	fs procfs.FS
	ok bool
}
