package fields

import (
	"bufio"
	"errors"
	goflag "flag"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

var update = goflag.Bool("update", false, "rewrite docs/rules-fields.md from the table")

// splitField splits "proc.aname[2]" into name and argument.
func splitField(s string) (string, string) {
	if i := strings.IndexByte(s, '['); i > 0 && strings.HasSuffix(s, "]") {
		return s[:i], s[i+1 : len(s)-1]
	}
	return s, ""
}

func TestUpstreamFieldsResolve(t *testing.T) {
	fh, err := os.Open("testdata/upstream_fields.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	tb := NewTable()
	sc := bufio.NewScanner(fh)
	n := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		n++
		name, arg := splitField(line)
		if _, err := tb.Resolve(name, arg); err != nil {
			t.Errorf("upstream field %s: %v", line, err)
		}
	}
	if n < 90 {
		t.Fatalf("only %d fields in testdata/upstream_fields.txt", n)
	}
}

func TestRenderFlags(t *testing.T) {
	tests := []struct {
		tbl  event.FlagTable
		v    uint64
		want string
	}{
		{event.FlagsOpen, unix.O_RDONLY, "O_RDONLY"},
		{event.FlagsOpen, unix.O_RDONLY | unix.O_CLOEXEC, "O_RDONLY|O_CLOEXEC"},
		{event.FlagsOpen, unix.O_WRONLY | unix.O_CREAT | unix.O_TRUNC, "O_WRONLY|O_CREAT|O_TRUNC"},
		{event.FlagsOpen, unix.O_RDWR | unix.O_APPEND, "O_RDWR|O_APPEND"},
		{event.FlagsOpen, unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW, "O_RDONLY|O_DIRECTORY|O_NOFOLLOW"},
		{event.FlagsExecve, ExeWritable | ExeLowerLayer, "EXE_WRITABLE|EXE_LOWER_LAYER"},
		{event.FlagsExecve, ExeFromMemfd, "EXE_FROM_MEMFD"},
		{event.FlagsExecve, 0, ""},
		{event.FlagsPtraceRequest, 16, "PTRACE_ATTACH"},
		{event.FlagsPtraceRequest, 0, "PTRACE_TRACEME"},
		{event.FlagsPtraceRequest, 0x4206, "PTRACE_SEIZE"},
		{event.FlagsPtraceRequest, 999, "999"},
		{event.FlagsSocketFamily, 2, "AF_INET"},
		{event.FlagsSocketFamily, 10, "AF_INET6"},
		{event.FlagsSocketFamily, 1, "AF_UNIX"},
		{event.FlagsSocketType, unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC, "SOCK_NONBLOCK|SOCK_CLOEXEC"},
		{event.FlagsCloneNs, 0x40000000, "CLONE_NEWNET"},
		{event.FlagsCloneNs, 0x20000 | 0x20000000, "CLONE_NEWNS|CLONE_NEWPID"},
		{event.FlagsRenameat2, 2, "RENAME_EXCHANGE"},
		{event.FlagsLinkat, unix.AT_SYMLINK_FOLLOW, "AT_SYMLINK_FOLLOW"},
		{event.FlagsUnlinkat, unix.AT_REMOVEDIR, "AT_REMOVEDIR"},
		{event.FlagsFinitModule, 1 | 2, "MODULE_INIT_IGNORE_MODVERSIONS|MODULE_INIT_IGNORE_VERMAGIC"},
		{event.FlagsBpfCmd, 5, "BPF_PROG_LOAD"},
		{event.FlagsBpfCmd, 0, "BPF_MAP_CREATE"},
		{event.FlagsMemfdCreate, 1 | 2, "MFD_CLOEXEC|MFD_ALLOW_SEALING"},
		{event.FlagsMmapProt, 0, "PROT_NONE"},
		{event.FlagsMmapProt, 1 | 4, "PROT_READ|PROT_EXEC"},
		{event.FlagsFcntl, 1030, "F_DUPFD_CLOEXEC"},
		{event.FlagsMode, 0o755, "S_IXOTH|S_IROTH|S_IXGRP|S_IRGRP|S_IXUSR|S_IWUSR|S_IRUSR"},
		{event.FlagsNone, 7, "7"},
	}
	for _, tc := range tests {
		if got := RenderFlags(tc.tbl, tc.v); got != tc.want {
			t.Errorf("RenderFlags(%d, %#x) = %q, want %q", tc.tbl, tc.v, got, tc.want)
		}
	}
}

func TestErrnoName(t *testing.T) {
	tests := []struct {
		errno int64
		want  string
	}{
		{int64(unix.ENOENT), "ENOENT"},
		{int64(unix.EACCES), "EACCES"},
		{int64(unix.EPERM), "EPERM"},
		{int64(unix.ECONNREFUSED), "ECONNREFUSED"},
		{int64(unix.EINPROGRESS), "EINPROGRESS"},
		{4000, "-4000"},
	}
	for _, tc := range tests {
		if got := ErrnoName(tc.errno); got != tc.want {
			t.Errorf("ErrnoName(%d) = %q, want %q", tc.errno, got, tc.want)
		}
	}
}

func TestCapNames(t *testing.T) {
	if got, want := CapNames(1<<21|1<<19), "CAP_SYS_PTRACE CAP_SYS_ADMIN"; got != want {
		t.Errorf("CapNames = %q, want %q", got, want)
	}
	if got := CapNames(0); got != "" {
		t.Errorf("CapNames(0) = %q, want empty", got)
	}
}

// TestEveryFieldExtracts runs every field (with an argument where one is
// required) over synthetic events: no panics, and Render/JSON agree on
// availability.
func TestEveryFieldExtracts(t *testing.T) {
	tb := NewTable()
	evs := []*event.Event{world(), sockEvent(false), sockEvent(true), {Type: event.TypeProcexit}}
	for _, info := range tb.Fields() {
		arg := ""
		if strings.HasPrefix(info.Arg, "[N]") {
			arg = "1"
		} else if info.Arg != "" && !strings.Contains(info.Arg, "optional") {
			arg = "name"
		}
		f, err := tb.Resolve(info.Name, arg)
		if err != nil {
			t.Errorf("%s: %v", info.Name, err)
			continue
		}
		if info.Desc == "" {
			t.Errorf("%s has no description", info.Name)
		}
		for _, ev := range evs {
			vals := f.Extract(ev, nil)
			for _, v := range vals {
				if v.Kind != f.Kind {
					t.Errorf("%s on %s: value kind %v, field kind %v", info.Name, ev.Type, v.Kind, f.Kind)
				}
			}
			if (len(vals) == 0) != (f.JSON(vals) == nil) || (len(vals) == 0) != (f.Render(vals) == "<NA>") {
				t.Errorf("%s on %s: Render/JSON disagree on availability", info.Name, ev.Type)
			}
		}
	}
}

func FuzzResolve(f *testing.F) {
	for _, s := range []string{"proc.aname", "evt.arg.flags", "fd.name", "k8s.pod.label.app", "evt.arg", "proc.env", "x.y.z", ".", ""} {
		f.Add(s, "")
		f.Add(s, "2")
	}
	tb := NewTable()
	ev := world()
	f.Fuzz(func(t *testing.T, name, arg string) {
		fl, err := tb.Resolve(name, arg)
		if err != nil {
			if !errors.Is(err, ErrUnknownField) && !errors.Is(err, ErrFieldArgument) {
				t.Fatalf("Resolve(%q, %q): unexpected error class: %v", name, arg, err)
			}
			return
		}
		_ = fl.Render(fl.Extract(ev, nil))
	})
}

func BenchmarkExtract(b *testing.B) {
	tb := NewTable()
	ev := world()
	for _, name := range []string{"evt.type", "fd.name", "proc.name", "evt.is_open_read", "fd.typechar", "proc.aname", "container.id", "user.name"} {
		f, err := tb.Resolve(name, "")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			dst := make([]Value, 0, 8)
			b.ReportAllocs()
			for b.Loop() {
				dst = f.Extract(ev, dst[:0])
			}
			if testing.AllocsPerRun(100, func() { dst = f.Extract(ev, dst[:0]) }) != 0 {
				b.Errorf("%s allocates", name)
			}
		})
	}
}

