package fields

import (
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// flag is one named value of a flag or enum table.
type flag struct {
	v    uint64
	name string
}

// flagTable renders one event.FlagTable: a bitmask (names of the set flags
// joined with |) or an enum (the one matching name).
type flagTable struct {
	enum  bool
	flags []flag
	zero  string // rendering of 0 for a bitmask ("" if none)
}

// Execve exit flags (event.Arg "flags" of execve, event.Process.ExeFlags),
// with Falco's values.
const (
	ExeWritable   = 1 << 0
	ExeUpperLayer = 1 << 1
	ExeFromMemfd  = 1 << 2
	ExeLowerLayer = 1 << 3
)

var flagTables = map[event.FlagTable]flagTable{
	// Open flags are the kernel's O_* values; the access mode is rendered
	// first, as O_RDONLY, O_WRONLY or O_RDWR.
	event.FlagsOpen:  {flags: openFlags},
	event.FlagsCreat: {flags: openFlags},
	event.FlagsOpenResolve: {flags: []flag{{1, "RESOLVE_NO_XDEV"}, {2, "RESOLVE_NO_MAGICLINKS"}, {4, "RESOLVE_NO_SYMLINKS"},
		{8, "RESOLVE_BENEATH"}, {0x10, "RESOLVE_IN_ROOT"}, {0x20, "RESOLVE_CACHED"}}},
	event.FlagsExecve: {flags: []flag{{ExeWritable, "EXE_WRITABLE"}, {ExeUpperLayer, "EXE_UPPER_LAYER"},
		{ExeFromMemfd, "EXE_FROM_MEMFD"}, {ExeLowerLayer, "EXE_LOWER_LAYER"}}},
	event.FlagsPtraceRequest: {enum: true, flags: []flag{{0, "PTRACE_TRACEME"}, {1, "PTRACE_PEEKTEXT"},
		{2, "PTRACE_PEEKDATA"}, {3, "PTRACE_PEEKUSR"}, {4, "PTRACE_POKETEXT"}, {5, "PTRACE_POKEDATA"},
		{6, "PTRACE_POKEUSR"}, {7, "PTRACE_CONT"}, {8, "PTRACE_KILL"}, {9, "PTRACE_SINGLESTEP"},
		{12, "PTRACE_GETREGS"}, {13, "PTRACE_SETREGS"}, {14, "PTRACE_GETFPREGS"}, {15, "PTRACE_SETFPREGS"},
		{16, "PTRACE_ATTACH"}, {17, "PTRACE_DETACH"}, {18, "PTRACE_GETFPXREGS"}, {19, "PTRACE_SETFPXREGS"},
		{24, "PTRACE_SYSCALL"}, {0x4200, "PTRACE_SETOPTIONS"}, {0x4201, "PTRACE_GETEVENTMSG"},
		{0x4202, "PTRACE_GETSIGINFO"}, {0x4203, "PTRACE_SETSIGINFO"}, {0x4204, "PTRACE_GETREGSET"},
		{0x4205, "PTRACE_SETREGSET"}, {0x4206, "PTRACE_SEIZE"}, {0x4207, "PTRACE_INTERRUPT"},
		{0x4208, "PTRACE_LISTEN"}, {0x4209, "PTRACE_PEEKSIGINFO"}}},
	event.FlagsSocketFamily: {enum: true, flags: []flag{{0, "AF_UNSPEC"}, {1, "AF_UNIX"}, {2, "AF_INET"},
		{10, "AF_INET6"}, {16, "AF_NETLINK"}, {17, "AF_PACKET"}, {31, "AF_BLUETOOTH"}, {38, "AF_ALG"},
		{40, "AF_VSOCK"}, {44, "AF_XDP"}}},
	event.FlagsSocketType: {flags: sockFlags},
	event.FlagsAccept4:    {flags: sockFlags},
	event.FlagsDup3:       {flags: []flag{{unix.O_CLOEXEC, "O_CLOEXEC"}}},
	event.FlagsLinkat:     {flags: []flag{{unix.AT_SYMLINK_FOLLOW, "AT_SYMLINK_FOLLOW"}, {unix.AT_EMPTY_PATH, "AT_EMPTY_PATH"}}},
	event.FlagsUnlinkat:   {flags: []flag{{unix.AT_REMOVEDIR, "AT_REMOVEDIR"}}},
	event.FlagsRenameat2:  {flags: []flag{{1, "RENAME_NOREPLACE"}, {2, "RENAME_EXCHANGE"}, {4, "RENAME_WHITEOUT"}}},
	event.FlagsCloneNs: {flags: []flag{{0x200, "CLONE_FS"}, {0x400, "CLONE_FILES"}, {0x20000, "CLONE_NEWNS"},
		{0x40000, "CLONE_SYSVSEM"}, {0x02000000, "CLONE_NEWCGROUP"}, {0x04000000, "CLONE_NEWUTS"},
		{0x08000000, "CLONE_NEWIPC"}, {0x10000000, "CLONE_NEWUSER"}, {0x20000000, "CLONE_NEWPID"},
		{0x40000000, "CLONE_NEWNET"}, {0x80, "CLONE_NEWTIME"}}},
	event.FlagsFinitModule: {flags: []flag{{1, "MODULE_INIT_IGNORE_MODVERSIONS"}, {2, "MODULE_INIT_IGNORE_VERMAGIC"},
		{4, "MODULE_INIT_COMPRESSED_FILE"}}},
	event.FlagsBpfCmd: {enum: true, flags: []flag{{0, "BPF_MAP_CREATE"}, {1, "BPF_MAP_LOOKUP_ELEM"},
		{2, "BPF_MAP_UPDATE_ELEM"}, {3, "BPF_MAP_DELETE_ELEM"}, {4, "BPF_MAP_GET_NEXT_KEY"}, {5, "BPF_PROG_LOAD"},
		{6, "BPF_OBJ_PIN"}, {7, "BPF_OBJ_GET"}, {8, "BPF_PROG_ATTACH"}, {9, "BPF_PROG_DETACH"},
		{10, "BPF_PROG_TEST_RUN"}, {11, "BPF_PROG_GET_NEXT_ID"}, {12, "BPF_MAP_GET_NEXT_ID"},
		{13, "BPF_PROG_GET_FD_BY_ID"}, {14, "BPF_MAP_GET_FD_BY_ID"}, {15, "BPF_OBJ_GET_INFO_BY_FD"},
		{16, "BPF_PROG_QUERY"}, {17, "BPF_RAW_TRACEPOINT_OPEN"}, {18, "BPF_BTF_LOAD"},
		{19, "BPF_BTF_GET_FD_BY_ID"}, {20, "BPF_TASK_FD_QUERY"}, {21, "BPF_MAP_LOOKUP_AND_DELETE_ELEM"},
		{22, "BPF_MAP_FREEZE"}, {23, "BPF_BTF_GET_NEXT_ID"}, {24, "BPF_MAP_LOOKUP_BATCH"},
		{25, "BPF_MAP_LOOKUP_AND_DELETE_BATCH"}, {26, "BPF_MAP_UPDATE_BATCH"}, {27, "BPF_MAP_DELETE_BATCH"},
		{28, "BPF_LINK_CREATE"}, {29, "BPF_LINK_UPDATE"}, {30, "BPF_LINK_GET_FD_BY_ID"},
		{31, "BPF_LINK_GET_NEXT_ID"}, {32, "BPF_ENABLE_STATS"}, {33, "BPF_ITER_CREATE"},
		{34, "BPF_LINK_DETACH"}, {35, "BPF_PROG_BIND_MAP"}, {36, "BPF_TOKEN_CREATE"}}},
	event.FlagsMemfdCreate: {flags: []flag{{1, "MFD_CLOEXEC"}, {2, "MFD_ALLOW_SEALING"}, {4, "MFD_HUGETLB"},
		{8, "MFD_NOEXEC_SEAL"}, {0x10, "MFD_EXEC"}}},
	event.FlagsFcntl: {enum: true, flags: []flag{{0, "F_DUPFD"}, {1, "F_GETFD"}, {2, "F_SETFD"}, {3, "F_GETFL"},
		{4, "F_SETFL"}, {5, "F_GETLK"}, {6, "F_SETLK"}, {7, "F_SETLKW"}, {8, "F_SETOWN"}, {9, "F_GETOWN"},
		{1024, "F_SETLEASE"}, {1025, "F_GETLEASE"}, {1030, "F_DUPFD_CLOEXEC"}}},
	event.FlagsMmapProt: {zero: "PROT_NONE", flags: []flag{{1, "PROT_READ"}, {2, "PROT_WRITE"}, {4, "PROT_EXEC"}}},
	event.FlagsMmapFlags: {flags: []flag{{1, "MAP_SHARED"}, {2, "MAP_PRIVATE"}, {0x10, "MAP_FIXED"},
		{0x20, "MAP_ANONYMOUS"}, {0x100, "MAP_GROWSDOWN"}, {0x2000, "MAP_LOCKED"}, {0x4000, "MAP_NORESERVE"},
		{0x8000, "MAP_POPULATE"}, {0x40000, "MAP_HUGETLB"}}},
	event.FlagsMode: {flags: []flag{{0o1, "S_IXOTH"}, {0o2, "S_IWOTH"}, {0o4, "S_IROTH"}, {0o10, "S_IXGRP"},
		{0o20, "S_IWGRP"}, {0o40, "S_IRGRP"}, {0o100, "S_IXUSR"}, {0o200, "S_IWUSR"}, {0o400, "S_IRUSR"},
		{0o1000, "S_ISVTX"}, {0o2000, "S_ISGID"}, {0o4000, "S_ISUID"}}},
}

var sockFlags = []flag{{unix.SOCK_NONBLOCK, "SOCK_NONBLOCK"}, {unix.SOCK_CLOEXEC, "SOCK_CLOEXEC"}}

// openFlags after the access mode. O_SYNC and O_TMPFILE include other bits
// (O_DSYNC, O_DIRECTORY), so they match only when all their bits are set.
var openFlags = []flag{
	{unix.O_CREAT, "O_CREAT"}, {unix.O_EXCL, "O_EXCL"}, {unix.O_NOCTTY, "O_NOCTTY"}, {unix.O_TRUNC, "O_TRUNC"},
	{unix.O_APPEND, "O_APPEND"}, {unix.O_NONBLOCK, "O_NONBLOCK"}, {unix.O_DSYNC, "O_DSYNC"}, {unix.O_SYNC, "O_SYNC"},
	{unix.O_DIRECT, "O_DIRECT"}, {unix.O_LARGEFILE, "O_LARGEFILE"}, {unix.O_DIRECTORY, "O_DIRECTORY"},
	{unix.O_NOFOLLOW, "O_NOFOLLOW"}, {unix.O_NOATIME, "O_NOATIME"}, {unix.O_CLOEXEC, "O_CLOEXEC"},
	{unix.O_PATH, "O_PATH"}, {unix.O_TMPFILE, "O_TMPFILE"},
}

var accModes = [4]string{"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"}

// RenderFlags renders v with Falco's spelling for table tbl: flag names
// joined with | in table order ("O_WRONLY|O_CREAT|O_TRUNC"), an enum's name
// ("PTRACE_ATTACH"), the decimal value for an unknown enum or table. A
// single name is returned without allocating.
func RenderFlags(tbl event.FlagTable, v uint64) string {
	ft, ok := flagTables[tbl]
	if !ok {
		return strconv.FormatUint(v, 10)
	}
	if ft.enum {
		for _, f := range ft.flags {
			if f.v == v {
				return f.name
			}
		}
		return strconv.FormatUint(v, 10)
	}
	var first string
	var b *strings.Builder
	add := func(n string) {
		switch {
		case first == "":
			first = n
		case b == nil:
			b = &strings.Builder{}
			b.WriteString(first)
			fallthrough
		default:
			b.WriteByte('|')
			b.WriteString(n)
		}
	}
	if tbl == event.FlagsOpen || tbl == event.FlagsCreat {
		add(accModes[v&unix.O_ACCMODE])
	}
	for _, f := range ft.flags {
		if f.v != 0 && v&f.v == f.v {
			add(f.name)
		}
	}
	if b != nil {
		return b.String()
	}
	if first == "" {
		return ft.zero
	}
	return first
}
