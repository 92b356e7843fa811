package probe

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// TestExecForkExit runs a shell that forks a child which execs a real
// binary, and checks the fork, exec and exit records: ids, exe, args, env,
// filename, cwd, uid, exe identity and exit status.
func TestExecForkExit(t *testing.T) {
	requireKernel(t)
	bin, err := exec.LookPath("env")
	if err != nil {
		t.Skipf("skipped: no env binary: %v", err)
	}
	bin, _ = filepath.EvalSymlinks(bin)
	var st unix.Stat_t
	if err := unix.Stat(bin, &st); err != nil {
		t.Fatal(err)
	}
	var shell atomic.Int64       // pid of the shell, set once known
	children := map[int64]bool{} // only touched by the reader goroutine
	self := int64(os.Getpid())
	h := startProbe(t, Config{Interest: types(event.TypeExecve, event.TypeClone, event.TypeProcexit)}, func(ev *event.Event) bool {
		if ev.Type == event.TypeExecve && ev.Arg("ptid") != nil && ev.Arg("ptid").Int == self {
			return true // the shell's exec may come before its pid is known
		}
		sh := shell.Load()
		if sh == 0 {
			return false
		}
		if ev.PID == sh || children[ev.PID] {
			return true
		}
		if a := ev.Arg("ptid"); a != nil && a.Int == sh {
			children[ev.PID] = true
			return true
		}
		return false
	})
	dir := t.TempDir()
	// The shell waits for one line before going on, so that its pid is
	// known before its fork; then it runs env in a child and exits with 3.
	cmd := exec.Command("/bin/sh", "-c", `read x; "$0" "$@"; exit 3`, bin, "-u", "HOME", "true", "arg two")
	cmd.Dir = dir
	cmd.Env = []string{"LOOKOUT_TEST=probe", "PATH=/usr/bin:/bin"}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sh := int64(cmd.Process.Pid)
	shell.Store(sh)
	stdin.Write([]byte("go\n"))
	stdin.Close()
	if err := cmd.Wait(); err == nil || cmd.ProcessState.ExitCode() != 3 {
		t.Fatalf("shell: %v, want exit status 3", err)
	}
	isEnvExec := func(e *event.Event) bool { return e.Type == event.TypeExecve && strArg(e, "filename") == bin }
	isShellExit := func(e *event.Event) bool { return e.Type == event.TypeProcexit && e.PID == sh }
	evs := h.waitFor("the child's exec and the shell's exit", func(evs []event.Event) bool {
		_, e1 := find(evs, isEnvExec)
		_, e2 := find(evs, isShellExit)
		return e1 == nil && e2 == nil
	})
	fork, err := find(evs, func(e *event.Event) bool { return e.Type == event.TypeClone && argOf(t, e, "ptid").Int == sh })
	if err != nil {
		t.Fatalf("no fork record with the shell as parent")
	}
	child := fork.PID
	t.Logf("fork: %s", describe(fork))
	if fork.TID != child || argOf(t, fork, "tid").Int != child || argOf(t, fork, "pid").Int != child || child == sh {
		t.Errorf("fork ids: %s", describe(fork))
	}
	if got := argOf(t, fork, "vpid").Int; got != child {
		t.Errorf("vpid = %d, want %d (no pid namespace)", got, child)
	}
	if fork.Arg("start_ts").Int <= 0 || fork.Arg("start_ts").Int > fork.TS {
		t.Errorf("start_ts %d not in (0, TS %d]", fork.Arg("start_ts").Int, fork.TS)
	}

	ex, _ := find(evs, isEnvExec)
	t.Logf("exec: %s", describe(ex))
	if ex.Res != 0 || ex.TID != child || ex.PID != child {
		t.Errorf("exec res=%d tid=%d pid=%d, want 0 and the forked child %d", ex.Res, ex.TID, ex.PID, child)
	}
	want := []string{"res", "exe", "args", "tid", "pid", "ptid", "cwd", "fdlimit", "comm", "cgroups", "env", "tty", "vpgid",
		"loginuid", "flags", "cap_inheritable", "cap_permitted", "cap_effective", "exe_ino", "exe_ino_ctime",
		"exe_ino_mtime", "uid", "trusted_exepath", "pgid", "gid", "filename"}
	if got := argNames(ex); !slices.Equal(got, want) {
		t.Errorf("exec args\n got %v\nwant %v", got, want)
	}
	strs := []struct{ arg, want string }{
		{"exe", bin},
		{"filename", bin},
		{"trusted_exepath", bin},
		{"comm", "env"},
		{"cwd", dir},
	}
	for _, s := range strs {
		if got := argOf(t, ex, s.arg).Str; got != s.want {
			t.Errorf("%s = %q, want %q", s.arg, got, s.want)
		}
	}
	if got := strings.Split(string(argOf(t, ex, "args").Bytes), "\x00"); !slices.Equal(got, []string{"-u", "HOME", "true", "arg two"}) {
		t.Errorf("args = %q", got)
	}
	if got := string(argOf(t, ex, "env").Bytes); !strings.Contains(got, "LOOKOUT_TEST=probe") {
		t.Errorf("env = %q, want LOOKOUT_TEST=probe in it", got)
	}
	ints := []struct {
		arg  string
		want int64
	}{
		{"ptid", sh},
		{"tid", child},
		{"pid", child},
		{"pgid", int64(unix.Getpgrp())}, // the shell stays in the test's process group
	}
	for _, i := range ints {
		if got := argOf(t, ex, i.arg).Int; got != i.want {
			t.Errorf("%s = %d, want %d", i.arg, got, i.want)
		}
	}
	uints := []struct {
		arg  string
		want uint64
	}{
		{"uid", uint64(os.Geteuid())},
		{"gid", uint64(os.Getegid())},
		{"exe_ino", st.Ino},
	}
	for _, u := range uints {
		if got := argOf(t, ex, u.arg).Uint; got != u.want {
			t.Errorf("%s = %d, want %d", u.arg, got, u.want)
		}
	}
	// EXE_WRITABLE (root may write /usr/bin/env), not EXE_FROM_MEMFD; the
	// layer flags depend on the machine's root file system.
	if got := argOf(t, ex, "flags").Uint; got&1 == 0 || got&4 != 0 {
		t.Errorf("flags = %#x, want EXE_WRITABLE (1) and not EXE_FROM_MEMFD (4)", got)
	}
	if got, want := argOf(t, ex, "exe_ino_mtime").Int, st.Mtim.Nano(); got != want {
		t.Errorf("exe_ino_mtime = %d, want %d", got, want)
	}
	if got, want := argOf(t, ex, "exe_ino_ctime").Int, st.Ctim.Nano(); got != want {
		t.Errorf("exe_ino_ctime = %d, want %d", got, want)
	}
	// Go raises its own soft limit and gives children the original one, so
	// the child's limit is only known to be positive and at most the hard one.
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err == nil {
		if got := argOf(t, ex, "fdlimit").Uint; got == 0 || got > lim.Max {
			t.Errorf("fdlimit = %d, want 1..%d", got, lim.Max)
		}
	}

	// The shell's own exec came first, then its exit with status 3 last.
	if _, err := find(evs, func(e *event.Event) bool { return e.Type == event.TypeExecve && e.PID == sh }); err != nil {
		t.Errorf("no exec record of the shell")
	}
	exit, _ := find(evs, isShellExit)
	if got := argOf(t, exit, "ret").Int; got != 3 {
		t.Errorf("shell exit ret = %d, want 3 (%s)", got, describe(exit))
	}
	if _, err := find(evs, func(e *event.Event) bool { return e.Type == event.TypeProcexit && e.PID == child }); err != nil {
		t.Errorf("no exit record of the child")
	}
	// The shell's children would go to the init of its pid namespace: pid 1
	// (tests run in the host's pid namespace, or see their namespace's init as 1).
	if got := argOf(t, exit, "reaper_tid").Int; got != 1 {
		t.Errorf("reaper_tid = %d, want 1", got)
	}
}