// TestHotFieldsDoNotAllocate pins the zero-allocation promise for the
// fields on the rule engine's hot path.
func TestHotFieldsDoNotAllocate(t *testing.T) {
	tb := NewTable()
	evs := []*event.Event{world(), sockEvent(false)}
	for _, name := range []string{"evt.type", "evt.num", "fd.name", "fd.directory", "fd.filename", "proc.name", "proc.pname", "proc.aname", "proc.exepath", "evt.is_open_read", "evt.is_open_write", "fd.typechar", "fd.type", "fd.sip", "fd.net", "fd.sport", "container.id", "user.name", "evt.arg.name", "evt.res", "evt.rawres"} {
		arg := ""
		f, err := tb.Resolve(name, arg)
		if err != nil {
			t.Fatal(err)
		}
		dst := make([]Value, 0, 16)
		for _, ev := range evs {
			if n := testing.AllocsPerRun(50, func() { dst = f.Extract(ev, dst[:0]) }); n != 0 {
				t.Errorf("%s on %s: %v allocs per Extract, want 0", name, ev.Type, n)
			}
		}
	}
}

// TestDocs keeps docs/rules-fields.md equal to the table; run with -update
// to rewrite it.
func TestDocs(t *testing.T) {
	const path = "../../../../docs/rules-fields.md"
	want := NewTable().Markdown()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestDocs -update)", err)
	}
	if string(got) != want {
		t.Errorf("%s is out of date: run go test ./sensor/internal/rules/fields -run TestDocs -update", path)
	}
}
