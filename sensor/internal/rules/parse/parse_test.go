package parse

import "testing"

func TestParseRoundTrip(t *testing.T) {
	cases := []struct{ in, want string }{
		{"a or b and c", "(a or (b and c))"},
		{"not a and b", "(not a and b)"},
		{"not not a", "not not a"},
		{"not(a)", "not a"},
		{"a and(b or c)", "(a and (b or c))"},
		{"evt.type=openat", "evt.type = openat"},
		{"proc.name in (a, 'b c', \"d\")", `proc.name in (a, "b c", d)`},
		{"proc.name in()", "proc.name in ()"},
		{"proc.name in(a,b)", "proc.name in (a, b)"},
		{"proc.aname[2]=sshd", "proc.aname[2] = sshd"},
		{`proc.env["HOME"] exists`, "proc.env[HOME] exists"},
		{"evt.arg.flags contains O_WRONLY", "evt.arg.flags contains O_WRONLY"},
		{"proc.duration <= 5000000000", "proc.duration <= 5000000000"},
		{"fd.num > 0x10", "fd.num > 0x10"},
		{"proc.name intersects (a)", "proc.name intersects (a)"},
		{"fd.name pmatch (/tmp)", "fd.name pmatch (/tmp)"},
		{"proc.name = runc:[0:PARENT]", "proc.name = runc:[0:PARENT]"},
		{"proc.cmdline contains anyof (a, b)", "proc.cmdline contains anyof (a, b)"},
		{"tolower(proc.name) = val(proc.pname)", "tolower(proc.name) = val(proc.pname)"},
		{"proc.name = tolower(proc.pname)", "proc.name = tolower(proc.pname)"},
		{"len(proc.args) > 3", "len(proc.args) > 3"},
		{"proc.name in foo", "proc.name in (foo)"},
		{`proc.cmdline contains " -e"`, `proc.cmdline contains " -e"`},
		{`proc.name="a\x41\t"`, `proc.name = "aA\t"`},
		{"a\n  and\tb", "(a and b)"},
		{"(a)", "a"},
	}
	for _, c := range cases {
		n, err := Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if got := String(n); got != c.want {
			t.Errorf("Parse(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", "offset 0: empty condition"},
		{"a and", "offset 5: expected a blank or '(' after 'and'"},
		{"a and ", "offset 6: expected a condition after 'and'"},
		{"a b", "offset 2: unexpected token after 'a', expecting 'or', 'and'"},
		{"proc.name", "offset 9: expected an operator after field 'proc.name'"},
		{"proc.name = ", "offset 12: expected a value after '='"},
		{"proc.name in (a", "offset 15: expected ',' or ')' in list"},
		{"(a", "offset 2: expected ')' or a boolean operator"},
		{`proc.name = "abc`, "offset 12: unterminated quoted string"},
		{`proc.name = "a\qb"`, `offset 14: invalid escape sequence '\q'`},
		{"proc.pid < abc", "offset 11: expected a number after '<'"},
		{"proc.aname[2 = x", "offset 12: expected ']' after the field argument"},
		{"proc.name contains(x)", "offset 10: expected an operator after field 'proc.name'"},
		{"= x", "offset 0: expected a field, a macro name, 'not' or '('"},
		{"AND x", "offset 4: unexpected token after 'AND', expecting 'or', 'and'"},
	}
	for _, c := range cases {
		_, err := Parse(c.in)
		if err == nil || err.Error() != c.want {
			t.Errorf("Parse(%q) error = %v, want %s", c.in, err, c.want)
		}
	}
}

func TestDepthLimit(t *testing.T) {
	s := ""
	for range MaxDepth + 1 {
		s += "("
	}
	if _, err := Parse(s + "a"); err == nil {
		t.Fatal("no error for deep nesting")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"a or b", "proc.name in (a, b)", `x.y = "\x41"`, "not(a and b)", "tolower(a.b) = val(c.d)", "((((a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err == nil {
			if _, err := Parse(String(n)); err != nil {
				t.Fatalf("reparse of %q (%q): %v", s, String(n), err)
			}
		}
	})
}
