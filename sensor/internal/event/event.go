package event

import "net/netip"

// Event is one completed syscall (its exit, with the return value and every
// parameter) or one lifecycle step. Decoders reuse Events: consumers must not
// keep pointers to an Event or its Args after handling it.
type Event struct {
	Num  uint64 // evt.num: sequence number, starting at 1
	Type Type
	TS   int64 // nanoseconds since the Unix epoch (evt.rawtime)
	CPU  uint16
	TID  int64 // host thread id (thread.tid)
	PID  int64 // host process id (tgid)
	Res  int64 // return value; negative errno on failure (evt.rawres)

	// Args are the exit parameters in Falco's order and with Falco's names
	// (see docs/falco-reference/supported-events.md), e.g. for openat:
	// fd, dirfd, name, flags, mode, dev, ino.
	Args []Arg

	// Proc is the calling thread after state applied this event (for execve,
	// the new image). Nil only if state could not build it.
	Proc *Process
	// FD is the file descriptor the event created or used (the opened file,
	// the connected socket, the fd argument of sendto ...), after state
	// applied the event. Nil when the event involves no fd.
	FD *FD

	// Audit is set on k8s_audit events (Type is TypeUnknown, Proc and FD
	// nil) and nil on syscall events.
	Audit *K8sAudit
}

// Arg returns the argument with Falco's name, or nil.
func (e *Event) Arg(name string) *Arg {
	for i := range e.Args {
		if e.Args[i].Name == name {
			return &e.Args[i]
		}
	}
	return nil
}

// Reset clears e for reuse, keeping the Args backing array.
func (e *Event) Reset() {
	args := e.Args[:0]
	*e = Event{Args: args}
}

// ArgKind is how an argument's value is stored and rendered. It follows
// Falco's parameter types.
type ArgKind uint8

// Argument kinds.
const (
	ArgInt     ArgKind = iota // signed integer (INT*, PID, FD, ERRNO, UID/GID as -1 capable)
	ArgUint                   // unsigned integer (UINT*, DEV, MODE)
	ArgString                 // CHARBUF, FSPATH (already resolved), FSRELPATH (as given)
	ArgBytes                  // BYTEBUF (e.g. execve args: NUL-separated)
	ArgFlags                  // FLAGS*/ENUMFLAGS*: Uint holds the raw value, Flags names the table
	ArgTuple                  // SOCKTUPLE or SOCKADDR: Tuple holds it
	ArgAbsTime                // ABSTIME: Int holds ns since the epoch
	ArgErrno                  // ERRNO: Int holds the return value (negative errno on failure)
	ArgFD                     // FD: Int holds the fd number (negative errno on failure)
)

// FlagTable names the table that renders an ArgFlags value, as Falco does
// (e.g. "O_WRONLY|O_CREAT|O_TRUNC", "PTRACE_ATTACH", "AF_INET").
type FlagTable uint8

// Flag tables used by the captured syscalls.
const (
	FlagsNone          FlagTable = iota
	FlagsOpen                    // open/openat/openat2 flags (O_*)
	FlagsOpenResolve             // openat2 resolve (RESOLVE_*)
	FlagsExecve                  // execve exit flags (EXE_WRITABLE|EXE_UPPER_LAYER|EXE_FROM_MEMFD|EXE_LOWER_LAYER)
	FlagsPtraceRequest           // ptrace request (PTRACE_*), an enum
	FlagsSocketFamily            // socket domain (AF_*), an enum
	FlagsSocketType              // socket type flags (SOCK_NONBLOCK|SOCK_CLOEXEC)
	FlagsDup3                    // O_CLOEXEC
	FlagsLinkat                  // AT_SYMLINK_FOLLOW|AT_EMPTY_PATH
	FlagsUnlinkat                // AT_REMOVEDIR
	FlagsRenameat2               // RENAME_NOREPLACE|RENAME_EXCHANGE|RENAME_WHITEOUT
	FlagsCloneNs                 // setns nstype / unshare flags (CLONE_NEW*)
	FlagsFinitModule             // MODULE_INIT_*
	FlagsBpfCmd                  // bpf cmd (BPF_*), an enum
	FlagsMemfdCreate             // MFD_*
	FlagsCreat                   // creat_flags
	FlagsFcntl                   // fcntl cmd, an enum
	FlagsMmapProt                // PROT_*
	FlagsMmapFlags               // MAP_*
	FlagsAccept4                 // SOCK_NONBLOCK|SOCK_CLOEXEC
	FlagsMode                    // file mode bits rendered as S_IRUSR|... (MODE params)
)

// Arg is one event parameter. Only the fields that Kind uses are set.
type Arg struct {
	Name  string
	Kind  ArgKind
	Flags FlagTable
	Int   int64
	Uint  uint64
	Str   string
	Bytes []byte
	Tuple Tuple
}

// Tuple is a socket address pair (SOCKTUPLE) or a single address
// (SOCKADDR, in Dst). For unix sockets Path holds the path.
type Tuple struct {
	Family  Family
	Src     netip.AddrPort
	Dst     netip.AddrPort
	Path    string
	L4Proto L4Proto
}

// Family is a socket address family.
type Family uint8

// Socket families Falco distinguishes.
const (
	FamilyUnknown Family = iota
	FamilyInet
	FamilyInet6
	FamilyUnix
	FamilyNetlink
	FamilyPacket
	FamilyOther
)

// String returns Falco's fd.sockfamily value ("ip", "unix"), or "".
func (f Family) String() string {
	switch f {
	case FamilyInet, FamilyInet6:
		return "ip"
	case FamilyUnix:
		return "unix"
	}
	return ""
}

// L4Proto is a transport protocol.
type L4Proto uint8

// Transport protocols Falco reports in fd.l4proto.
const (
	L4Unknown L4Proto = iota
	L4TCP
	L4UDP
	L4ICMP
	L4Raw
)

// String returns Falco's fd.l4proto value.
func (p L4Proto) String() string {
	switch p {
	case L4TCP:
		return "tcp"
	case L4UDP:
		return "udp"
	case L4ICMP:
		return "icmp"
	case L4Raw:
		return "raw"
	}
	return "<NA>"
}
