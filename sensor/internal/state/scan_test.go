package state

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// TestScanRealProc scans the real /proc and finds this test process (its
// listening socket) and a child it started (cmdline, cwd, env, an open
// file inherited as fd 3, its parent).
func TestScanRealProc(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skipf("no sleep binary to start a child: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	dir := t.TempDir()
	file := filepath.Join(dir, "held.txt")
	fh, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	cmd := exec.Command(sleep, "300")
	cmd.Dir = dir
	cmd.Env = []string{"LOOKOUT_SCAN_TEST=yes", "PATH=/usr/bin:/bin"}
	cmd.ExtraFiles = []*os.File{fh}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	tb, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := tb.Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := tb.Stats(); s.ScanProcesses < 2 || s.Threads != s.ScanProcesses {
		t.Fatalf("stats = %+v", s)
	}

	child := tb.Process(int64(cmd.Process.Pid))
	if child == nil {
		t.Fatalf("child %d not found", cmd.Process.Pid)
	}
	if child.Exe != sleep || !slices.Equal(child.Args, []string{"300"}) || child.Name != "sleep" {
		t.Errorf("child exe/args/name = %q %v %q", child.Exe, child.Args, child.Name)
	}
	realDir, _ := filepath.EvalSymlinks(dir)
	if child.Cwd != realDir+"/" {
		t.Errorf("child cwd = %q, want %q", child.Cwd, realDir+"/")
	}
	if !slices.Contains(child.Env, "LOOKOUT_SCAN_TEST=yes") {
		t.Errorf("child env = %v", child.Env)
	}
	if child.PPID != int64(os.Getpid()) || child.Parent == nil || child.Parent.PID != int64(os.Getpid()) {
		t.Errorf("child ppid = %d parent = %v", child.PPID, child.Parent)
	}
	if child.StartTS <= 0 || child.UID != uint32(os.Geteuid()) {
		t.Errorf("child start %d uid %d", child.StartTS, child.UID)
	}
	realFile, _ := filepath.EvalSymlinks(file)
	if f := tb.FD(child.PID, 3); f == nil || f.Name != realFile || f.Type != event.FDFile {
		t.Errorf("child fd 3 = %+v, want %s", f, realFile)
	}

	me := tb.Process(int64(os.Getpid()))
	if me == nil {
		t.Fatal("own process not found")
	}
	port := ln.Addr().(*net.TCPAddr).Port
	found := false
	for n := int64(0); n < 1024; n++ {
		f := tb.FD(me.PID, n)
		if f != nil && f.Server && f.Type == event.FDIPv4 && f.Src.Port() == uint16(port) {
			found = f.L4Proto == event.L4TCP && strings.HasPrefix(f.Name, "127.0.0.1:")
		}
	}
	if !found {
		t.Errorf("listening socket on port %d not found in own fd table", port)
	}
	// Threads of the Go test binary share their leader's fd table.
	for _, th := range tb.threads {
		if th.p.PID == me.PID && th.p.TID != me.PID && th.fds != tb.threads[me.PID].fds {
			t.Errorf("thread %d has its own fd table", th.p.TID)
		}
	}
}

func TestScanMissingProcRoot(t *testing.T) {
	tb := newTestTables(t, Options{})
	tb.opts.ProcRoot = filepath.Join(t.TempDir(), "absent")
	err := tb.Scan(context.Background())
	if err == nil || !strings.Contains(err.Error(), "absent") {
		t.Fatalf("err = %v, want one naming the missing directory", err)
	}
}

func TestParseNet(t *testing.T) {
	tcp := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
		"   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0 100 0 0 10 0\n" +
		"   1: 0100007F:9C40 0200000A:0050 01 00000000:00000000 00:00000000 00000000     0        0 12346 1 0 100 0 0 10 0\n"
	tcp6 := "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
		"   0: 00000000000000000000000001000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1\n"
	unix := "Num       RefCount Protocol Flags    Type St Inode Path\n" +
		"0000000000000000: 00000002 00000000 00010000 0001 01 888 /run/app.sock\n" +
		"0000000000000000: 00000002 00000000 00000000 0001 03 889\n"
	m := map[uint64]socketInfo{}
	parseNetIP([]byte(tcp), event.FamilyInet, event.L4TCP, m)
	parseNetIP([]byte(tcp6), event.FamilyInet6, event.L4TCP, m)
	parseNetUnix([]byte(unix), m)
	for _, tc := range []struct {
		ino    uint64
		name   string
		server bool
	}{
		{12345, "127.0.0.1:8080->0.0.0.0:0", true},
		{12346, "127.0.0.1:40000->10.0.0.2:80", false},
		{777, "::1:443->:::0", true},
		{888, "/run/app.sock", false},
		{889, "", false},
	} {
		s, ok := m[tc.ino]
		if !ok {
			t.Errorf("inode %d missing", tc.ino)
			continue
		}
		var f event.FD
		s.apply(&f)
		if f.Name != tc.name || f.Server != tc.server {
			t.Errorf("inode %d: name %q server %v, want %q %v", tc.ino, f.Name, f.Server, tc.name, tc.server)
		}
	}
}

func TestParsePasswdGroup(t *testing.T) {
	users := parsePasswd([]byte("# comment\nroot:x:0:0:root:/root:/bin/bash\nbad line\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\ntoor:x:0:0::/:/bin/sh\nx:x:notanumber:0::/:/bin/sh\n"))
	if len(users) != 2 || users[0].Name != "root" || users[0].Shell != "/bin/bash" || users[65534].HomeDir != "/nonexistent" {
		t.Fatalf("users = %+v", users)
	}
	groups := parseGroup([]byte("root:x:0:\ndocker:x:999:alice,bob\n:\n"))
	if len(groups) != 2 || groups[999].Name != "docker" {
		t.Fatalf("groups = %+v", groups)
	}
}

func FuzzParsePasswd(f *testing.F) {
	f.Add([]byte("root:x:0:0:root:/root:/bin/bash\n"))
	f.Add([]byte("a:b:c\n::::::\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for uid, u := range parsePasswd(data) {
			if u.UID != uid {
				t.Fatalf("uid %d keyed as %d", u.UID, uid)
			}
		}
		_ = parseGroup(data)
	})
}

func FuzzParseNetIP(f *testing.F) {
	f.Add([]byte("h\n   0: 0100007F:1F90 00000000:0000 0A 0:0 0:0 0 0 0 12345\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m := map[uint64]socketInfo{}
		parseNetIP(data, event.FamilyInet6, event.L4UDP, m)
		parseNetUnix(data, m)
	})
}

// BenchmarkScan measures a /proc scan of this machine; it reports threads
// found and heap bytes retained per thread.
func BenchmarkScan(b *testing.B) {
	var n int
	var perThread float64
	for b.Loop() {
		tb, err := New(Options{})
		if err != nil {
			b.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if err := tb.Scan(context.Background()); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		n = tb.Stats().ScanProcesses
		perThread = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
		runtime.KeepAlive(tb)
	}
	b.ReportMetric(float64(n), "threads")
	b.ReportMetric(perThread, "heapB/thread")
}
