package spec

import (
	"strings"
	"testing"
)

func TestExceptionExpand(t *testing.T) {
	tests := []struct {
		e    Exception
		want string
	}{
		{Exception{Name: "n", Fields: []string{"proc.name"}, Comps: []string{"in"}, Single: true,
			Values: [][]ExceptionValue{{{Scalar: "a"}, {Scalar: "b c"}}}}, `(proc.name in (a, "b c"))`},
		{Exception{Name: "t", Fields: []string{"proc.name", "fd.name"}, Comps: []string{"=", "startswith"},
			Values: [][]ExceptionValue{{{Scalar: "cat"}, {Scalar: "/etc/"}}, {{Scalar: "vi"}, {Scalar: "/tmp"}}}},
			`( ( proc.name = cat and fd.name startswith /etc/ ) or ( proc.name = vi and fd.name startswith /tmp ) )`},
		{Exception{Name: "l", Fields: []string{"proc.name", "fd.filename"}, Comps: []string{"=", "in"},
			Values: [][]ExceptionValue{{{Scalar: "vim"}, {List: []string{"a", "b"}, IsList: true}}}},
			`( ( proc.name = vim and fd.filename in (a, b) ) )`},
		{Exception{Name: "p", Fields: []string{"fd.name"}, Comps: []string{"pmatch"},
			Values: [][]ExceptionValue{{{Scalar: "/var/lib"}}}}, `( ( fd.name pmatch (/var/lib) ) )`},
		{Exception{Name: "empty", Fields: []string{"proc.name"}, Comps: []string{"="}}, ``},
	}
	for _, tc := range tests {
		if got := tc.e.Expand(); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.e.Name, got, tc.want)
		}
	}
}

func TestEngineVersions(t *testing.T) {
	tests := []struct {
		v  string
		ok bool
	}{
		{"0.57.0", true}, {"0.26.0", true}, {"15", true}, {"57", true}, {"58", false}, {"0.58.0", false},
		{"1.0.0", false}, {"0.57.0-rc1", true}, {"x", false},
	}
	for _, tc := range tests {
		_, err := Load([]Source{{Name: "v.yaml", Data: []byte("- required_engine_version: " + tc.v + "\n")}})
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.v, err, tc.ok)
		}
	}
}

// TestTextErrorf maps offsets in block scalars back to source lines.
func TestTextErrorf(t *testing.T) {
	src := "- rule: R\n  condition: >\n    evt.type = execve\n    and proc.name = x\n\n    and bad\n  output: o\n"
	set, err := Load([]Source{{Name: "f.yaml", Data: []byte(src + "  desc: d\n  priority: INFO\n")}})
	if err != nil {
		t.Fatal(err)
	}
	c := set.Rules[0].Condition
	if c.S != "evt.type = execve and proc.name = x\nand bad\n" || !c.Folded {
		t.Fatalf("condition %q folded %v", c.S, c.Folded)
	}
	tests := []struct {
		token string
		want  string
	}{
		{"execve", "f.yaml:3:16: x\n        evt.type = execve\n                   ^"},
		{"proc.name", "f.yaml:4:9: x\n        and proc.name = x\n            ^"},
		{"bad", "f.yaml:6:9: x\n        and bad\n            ^"},
	}
	for _, tc := range tests {
		if got := c.Errorf(strings.Index(c.S, tc.token), "x").Error(); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.token, got, tc.want)
		}
	}
}
