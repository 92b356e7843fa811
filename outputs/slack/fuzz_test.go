package slack

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzTrim checks that trimming keeps valid UTF-8 valid, never exceeds the
// limit in runes, and leaves short strings untouched.
func FuzzTrim(f *testing.F) {
	for _, seed := range []string{"", "short", strings.Repeat("é", 20), "a\u2026b", strings.Repeat("x", 100)} {
		f.Add(seed, uint8(10))
	}
	f.Fuzz(func(t *testing.T, s string, n uint8) {
		limit := int(n%200) + 1
		got := trim(s, limit)
		runes := utf8.RuneCountInString(s)
		if runes <= limit {
			if got != s {
				t.Fatalf("trim(%q, %d) changed a short string to %q", s, limit, got)
			}
			return
		}
		if utf8.RuneCountInString(got) != limit || !strings.HasSuffix(got, "…") {
			t.Fatalf("trim(%q, %d) = %q", s, limit, got)
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("trim made invalid UTF-8: %q", got)
		}
	})
}
