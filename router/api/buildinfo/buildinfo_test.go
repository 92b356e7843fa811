package buildinfo

import (
	"strings"
	"testing"
)

func TestGet(t *testing.T) {
	Version, Commit, Date = "v1.2.3", "0123456789abcdef0123", "2026-12-03T10:00:00Z"
	t.Cleanup(func() { Version, Commit, Date = "dev", "", "" })
	in := Get()
	if in.Version != "v1.2.3" || in.Commit != "0123456789abcdef0123" || in.Date != "2026-12-03T10:00:00Z" || in.Go == "" {
		t.Fatalf("%+v", in)
	}
	if s := in.String(); !strings.HasPrefix(s, "v1.2.3 (commit 0123456789ab, built 2026-12-03T10:00:00Z, go") {
		t.Fatalf("String() = %q", s)
	}
}
