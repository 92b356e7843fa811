package probe

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// legacyFileCalls are the path syscalls arm64 does not have (open, creat,
// link, symlink, rename, unlink, mkdir, rmdir, chmod), made on files in dir.
func legacyFileCalls(dir string) []call {
	p := func(n string) string { return dir + "/" + n }
	return []call{
		{name: "open", typ: event.TypeOpen,
			do: func(t *testing.T) (int64, map[string]any) {
				fd := sys1(unix.SYS_OPEN, p("target"), unix.O_RDONLY|unix.O_CLOEXEC)
				if fd >= 0 {
					unix.Close(int(fd))
				}
				return fd, map[string]any{"fd": fd}
			},
			args:  map[string]any{"name": p("target"), "flags": uint64(unix.O_CLOEXEC), "mode": uint64(0)},
			order: []string{"fd", "name", "flags", "mode", "dev", "ino"}},
		{name: "creat", typ: event.TypeCreat,
			do: func(t *testing.T) (int64, map[string]any) {
				fd := sys1(unix.SYS_CREAT, p("created"), 0o600)
				if fd >= 0 {
					unix.Close(int(fd))
				}
				return fd, map[string]any{"fd": fd}
			},
			args:  map[string]any{"name": p("created"), "mode": uint64(0o600)},
			order: []string{"fd", "name", "mode", "dev", "ino", "creat_flags"}},
		{name: "symlink", typ: event.TypeSymlink,
			do:    func(t *testing.T) (int64, map[string]any) { return sys2(unix.SYS_SYMLINK, "target", p("sym2")), nil },
			args:  map[string]any{"target": "target", "linkpath": p("sym2")},
			order: []string{"res", "target", "linkpath"}},
		{name: "link", typ: event.TypeLink,
			do:    func(t *testing.T) (int64, map[string]any) { return sys2(unix.SYS_LINK, p("target"), p("hard2")), nil },
			args:  map[string]any{"oldpath": p("target"), "newpath": p("hard2")},
			order: []string{"res", "oldpath", "newpath"}},
		{name: "rename", typ: event.TypeRename,
			do:    func(t *testing.T) (int64, map[string]any) { return sys2(unix.SYS_RENAME, p("hard2"), p("hard3")), nil },
			args:  map[string]any{"oldpath": p("hard2"), "newpath": p("hard3")},
			order: []string{"res", "oldpath", "newpath"}},
		{name: "unlink", typ: event.TypeUnlink,
			do:    func(t *testing.T) (int64, map[string]any) { return sys1(unix.SYS_UNLINK, p("hard3"), 0), nil },
			args:  map[string]any{"path": p("hard3")},
			order: []string{"res", "path"}},
		{name: "mkdir", typ: event.TypeMkdir,
			do:    func(t *testing.T) (int64, map[string]any) { return sys1(unix.SYS_MKDIR, p("d2"), 0o700), nil },
			args:  map[string]any{"path": p("d2"), "mode": uint64(0o700)},
			order: []string{"res", "path", "mode"}},
		{name: "rmdir missing", typ: event.TypeRmdir,
			do:    func(t *testing.T) (int64, map[string]any) { return sys1(unix.SYS_RMDIR, p("nope"), 0), nil },
			args:  map[string]any{"path": p("nope")},
			order: []string{"res", "path"}},
		{name: "chmod", typ: event.TypeChmod,
			do:    func(t *testing.T) (int64, map[string]any) { return sys1(unix.SYS_CHMOD, p("created"), 0o640), nil },
			args:  map[string]any{"filename": p("created"), "mode": uint64(0o640)},
			order: []string{"res", "filename", "mode"}},
	}
}

// sys1 makes a raw syscall with a path and one number; the result is the
// return value or -errno.
func sys1(nr uintptr, path string, a uintptr) int64 {
	b, _ := unix.BytePtrFromString(path)
	r, _, e := unix.Syscall(nr, uintptr(unsafe.Pointer(b)), a, 0)
	if e != 0 {
		return -int64(e)
	}
	return int64(r)
}

// sys2 makes a raw syscall with two paths.
func sys2(nr uintptr, p1, p2 string) int64 {
	b1, _ := unix.BytePtrFromString(p1)
	b2, _ := unix.BytePtrFromString(p2)
	r, _, e := unix.Syscall(nr, uintptr(unsafe.Pointer(b1)), uintptr(unsafe.Pointer(b2)), 0)
	if e != 0 {
		return -int64(e)
	}
	return int64(r)
}