// TestExecFromMemfd copies a binary into a memfd and runs it from there:
// the exec record carries EXE_FROM_MEMFD.
func TestExecFromMemfd(t *testing.T) {
	requireKernel(t)
	src, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Skipf("skipped: %v", err)
	}
	fd, err := unix.MemfdCreate("lookout-exe", 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "memfd")
	defer f.Close()
	if _, err := f.Write(src); err != nil {
		t.Fatal(err)
	}
	self := int64(os.Getpid())
	h := startProbe(t, Config{Interest: types(event.TypeExecve)}, func(ev *event.Event) bool {
		a := ev.Arg("ptid")
		return a != nil && a.Int == self
	})
	// The child gets the memfd as fd 3 and execs it by its /proc path.
	cmd := exec.Command("/proc/self/fd/3")
	cmd.ExtraFiles = []*os.File{f}
	if err := cmd.Run(); err != nil {
		t.Fatalf("exec from memfd: %v", err)
	}
	pid := int64(cmd.Process.Pid)
	evs := h.waitFor("the memfd exec", func(evs []event.Event) bool {
		_, err := find(evs, func(e *event.Event) bool { return e.PID == pid })
		return err == nil
	})
	ex, _ := find(evs, func(e *event.Event) bool { return e.PID == pid })
	t.Log(describe(ex))
	if got := argOf(t, ex, "flags").Uint; got&4 == 0 {
		t.Errorf("flags = %#x, want EXE_FROM_MEMFD (4) set", got)
	}
	if got := argOf(t, ex, "trusted_exepath").Str; !strings.HasPrefix(got, "/memfd:lookout-exe") {
		t.Errorf("trusted_exepath = %q, want /memfd:lookout-exe...", got)
	}
}

