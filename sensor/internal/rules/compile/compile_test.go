package compile

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/lookout-sec/lookout/router/api/glob"
	"github.com/lookout-sec/lookout/sensor/internal/event"
	"github.com/lookout-sec/lookout/sensor/internal/rules/fields"
	"github.com/lookout-sec/lookout/sensor/internal/rules/spec"
)

var table = fields.NewTable()

// compileOne compiles cond as the only rule, with the given macros and
// lists defined before it.
func compileOne(t *testing.T, cond string, lists map[string][]string, macros map[string]string) (*Rule, error) {
	t.Helper()
	set := &spec.Set{}
	i := 0
	for name, items := range lists {
		i++
		set.Lists = append(set.Lists, &spec.List{Name: name, Items: items, Index: i, Visibility: i})
	}
	for name, c := range macros {
		i++
		set.Macros = append(set.Macros, &spec.Macro{Name: name, Condition: spec.Text{S: c, Inline: true,
			Pos: spec.Pos{File: "t.yaml", Line: 1, Col: 1}}, Index: i, Visibility: i})
	}
	set.Rules = []*spec.Rule{{Name: "r", Enabled: true, Condition: spec.Text{S: cond, Inline: true,
		Pos: spec.Pos{File: "t.yaml", Line: 3, Col: 14}}, Pos: spec.Pos{File: "t.yaml", Line: 2, Col: 3}}}
	res, err := Compile(set, FromTable(table))
	if err != nil {
		return nil, err
	}
	return res.Rules[0], nil
}

func eval(t *testing.T, cond string, ev *event.Event) bool {
	t.Helper()
	r, err := compileOne(t, cond, nil, nil)
	if err != nil {
		t.Fatalf("compile %q: %v", cond, err)
	}
	return r.Pred(ev, NewScratch(r.Slots))
}

func testProc() *event.Process {
	systemd := &event.Process{PID: 1, Name: "systemd", Exe: "/usr/lib/systemd/systemd", ExePath: "/usr/lib/systemd/systemd"}
	sshd := &event.Process{PID: 800, PPID: 1, Name: "sshd", Exe: "/usr/sbin/sshd", ExePath: "/usr/sbin/sshd", Parent: systemd}
	return &event.Process{PID: 1000, TID: 1000, PPID: 800, Name: "Bash", Exe: "-bash", ExePath: "/usr/bin/bash",
		Args: []string{"-c", "echo aGVsbG8="}, Cwd: "/root/", TTY: 34816, LoginUID: -1,
		User: &event.User{Name: "root"}, Parent: sshd, StartTS: 1_000_000_000}
}

func openEv() *event.Event {
	return &event.Event{Type: event.TypeOpenat, TS: 6_000_000_000, Res: 3, Proc: testProc(),
		Args: []event.Arg{{Name: "fd", Kind: event.ArgFD, Int: 3}, {Name: "dirfd", Kind: event.ArgFD, Int: -100},
			{Name: "name", Kind: event.ArgString, Str: "/home/alice/.ssh/keys/id_rsa"},
			{Name: "flags", Kind: event.ArgFlags, Flags: event.FlagsOpen, Uint: 0o1101},
			{Name: "mode", Kind: event.ArgUint},
			{Name: "data", Kind: event.ArgBytes, Bytes: []byte{0xca, 0xfe, 0xba, 0xbe, 0x01}}},
		FD: &event.FD{Num: 3, Type: event.FDFile, Name: "/home/alice/.ssh/keys/id_rsa", NameRaw: "keys/id_rsa"}}
}

func connEv() *event.Event {
	src, dst := netip.MustParseAddrPort("10.1.2.3:40000"), netip.MustParseAddrPort("93.184.216.34:443")
	return &event.Event{Type: event.TypeConnect, TS: 6_000_000_000, Proc: testProc(),
		FD: &event.FD{Num: 4, Type: event.FDIPv4, Family: event.FamilyInet, L4Proto: event.L4TCP, Src: src, Dst: dst,
			Name: src.String() + "->" + dst.String()}}
}

