package compile

import (
	"slices"
	"testing"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

func names(s event.TypeSet) []string {
	var out []string
	for _, t := range s.Types() {
		out = append(out, t.String())
	}
	return out
}

// TestEventTypes checks libs' ppm_codes algorithm on conditions: AND
// intersects, OR unites, NOT is pushed down with De Morgan, other checks
// are neutral, evt.num = 0 is empty.
func TestEventTypes(t *testing.T) {
	all := AllTypes()
	allBut := func(ts ...event.Type) []string {
		s := all
		for _, x := range ts {
			s[x/64] &^= 1 << (x % 64)
		}
		return names(s)
	}
	tests := []struct {
		cond string
		want []string
	}{
		{"evt.type = openat", []string{"openat"}},
		{"evt.type in (open, openat)", []string{"open", "openat"}},
		{"evt.type != openat", allBut(event.TypeOpenat)},
		{"not evt.type = openat", allBut(event.TypeOpenat)},
		{"not evt.type in (open, openat)", allBut(event.TypeOpen, event.TypeOpenat)},
		{"evt.type = openat and proc.name = x", []string{"openat"}},
		{"evt.type = openat or proc.name = x", names(all)},
		{"evt.type = openat or evt.type = execve", []string{"execve", "openat"}},
		{"not (evt.type = openat or evt.type = execve)", allBut(event.TypeOpenat, event.TypeExecve)},
		{"evt.type = openat and evt.type = execve", nil},
		{"evt.type = openat and not evt.type = openat", nil},
		{"evt.num = 0", nil},
		{"evt.num = 0 and evt.type = openat", nil},
		{"not evt.num = 0", names(all)},
		{"proc.name = x", names(all)},
		{"(evt.type = open or evt.type = openat) and not proc.name = x", []string{"open", "openat"}},
		{"not (evt.type = openat and proc.name = x)", names(all)},
		{"evt.type in (execve, no_such_syscall)", []string{"execve"}},
		{"evt.type startswith open", names(all)},
		{"evt.type = connect and (fd.typechar = 4 or fd.typechar = 6)", []string{"connect"}},
	}
	for _, tc := range tests {
		r, err := compileOne(t, tc.cond, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.cond, err)
		}
		if got := names(r.Types); !slices.Equal(got, tc.want) {
			t.Errorf("%s:\n got %v\nwant %v", tc.cond, got, tc.want)
		}
	}
}