// TestExecTTYAndLoginuid runs a shell on a new pseudo-terminal (its
// controlling tty) that sets its login uid and execs /bin/true: the exec
// record carries the terminal's device number and the login uid.
func TestExecTTYAndLoginuid(t *testing.T) {
	requireKernel(t)
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("skipped: no pseudo-terminals: %v", err)
	}
	defer ptmx.Close()
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	pts, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer pts.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(pts.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	self := int64(os.Getpid())
	children := map[int64]bool{} // reader goroutine only
	h := startProbe(t, Config{Interest: types(event.TypeExecve)}, func(ev *event.Event) bool {
		if a := ev.Arg("ptid"); a != nil && a.Int == self {
			children[ev.PID] = true
		}
		return children[ev.PID]
	})
	// /bin/true if the shell could set its login uid (root, audit support,
	// login uid not made immutable), /bin/false if not.
	cmd := exec.Command("/bin/sh", "-c", `if echo 4242 > /proc/self/loginuid; then exec /bin/true; else exec /bin/false; fi`)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pts, pts, pts
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	bin, setLoginuid := "/bin/true", true
	if err := cmd.Run(); err != nil {
		if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 1 {
			t.Fatalf("shell on a pty: %v", err)
		}
		bin, setLoginuid = "/bin/false", false
		t.Log("the shell could not set its login uid: checking the tty only")
	}
	pid := int64(cmd.Process.Pid)
	isExec := func(e *event.Event) bool { return e.PID == pid && strArg(e, "filename") == bin }
	evs := h.waitFor("exec of "+bin, func(evs []event.Event) bool { _, err := find(evs, isExec); return err == nil })
	ex, _ := find(evs, isExec)
	t.Log(describe(ex))
	if got, want := argOf(t, ex, "tty").Uint, st.Rdev; got != want {
		t.Errorf("tty = %#x, want the pty's device %#x", got, want)
	}
	if got := argOf(t, ex, "loginuid").Int; setLoginuid && got != 4242 {
		t.Errorf("loginuid = %d, want 4242", got)
	}
}

// TestExecCgroup moves a shell into a new cgroup v2 group and has it exec
// /bin/true: the exec record's cgroups parameter names the group.
func TestExecCgroup(t *testing.T) {
	requireKernel(t)
	mnt := t.TempDir()
	if err := unix.Mount("none", mnt, "cgroup2", 0, ""); err != nil {
		t.Skipf("skipped: cannot mount cgroup2: %v", err)
	}
	defer unix.Unmount(mnt, unix.MNT_DETACH)
	group := "lookout-probe-test-" + strconv.Itoa(os.Getpid())
	if err := os.Mkdir(mnt+"/"+group, 0o755); err != nil {
		t.Skipf("skipped: cannot create a cgroup: %v", err)
	}
	defer os.Remove(mnt + "/" + group)
	self := int64(os.Getpid())
	h := startProbe(t, Config{Interest: types(event.TypeExecve)}, func(ev *event.Event) bool {
		a := ev.Arg("ptid")
		return a != nil && a.Int == self || strArg(ev, "filename") == "/bin/true"
	})
	// The shell joins the group itself, then execs.
	cmd := exec.Command("/bin/sh", "-c", `echo $$ > "$0/cgroup.procs" && exec /bin/true`, mnt+"/"+group)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("skipped: cannot join the cgroup: %v %s", err, out)
	}
	pid := int64(cmd.Process.Pid)
	isTrue := func(e *event.Event) bool { return e.PID == pid && strArg(e, "filename") == "/bin/true" }
	evs := h.waitFor("exec of /bin/true", func(evs []event.Event) bool { _, err := find(evs, isTrue); return err == nil })
	ex, _ := find(evs, isTrue)
	if got, want := string(argOf(t, ex, "cgroups").Bytes), "=/"+group; got != want {
		t.Errorf("cgroups = %q, want %q", got, want)
	}
	// The shell's own exec, in the test's cgroup: empty when that is the root.
	sh, err := find(evs, func(e *event.Event) bool { return e.PID == pid && strArg(e, "filename") == "/bin/sh" })
	if err == nil {
		cg, _ := os.ReadFile("/proc/self/cgroup")
		if strings.Contains(string(cg), "\n0::/\n") || strings.HasPrefix(string(cg), "0::/\n") {
			if got := argOf(t, sh, "cgroups").Bytes; len(got) != 0 {
				t.Errorf("cgroups in the root cgroup = %q, want empty", got)
			}
		}
	}
}

