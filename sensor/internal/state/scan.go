package state

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

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
	dir := fmt.Sprintf("%s/%d/task/%d", t.opts.ProcRoot, pid, tid)
	p := *leader.p
	p.TID = tid
	p.Parent = nil
	if st, err := os.ReadFile(dir + "/stat"); err == nil {
		parseStat(st, &p, t.bootTime())
	} else {
		return nil
	}
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
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return nil
	}
	p := &event.Process{TID: tid, PID: pid, LoginUID: -1}
	parseStatus(status, p)
	if st, err := os.ReadFile(dir + "/stat"); err == nil {
		parseStat(st, p, t.bootTime())
	}
	if cmd, err := os.ReadFile(dir + "/cmdline"); err == nil {
		if args := splitNUL(cmd, ""); len(args) > 0 {
			p.Exe = args[0]
			p.Args = args[1:]
		}
	}
	if comm, err := os.ReadFile(dir + "/comm"); err == nil {
		p.Name = strings.TrimRight(string(comm), "\n")
	}
	p.ExePath, _ = os.Readlink(dir + "/exe")
	p.ExePath = strings.TrimSuffix(p.ExePath, " (deleted)")
	cwd, _ := os.Readlink(dir + "/cwd")
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

// parseStatus reads PPid, Uid/Gid (effective), capabilities and NSpid.
func parseStatus(data []byte, p *event.Process) {
	for line := range bytes.SplitSeq(data, []byte{'\n'}) {
		k, v, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		f := strings.Fields(string(v))
		if len(f) == 0 {
			continue
		}
		switch string(k) {
		case "PPid":
			p.PPID, _ = strconv.ParseInt(f[0], 10, 64)
		case "Uid":
			if len(f) > 1 {
				u, _ := strconv.ParseUint(f[1], 10, 32)
				p.UID = uint32(u)
			}
		case "Gid":
			if len(f) > 1 {
				g, _ := strconv.ParseUint(f[1], 10, 32)
				p.GID = uint32(g)
			}
		case "CapEff":
			p.CapEffective, _ = strconv.ParseUint(f[0], 16, 64)
		case "CapPrm":
			p.CapPermitted, _ = strconv.ParseUint(f[0], 16, 64)
		case "CapInh":
			p.CapInheritable, _ = strconv.ParseUint(f[0], 16, 64)
		case "NSpid":
			p.VPID, _ = strconv.ParseInt(f[len(f)-1], 10, 64)
			p.VTID = p.VPID
		}
	}
}

// parseStat reads pgrp, session, tty and start time from /proc/PID/stat.
// The comm field may contain spaces and parentheses, so fields are counted
// from the last ')'.
func parseStat(data []byte, p *event.Process, bootNS int64) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return
	}
	f := strings.Fields(string(data[i+1:]))
	// f[0] is field 3 (state); field N is f[N-3].
	if len(f) < 20 {
		return
	}
	p.PGID, _ = strconv.ParseInt(f[2], 10, 64)
	p.SID, _ = strconv.ParseInt(f[3], 10, 64)
	tty, _ := strconv.ParseInt(f[4], 10, 64)
	p.TTY = uint32(tty)
	if start, err := strconv.ParseInt(f[19], 10, 64); err == nil && bootNS > 0 {
		p.StartTS = bootNS + start*(1e9/clockTicks)
	}
}

// bootTime returns the boot time from ProcRoot/stat's btime, cached.
func (t *Tables) bootTime() int64 {
	if t.boot != 0 {
		return t.boot
	}
	data, err := os.ReadFile(filepath.Join(t.opts.ProcRoot, "stat"))
	if err != nil {
		t.boot = -1
		return 0
	}
	for line := range bytes.SplitSeq(data, []byte{'\n'}) {
		if v, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
			s, _ := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
			t.boot = s * 1e9
			return t.boot
		}
	}
	t.boot = -1
	return 0
}
