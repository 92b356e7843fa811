package queue

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/router/api"
)

// mappedRSS returns the resident bytes of this process's mapping that
// starts at addr, from /proc/self/smaps.
func mappedRSS(t *testing.T, addr uintptr) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	defer f.Close()
	want := fmt.Sprintf("%x-", addr)
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		// A mapping's header starts "start-end perms ..."; its fields
		// follow as "Name:   value kB" lines.
		if first, _, _ := strings.Cut(line, " "); !strings.HasSuffix(first, ":") {
			in = strings.HasPrefix(line, want)
			continue
		}
		if in && strings.HasPrefix(line, "Rss:") {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(line, "Rss:"), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("smaps line %q: %v", line, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no mapping at %#x in /proc/self/smaps", addr)
	return 0
}

// The queue file's pages that transactions read stop counting in the
// router's RSS within a second of the next commit, and every item still
// reads back whole afterwards (issue 19: RSS at saturation ≤ 150 MB).
func TestCommitterTrimsFileMapping(t *testing.T) {
	s, err := Open(Options{Dir: t.TempDir(), Outputs: []OutputOptions{{Name: "a"}}, HotBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n, size = 3000, 8 << 10
	pad := strings.Repeat("x", size)
	for from := 0; from < n; from += 100 {
		var as []*api.Alert
		for i := from; i < from+100; i++ {
			a := alert(i)
			a.OutputFields = map[string]any{"n": i, "pad": pad}
			as = append(as, a)
		}
		if err := s.Enqueue(context.Background(), map[string][]*api.Alert{"a": as}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(items []Item) {
		t.Helper()
		if len(items) != n {
			t.Fatalf("leased %d items, want %d", len(items), n)
		}
		for i, it := range items {
			if it.Alert.UUID != alert(i).UUID || it.Alert.OutputFields["pad"] != pad {
				t.Fatalf("item %d: uuid %s, pad of %d bytes", i, it.Alert.UUID, len(fmt.Sprint(it.Alert.OutputFields["pad"])))
			}
		}
	}
	items := lease(t, s, "a", n) // read from the file: no hot cache
	check(items)
	addr := s.db.Info().Data
	before := mappedRSS(t, addr)
	if before < n*size/2 {
		t.Fatalf("mapping holds %d bytes resident after reading %d MB through it; the test measures nothing", before, n*size>>20)
	}
	time.Sleep(trimInterval + 100*time.Millisecond)
	enqueue(t, s, "a", n, n+1) // a commit: the committer trims after it
	after := mappedRSS(t, addr)
	// The commit answers the enqueue before the committer trims: give it a
	// moment (the deadline only guards against a hang).
	for deadline := time.Now().Add(5 * time.Second); after > before/4 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		after = mappedRSS(t, addr)
	}
	t.Logf("queue mapping resident: %d KiB after reading %d items, %d KiB after the next commit", before>>10, n, after>>10)
	if after > before/4 {
		t.Errorf("mapping still holds %d of %d bytes resident after the committer's trim", after, before)
	}
	s.Release("a", items...)
	items = lease(t, s, "a", n)
	check(items)
}
