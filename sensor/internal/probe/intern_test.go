package probe

import (
	"strings"
	"testing"
	"unsafe"
)

func TestStrCache(t *testing.T) {
	var c strCache
	b := []byte("/etc/hostname")
	s1 := c.get(b)
	b[1] = 'X' // the cache must hold its own copy
	if s1 != "/etc/hostname" {
		t.Fatalf("got %q", s1)
	}
	s2 := c.get([]byte("/etc/hostname"))
	if unsafe.StringData(s1) != unsafe.StringData(s2) {
		t.Error("a repeated string was copied again")
	}
	if n := testing.AllocsPerRun(100, func() { c.get([]byte("/etc/hostname")) }); n != 0 {
		t.Errorf("a cached string costs %v allocations", n)
	}
	long := strings.Repeat("a", strCacheMaxLen+1)
	if c.get([]byte(long)) != long || c.m[long] != "" {
		t.Error("a long string is returned, not cached")
	}
	// Bounded: the cached bytes never pass the limit.
	for i := range 100_000 {
		c.get([]byte(strings.Repeat("p", 200) + string(rune('a'+i%26)) + strings.Repeat("q", i%50)))
		if c.bytes > strCacheMaxBytes {
			t.Fatalf("cache holds %d bytes, limit %d", c.bytes, strCacheMaxBytes)
		}
	}
	if c.get(nil) != "" {
		t.Error("empty")
	}
}