// TestOperators checks every operator per type against a real event,
// including the edge cases Falco defines.
func TestOperators(t *testing.T) {
	open, conn := openEv(), connEv()
	noProc := openEv()
	noProc.Proc = nil
	b64ev, b64bad := openEv(), openEv()
	b64ev.Proc.Name = "aGVsbG8="
	b64bad.Proc.Name = "not base64!"
	tests := []struct {
		cond string
		ev   *event.Event
		want bool
	}{
		// strings
		{"proc.name = Bash", open, true},
		{"proc.name == bash", open, false},
		{"proc.name != bash", open, true},
		{"proc.name contains as", open, true},
		{"proc.name contains AS", open, false},
		{"proc.name icontains AS", open, true},
		{"proc.name startswith Ba", open, true},
		{"proc.name endswith sh", open, true},
		{"proc.name endswith Ba", open, false},
		{"fd.name glob '/home/*/.ssh/*'", open, true}, // '*' crosses '/'
		{"fd.name glob '/home/?lice/*'", open, true},
		{"fd.name glob '/home/[a-c]lice/*'", open, true},
		{"fd.name glob '/home/[!a]lice/*'", open, false},
		{"fd.name glob '/HOME/*'", open, false},
		{"fd.name iglob '/HOME/*'", open, true},
		{"proc.name regex 'Ba.h'", open, true},
		{"proc.name regex 'Ba'", open, false}, // full match
		{"proc.name regex 'a.h'", open, false},
		{"proc.name in (sh, Bash)", open, true},
		{"proc.name in (sh, bash)", open, false},
		{"proc.name intersects (Bash)", open, true},
		{"proc.name pmatch (/x)", open, false},
		{"fd.name pmatch (/home/alice)", open, true},
		{"fd.name pmatch (/home/ali)", open, false},
		{"fd.name pmatch (/tmp, /home/*/.ssh)", open, true},
		{"fd.name pmatch (/home/*/.ss)", open, false},
		{"fd.name exists", open, true},
		{"fd.name exists", &event.Event{Type: event.TypeOpenat}, false},
		{"fd.nameraw = keys/id_rsa", open, true},
		// missing field: every comparison false, != included; not is true
		{"proc.name = Bash", noProc, false},
		{"proc.name != Bash", noProc, false},
		{"proc.name != xyz", noProc, false},
		{"not proc.name = Bash", noProc, true},
		{"proc.name exists", noProc, false},
		{"proc.name in (Bash)", noProc, false},
		{"proc.pname != bash", &event.Event{Type: event.TypeOpenat, Proc: &event.Process{Name: "init"}}, false},
		// multi-valued: any ancestor
		{"proc.aname = systemd", open, true},
		{"proc.aname in (init, sshd)", open, true},
		{"proc.aname in (init)", open, false},
		{"proc.aname[1] = sshd", open, true},
		{"proc.aname[2] = sshd", open, false},
		{"proc.aname[0] = Bash", open, true},
		{"proc.aname intersects (sshd, x)", open, true},
		{"proc.apid[1] = 800", open, true},
		{"proc.apid = 1", open, true},
		{"proc.apid in (5, 800)", open, true},
		{"proc.apid = 1000", open, false},
		// numbers
		{"fd.num = 3", open, true},
		{"fd.num >= 0", open, true},
		{"fd.num < 3", open, false},
		{"fd.num in (1, 2, 3)", open, true},
		{"fd.num = 0x3", open, true},
		{"evt.rawres > 2", open, true},
		{"proc.tty != 0", open, true},
		{"proc.tty = 34816", open, true},
		{"proc.duration <= 5000000000", open, true},
		{"proc.duration > 5000000000", open, false},
		// bools
		{"evt.is_open_write = true", open, true},
		{"evt.is_open_read = true", open, false},
		{"evt.is_open_read = false", open, true},
		{"evt.is_open_write = true", conn, false}, // not an open: missing
		{"evt.is_open_write != true", conn, false},
		// flags rendered as text
		{"evt.arg.flags contains O_TRUNC", open, true},
		{"evt.arg.flags contains O_APPEND", open, false},
		{"evt.arg.flags = O_WRONLY|O_CREAT|O_TRUNC", open, true},
		{"evt.arg[3] contains O_CREAT", open, true},
		// ip / net / port
		{"fd.sip = 93.184.216.34", conn, true},
		{"fd.sip = 93.184.216.35", conn, false},
		{"fd.sip != 93.184.216.35", conn, true},
		{"fd.cip = 10.1.2.3", conn, true},
		{"fd.ip = 10.1.2.3", conn, true},
		{"fd.ip != \"0.0.0.0\"", conn, true},
		{"fd.net = \"10.0.0.0/8\"", conn, true},
		{"fd.net != \"127.0.0.0/8\"", conn, true},
		{"fd.snet in (\"10.0.0.0/8\", \"172.16.0.0/12\")", conn, false},
		{"fd.snet in (\"93.184.0.0/16\")", conn, true},
		{"fd.cnet = \"10.1.0.0/16\"", conn, true},
		{"fd.net in (\"192.168.0.0/16\", \"93.184.216.0/24\")", conn, true},
		{"fd.sip in (1.1.1.1, 93.184.216.34)", conn, true},
		{"fd.sport = 443", conn, true},
		{"fd.sport in (80, 443)", conn, true},
		{"fd.sport > 1024", conn, false},
		{"fd.port = 40000", conn, true},
		{"fd.l4proto = tcp", conn, true},
		{"fd.typechar = 4", conn, true},
		{"fd.sip = 1.2.3.4", open, false}, // not a socket: missing
		{"fd.sip != 1.2.3.4", open, false},
		// bytes
		{"evt.buffer bcontains CAFEBABE", open, true},
		{"evt.buffer bcontains cafeba", open, true},
		{"evt.buffer bcontains BEEF", open, false},
		{"evt.buffer bstartswith CAFE", open, true},
		{"evt.buffer bstartswith FEBA", open, false},
		// modifiers
		{"proc.args contains oneof (-c, zzz)", open, true},
		{"proc.args contains oneof (-c, echo)", open, false},
		{"proc.args contains anyof (zzz, echo)", open, true},
		{"proc.args contains allof (-c, echo)", open, true},
		{"proc.args contains allof (-c, zzz)", open, false},
		// transformers and val()
		{"tolower(proc.name) = bash", open, true},
		{"toupper(proc.name) = BASH", open, true},
		{"basename(proc.exepath) = bash", open, true},
		{"basename(fd.name) = id_rsa", open, true},
		{"len(proc.name) = 4", open, true},
		{"len(proc.name) > 4", open, false},
		{"b64(proc.name) = hello", b64ev, true},
		{"b64(proc.name) != x", b64bad, false}, // not base64: unavailable
		{"proc.name = val(proc.aname[0])", open, true},
		{"proc.name = val(proc.pname)", open, false},
		{"proc.pname = val(proc.aname[1])", open, true},
		{"tolower(proc.name) = val(proc.name)", open, false},
		// a transformer must not change the shared values of its field
		{"tolower(proc.name) = bash and proc.name = Bash", open, true},
		{"len(proc.aname) = 2", open, true},
		// boolean structure and evt.type
		{"evt.type = openat and not proc.name = sh", open, true},
		{"evt.type in (open, openat2)", open, false},
		{"evt.type != openat or fd.num = 3", open, true},
		{"not (evt.type = connect or fd.num = 4)", open, true},
		{"evt.dir = <", open, true},
		{"evt.dir = >", open, false},
	}
	for _, tc := range tests {
		if got := eval(t, tc.cond, tc.ev); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.cond, got, tc.want)
		}
	}
}

