package probe

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// TestOpenat opens a known file by absolute path, relative to a directory
// fd, and a missing file, and checks the exit parameters of each.
func TestOpenat(t *testing.T) {
	dir := t.TempDir()
	const marker = "lookout-probe-openat"
	pid := int64(os.Getpid())
	abs := filepath.Join(dir, marker+"-abs")
	if err := os.WriteFile(abs, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := startProbe(t, Config{OnlyPID: int(pid), Interest: types(event.TypeOpenat, event.TypeOpen)}, func(ev *event.Event) bool {
		a := ev.Arg("name")
		return ev.PID == pid && a != nil && strings.Contains(a.Str, marker)
	})
	var st unix.Stat_t
	if err := unix.Stat(abs, &st); err != nil {
		t.Fatal(err)
	}
	fd1, err := unix.Openat(unix.AT_FDCWD, abs, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd1)
	dirfd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dirfd)
	fd2, err := unix.Openat(dirfd, marker+"-rel", unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd2)
	_, err = unix.Openat(unix.AT_FDCWD, filepath.Join(dir, marker+"-missing"), unix.O_RDONLY, 0)
	if err != unix.ENOENT {
		t.Fatalf("open of a missing file: %v, want ENOENT", err)
	}
	evs := h.waitFor("three openat exits", func(evs []event.Event) bool { return len(evs) >= 3 })

	want := []string{"fd", "dirfd", "name", "flags", "mode", "dev", "ino"}
	for _, ev := range evs {
		if got := strings.Join(argNames(&ev), ","); got != strings.Join(want, ",") {
			t.Errorf("openat args %s, want %s", got, strings.Join(want, ","))
		}
	}
	tests := []struct {
		name  string
		res   int64
		dirfd int64
		flags uint64
		mode  uint64
		ino   uint64
	}{
		{abs, int64(fd1), unix.AT_FDCWD, unix.O_RDONLY | unix.O_CLOEXEC, 0, st.Ino},
		{marker + "-rel", int64(fd2), int64(dirfd), unix.O_WRONLY | unix.O_CREAT | unix.O_TRUNC, 0o640, 0},
		{filepath.Join(dir, marker+"-missing"), -int64(unix.ENOENT), unix.AT_FDCWD, unix.O_RDONLY, 0, 0},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.name), func(t *testing.T) {
			ev, err := find(evs, func(e *event.Event) bool { return e.Arg("name").Str == tt.name && e.Res == tt.res })
			if err != nil {
				t.Fatalf("no openat event for %s", tt.name)
			}
			t.Log(describe(ev))
			if ev.Type != event.TypeOpenat || ev.Res != tt.res || argOf(t, ev, "fd").Int != tt.res {
				t.Errorf("type %s res %d fd %d, want openat %d", ev.Type, ev.Res, argOf(t, ev, "fd").Int, tt.res)
			}
			if got := argOf(t, ev, "dirfd").Int; got != tt.dirfd {
				t.Errorf("dirfd = %d, want %d", got, tt.dirfd)
			}
			// Go adds O_LARGEFILE on some architectures; compare the rest.
			if got := argOf(t, ev, "flags").Uint &^ unix.O_LARGEFILE; got != tt.flags {
				t.Errorf("flags = %#o, want %#o", got, tt.flags)
			}
			if got := argOf(t, ev, "mode").Uint; got != tt.mode {
				t.Errorf("mode = %#o, want %#o", got, tt.mode)
			}
			if tt.ino != 0 {
				if got := argOf(t, ev, "ino").Uint; got != tt.ino {
					t.Errorf("ino = %d, want %d", got, tt.ino)
				}
				if got := argOf(t, ev, "dev").Uint; got != uint64(st.Dev) {
					t.Errorf("dev = %#x, want %#x", got, st.Dev)
				}
			}
		})
	}
}
