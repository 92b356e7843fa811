package glob

import "testing"

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		pat, s string
		fold   bool
		want   bool
	}{
		{"/home/*/.ssh/*", "/home/alice/.ssh/id_rsa", false, true}, // '*' crosses '/'
		{"*", "a/b/c", false, true},
		{"/home/?lice/*", "/home/alice/x", false, true},
		{"/home/[a-c]lice/*", "/home/alice/x", false, true},
		{"/home/[!a]lice/*", "/home/alice/x", false, false},
		{"/HOME/*", "/home/x", false, false},
		{"/HOME/*", "/home/x", true, true},
		{`a\*b`, "a*b", false, true},
		{`a\*b`, "axb", false, false},
		{"[", "[", false, true}, // an unterminated class is literal
		{"", "", false, true},
		{"", "x", false, false},
	} {
		if got := Match(c.pat, c.s, c.fold); got != c.want {
			t.Errorf("Match(%q, %q, %v) = %v, want %v", c.pat, c.s, c.fold, got, c.want)
		}
	}
}
