package state

import (
	"path"
	"testing"
)

// isClean must agree with path.Clean on every path, the fast path included.
func TestIsClean(t *testing.T) {
	for _, p := range []string{"/", "/etc/hostname", "/etc/", "//etc", "/etc//x", "/./x", "/x/.", "/x/..", "/x/../y",
		"/.hidden", "/x/.hidden/y", "/x/..y", "/x/...", "/a.b/c.d", "/x.", "/x/y.", "/..", "/.", "/x//", "/a/b/c"} {
		if got, want := isClean(p), path.Clean(p) == p; got != want {
			t.Errorf("isClean(%q) = %v, path.Clean says %v", p, got, want)
		}
	}
}

func FuzzIsClean(f *testing.F) {
	f.Add("/etc/x/../y")
	f.Fuzz(func(t *testing.T, p string) {
		if len(p) == 0 || p[0] != '/' {
			return
		}
		if got, want := isClean(p), path.Clean(p) == p; got != want {
			t.Errorf("isClean(%q) = %v, path.Clean says %v", p, got, want)
		}
	})
}
