package probe

// strCache hands out one Go string per distinct short byte string, so the
// paths a busy host opens again and again (libraries, /etc files, /proc
// entries) are not a heap allocation per event. Strings are immutable, so
// consumers may keep them. It is bounded in bytes and starts afresh when
// full; strings longer than strCacheMaxLen are always copied.
type strCache struct {
	m     map[string]string
	bytes int
}

const (
	strCacheMaxLen   = 256       // longer strings are not cached
	strCacheMaxBytes = 512 << 10 // cached string bytes before the cache is cleared
)

// get returns b as a string, from the cache when it is there.
func (c *strCache) get(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > strCacheMaxLen {
		return string(b)
	}
	if s, ok := c.m[string(b)]; ok { // no allocation: the compiler looks b up in place
		return s
	}
	if c.m == nil || c.bytes+len(b) > strCacheMaxBytes {
		c.m, c.bytes = make(map[string]string, 1024), 0
	}
	s := string(b)
	c.m[s] = s
	c.bytes += len(b)
	return s
}