// TestGlob checks fnmatch(3) without FNM_PATHNAME.
func TestGlob(t *testing.T) {
	tests := []struct {
		pat, s string
		fold   bool
		want   bool
	}{
		{"*", "", false, true},
		{"*", "/a/b", false, true},
		{"/home/*/.ssh/*", "/home/a/b/.ssh/c/d", false, true},
		{"*../*../*", "/x/../../etc", false, true},
		{"*../*../*", "/x/../etc", false, false},
		{"a?c", "abc", false, true},
		{"a?c", "ac", false, false},
		{"[abc]x", "bx", false, true},
		{"[^abc]x", "bx", false, false},
		{"[a-]x", "-x", false, true},
		{`\*x`, "*x", false, true},
		{`\*x`, "ax", false, false},
		{"[", "[", false, true},
		{"ABC", "abc", true, true},
		{"[A-C]", "b", true, true},
	}
	for _, tc := range tests {
		if got := glob.Match(tc.pat, tc.s, tc.fold); got != tc.want {
			t.Errorf("Glob(%q, %q, %v) = %v, want %v", tc.pat, tc.s, tc.fold, got, tc.want)
		}
	}
}

// TestCompileErrors checks the exact messages of condition errors: the
// position of the offending check, the line and a caret under it.
func TestCompileErrors(t *testing.T) {
	macros := map[string]string{"bad_macro": "evt.type = open and fd.nme = x"}
	tests := []struct {
		cond string
		want string
	}{
		{"evt.type = open and proc.nam = x",
			"t.yaml:3:34: rule 'r': field 'proc.nam': unknown field \"proc.nam\"\n    evt.type = open and proc.nam = x\n                        ^"},
		{"proc.name bcontains 00",
			"t.yaml:3:14: rule 'r': operator 'bcontains' is not supported by field 'proc.name' of type CHARBUF\n    proc.name bcontains 00\n    ^"},
		{"evt.type = open and fd.num contains 3",
			"t.yaml:3:34: rule 'r': operator 'contains' is not supported by field 'fd.num' of type INT64\n    evt.type = open and fd.num contains 3\n                        ^"},
		{"fd.num = abc",
			"t.yaml:3:14: rule 'r': field 'fd.num': invalid INT64 value 'abc': strconv.ParseInt: parsing \"abc\": invalid syntax\n    fd.num = abc\n    ^"},
		{"fd.sip = 999.1.1.1",
			"t.yaml:3:14: rule 'r': field 'fd.sip': invalid IPADDR value '999.1.1.1': ParseAddr(\"999.1.1.1\"): IPv4 field has value >255\n    fd.sip = 999.1.1.1\n    ^"},
		{"evt.is_open_read = yes",
			"t.yaml:3:14: rule 'r': field 'evt.is_open_read': invalid BOOL value 'yes': expected true or false\n    evt.is_open_read = yes\n    ^"},
		{"proc.name regex '('",
			"t.yaml:3:14: rule 'r': field 'proc.name': invalid regular expression '(': error parsing regexp: missing closing ): `^(?:()$`\n    proc.name regex '('\n    ^"},
		{"proc.name = x and no_such_macro",
			"t.yaml:3:32: rule 'r': Undefined macro 'no_such_macro' used in filter.\n    proc.name = x and no_such_macro\n                      ^"},
		{"proc.aname[x] = a",
			"t.yaml:3:14: rule 'r': field 'proc.aname[x]': field proc.aname[x]: bad field argument: expected an ancestor index between 0 and 64, got \"x\"\n    proc.aname[x] = a\n    ^"},
		{"proc.name = val(fd.num)",
			"t.yaml:3:14: rule 'r': cannot compare field 'proc.name' (CHARBUF) with 'fd.num' (INT64)\n    proc.name = val(fd.num)\n    ^"},
		{"proc.name =",
			"t.yaml:3:25: rule 'r': expected a value after '='\n    proc.name =\n               ^"},
		{"proc.name = x and bad_macro",
			"t.yaml:1:21: rule 'r': field 'fd.nme': unknown field \"fd.nme\"\n    evt.type = open and fd.nme = x\n                        ^"},
	}
	for _, tc := range tests {
		_, err := compileOne(t, tc.cond, nil, macros)
		if err == nil {
			t.Errorf("%s: no error", tc.cond)
			continue
		}
		if got := err.Error(); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.cond, got, tc.want)
		}
	}
}

// TestExpansionBudget checks that exponential macro expansion is refused.
func TestExpansionBudget(t *testing.T) {
	set := &spec.Set{}
	set.Macros = append(set.Macros, &spec.Macro{Name: "m0", Condition: spec.Text{S: "proc.name = x"}, Index: 1, Visibility: 1})
	for i := 1; i <= 30; i++ {
		p := "m" + string(rune('0'+(i-1)%10)) + string(rune('a'+(i-1)/10))
		if i == 1 {
			p = "m0"
		}
		name := "m" + string(rune('0'+i%10)) + string(rune('a'+i/10))
		set.Macros = append(set.Macros, &spec.Macro{Name: name, Condition: spec.Text{S: p + " or " + p}, Index: i + 1, Visibility: i + 1})
	}
	last := set.Macros[len(set.Macros)-1].Name
	set.Rules = []*spec.Rule{{Name: "r", Enabled: true, Condition: spec.Text{S: last, Inline: true, Pos: spec.Pos{File: "t.yaml", Line: 1, Col: 1}}}}
	_, err := Compile(set, FromTable(table))
	if err == nil || !strings.Contains(err.Error(), "condition has more than 100000 nodes after macro expansion") {
		t.Fatalf("got %v", err)
	}
}