// TestExecOverlayLayers runs one binary from the lower and one from the
// upper layer of an overlay mount: EXE_LOWER_LAYER and EXE_UPPER_LAYER.
func TestExecOverlayLayers(t *testing.T) {
	requireKernel(t)
	src, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Skipf("skipped: %v", err)
	}
	root := t.TempDir()
	lower, upper, work, merged := root+"/lower", root+"/upper", root+"/work", root+"/merged"
	for _, d := range []string{lower, upper, work, merged} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(lower+"/lowertrue", src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(upper+"/uppertrue", src, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		t.Skipf("skipped: cannot mount overlayfs: %v", err)
	}
	defer unix.Unmount(merged, unix.MNT_DETACH)
	self := int64(os.Getpid())
	h := startProbe(t, Config{Interest: types(event.TypeExecve)}, func(ev *event.Event) bool {
		a := ev.Arg("ptid")
		return a != nil && a.Int == self
	})
	const upperFlag, lowerFlag = 2, 8 // EXE_UPPER_LAYER, EXE_LOWER_LAYER
	tests := []struct {
		name      string
		want, not uint64
	}{
		{"lowertrue", lowerFlag, upperFlag},
		{"uppertrue", upperFlag, lowerFlag},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(merged + "/" + tt.name)
			if err := cmd.Run(); err != nil {
				t.Fatalf("run: %v", err)
			}
			pid := int64(cmd.Process.Pid)
			evs := h.waitFor("the exec", func(evs []event.Event) bool {
				_, err := find(evs, func(e *event.Event) bool { return e.PID == pid })
				return err == nil
			})
			ex, _ := find(evs, func(e *event.Event) bool { return e.PID == pid })
			flags := argOf(t, ex, "flags").Uint
			if flags&tt.want == 0 || flags&tt.not != 0 {
				t.Errorf("flags = %#x, want %#x set and %#x clear (%s)", flags, tt.want, tt.not, describe(ex))
			}
			if got := argOf(t, ex, "trusted_exepath").Str; got != merged+"/"+tt.name {
				t.Errorf("trusted_exepath = %q, want %q", got, merged+"/"+tt.name)
			}
		})
	}
}

// TestThreadExitReaper ends one thread of this process: its exit record
// names the group leader as the reaper of its children.
func TestThreadExitReaper(t *testing.T) {
	pid := int64(os.Getpid())
	h := startProbe(t, Config{OnlyPID: int(pid), Interest: types(event.TypeProcexit)}, func(ev *event.Event) bool { return true })
	// A goroutine that exits locked to its thread ends the thread, unless it
	// was the main thread (which Go parks instead): two such goroutines, in
	// turn, so that at least one thread really exits.
	var tids [2]int64
	for i := range tids {
		done := make(chan struct{})
		go func() {
			defer close(done)
			runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
			tids[i] = int64(unix.Gettid())
		}()
		<-done
	}
	isExit := func(e *event.Event) bool { return e.TID == tids[0] || e.TID == tids[1] }
	evs := h.waitFor("a thread's exit", func(evs []event.Event) bool {
		_, err := find(evs, isExit)
		return err == nil
	})
	ex, _ := find(evs, isExit)
	if ex.PID != pid || argOf(t, ex, "reaper_tid").Int != pid {
		t.Errorf("thread exit %s: want pid and reaper_tid %d", describe(ex), pid)
	}
}
