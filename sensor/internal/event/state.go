package event

import "net/netip"

// Process is the state of one thread (Falco's threadinfo), kept by the state
// package and read by the rule engine. Field comments give the Falco fields
// they back.
type Process struct {
	TID      int64  // thread.tid
	PID      int64  // proc.pid (tgid)
	PPID     int64  // proc.ppid
	VPID     int64  // proc.vpid (pid in its own pid namespace)
	VTID     int64  // thread.vtid
	SID      int64  // proc.sid
	PGID     int64  // proc.pgid (process group)
	VPGID    int64  // proc.vpgid
	Name     string // proc.name: comm (up to 16 bytes), or argv[0]'s basename after exec as Falco does
	Exe      string // proc.exe: argv[0]
	ExePath  string // proc.exepath: full path of the executable (from /proc/PID/exe or the exec)
	Args     []string
	Cwd      string   // proc.cwd, with a trailing slash as Falco renders it
	Env      []string // proc.env: KEY=VALUE, bounded
	TTY      uint32   // proc.tty: device number of the controlling tty, 0 if none
	UID      uint32   // user.uid (effective, as Falco)
	GID      uint32   // group.gid
	LoginUID int64    // user.loginuid; -1 when unset (4294967295 in the kernel)

	CapEffective   uint64 // thread.cap_effective bits
	CapPermitted   uint64 // thread.cap_permitted
	CapInheritable uint64 // thread.cap_inheritable

	StartTS       int64 // proc.start time in ns since the epoch (for proc.duration)
	ExitTS        int64 // ns since the epoch when it exited, 0 while alive
	ExeIno        uint64
	ExeCtime      int64 // proc.exe_ino.ctime (ns)
	ExeMtime      int64 // proc.exe_ino.mtime (ns)
	ExeFlags      uint32
	ExeMemfd      bool // proc.is_exe_from_memfd
	ExeUpper      bool // proc.is_exe_upper_layer (overlayfs upper layer)
	ExeWrite      bool // proc.is_exe_writable
	ExeLower      bool // proc.is_exe_lower_layer
	FDLimit       uint64
	IsVPGIDLeader bool

	User      *User      // user.name etc. for UID; nil if unknown
	LoginUser *User      // user.loginname for LoginUID; nil if unknown
	Group     *Group     // group.name for GID; nil if unknown
	Container *Container // nil on the host (container.id = "host")

	// Parent is the parent process, kept by state; nil at the top or when
	// unknown. proc.pname, proc.aname[N] and friends walk it.
	Parent *Process
}

// Cmdline returns proc.cmdline: the name followed by the arguments.
func (p *Process) Cmdline() string {
	n := len(p.Name)
	for _, a := range p.Args {
		n += 1 + len(a)
	}
	b := make([]byte, 0, n)
	b = append(b, p.Name...)
	for _, a := range p.Args {
		b = append(b, ' ')
		b = append(b, a...)
	}
	return string(b)
}

// User is a user account as resolved by state (from the host's or the
// container's passwd database).
type User struct {
	UID     uint32
	Name    string
	HomeDir string
	Shell   string
}

// Group is a group as resolved by state.
type Group struct {
	GID  uint32
	Name string
}

// Container is a container's metadata. Only ID is known from the cgroup
// path; the rest comes from the container runtime when one is reachable
// (empty or zero otherwise, which the engine treats as unavailable).
type Container struct {
	ID              string // container.id: 12-character short id
	FullID          string // container.full_id
	Name            string // container.name
	Image           string // container.image (repository:tag)
	ImageRepository string // container.image.repository
	ImageTag        string // container.image.tag
	ImageDigest     string // container.image.digest
	Runtime         string // container.type: docker, containerd, cri-o, podman
	Privileged      *bool  // container.privileged; nil when unknown
	StartTS         int64  // container.start_ts (ns); 0 when unknown
	PodName         string // k8s.pod.name
	PodUID          string // k8s.pod.uid
	Namespace       string // k8s.ns.name
	PodLabels       map[string]string
	Labels          map[string]string // container.label[key]: the runtime's container labels; nil when unknown
	Metadata        bool              // true once runtime metadata was fetched
	ImageID         string            // container.image.id: 12 characters of the image id
	Mounts          []Mount           // container.mounts, container.mount.*
	HostPID         *bool             // container.host_pid; nil when unknown
	HostNetwork     *bool             // container.host_network
	HostIPC         *bool             // container.host_ipc
	Healthcheck     string            // container.healthcheck: the health check command line; "" when none
	SandboxID       string            // k8s.pod.full_sandbox_id: the pod sandbox's container id
	IP              string            // container.ip: the primary IPv4 address; "" when unknown
	WorkloadName    string            // k8s.workload.name (Lookout): the pod's owning workload
	WorkloadKind    string            // k8s.workload.kind (Lookout): Deployment, StatefulSet, DaemonSet, Job, CronJob, Pod
}

// Mount is one mount of a container as the runtime reports it.
type Mount struct {
	Source      string // host path (or volume name)
	Dest        string // path inside the container
	Mode        string // the runtime's mode string, e.g. "z", "ro"; "" when none
	RW          bool   // mounted read-write
	Propagation string // e.g. "rprivate"; "" when the runtime did not say
}

// FDType is the kind of object a file descriptor refers to.
type FDType uint8

// FD types, with Falco's fd.type names and fd.typechar letters.
const (
	FDUnknown FDType = iota
	FDFile
	FDDirectory
	FDIPv4
	FDIPv6
	FDUnix
	FDPipe
	FDEvent
	FDSignalfd
	FDEventpoll
	FDInotify
	FDTimerfd
	FDNetlink
	FDBpf
	FDUserfaultfd
	FDIOUring
	FDMemfd
	FDPidfd
)

var fdTypeNames = [...]string{"<NA>", "file", "directory", "ipv4", "ipv6", "unix", "pipe", "event", "signalfd", "eventpoll", "inotify", "timerfd", "netlink", "bpf", "userfaultfd", "io_uring", "memfd", "pidfd"}
var fdTypeChars = [...]byte{'o', 'f', 'd', '4', '6', 'u', 'p', 'e', 's', 'l', 'i', 't', 'n', 'b', 'u', 'r', 'm', 'P'}

// String returns Falco's fd.type name.
func (t FDType) String() string {
	if int(t) < len(fdTypeNames) {
		return fdTypeNames[t]
	}
	return "<NA>"
}

// Char returns Falco's fd.typechar letter.
func (t FDType) Char() byte {
	if int(t) < len(fdTypeChars) {
		return fdTypeChars[t]
	}
	return 'o'
}

// FD is one open file descriptor of a process (Falco's fdinfo).
type FD struct {
	Num       int64
	Type      FDType
	Name      string // fd.name: the resolved absolute path, or the tuple "1.2.3.4:5->6.7.8.9:10"
	NameRaw   string // fd.nameraw: the path as the process gave it
	OpenFlags uint32 // flags given at open
	Dev       uint32
	Ino       uint64

	// Sockets.
	Family      Family
	L4Proto     L4Proto
	Src, Dst    netip.AddrPort // local->remote for clients; for servers Src is the client
	Server      bool           // true for accepted/listening sockets (fd.is_server)
	Connected   bool           // fd.connected
	NameChanged bool           // fd.name_changed: the name changed on this event (connect)
}
