package event

// Type is a Falco event type: a syscall name such as "openat", or a
// lifecycle event such as "procexit". The zero value is TypeUnknown.
type Type uint16

// Event types known to the sensor. Names are Falco's evt.type values.
const (
	TypeUnknown Type = iota
	TypeExecve
	TypeExecveat
	TypeOpen
	TypeOpenat
	TypeOpenat2
	TypeCreat
	TypeConnect
	TypeAccept
	TypeAccept4
	TypeListen
	TypeBind
	TypeSocket
	TypeSendto
	TypeSendmsg
	TypeRecvfrom
	TypeRecvmsg
	TypePtrace
	TypeDup
	TypeDup2
	TypeDup3
	TypeLink
	TypeLinkat
	TypeSymlink
	TypeSymlinkat
	TypeInitModule
	TypeFinitModule
	TypeSetns
	TypeUnshare
	TypeSetuid
	TypeSetgid
	TypeSetresuid
	TypeSetresgid
	TypeChmod
	TypeFchmod
	TypeFchmodat
	TypeRename
	TypeRenameat
	TypeRenameat2
	TypeUnlink
	TypeUnlinkat
	TypeRmdir
	TypeMkdir
	TypeMkdirat
	TypeBpf
	TypeClose
	TypeChdir
	TypeFchdir
	TypeMemfdCreate
	TypeUserfaultfd
	TypeMmap
	TypeMprotect
	TypePipe
	TypePipe2
	TypeFcntl
	TypeClone
	TypeClone3
	TypeFork
	TypeVfork
	TypeKill
	TypeChroot
	TypeMount
	TypeUmount2
	TypeProcexit // process (thread) exit; Falco's "procexit"
	NumTypes     // number of types; not a type
)

var typeNames = [NumTypes]string{
	TypeUnknown: "unknown", TypeExecve: "execve", TypeExecveat: "execveat", TypeOpen: "open",
	TypeOpenat: "openat", TypeOpenat2: "openat2", TypeCreat: "creat", TypeConnect: "connect",
	TypeAccept: "accept", TypeAccept4: "accept4", TypeListen: "listen", TypeBind: "bind",
	TypeSocket: "socket", TypeSendto: "sendto", TypeSendmsg: "sendmsg", TypeRecvfrom: "recvfrom",
	TypeRecvmsg: "recvmsg", TypePtrace: "ptrace", TypeDup: "dup", TypeDup2: "dup2", TypeDup3: "dup3",
	TypeLink: "link", TypeLinkat: "linkat", TypeSymlink: "symlink", TypeSymlinkat: "symlinkat",
	TypeInitModule: "init_module", TypeFinitModule: "finit_module", TypeSetns: "setns",
	TypeUnshare: "unshare", TypeSetuid: "setuid", TypeSetgid: "setgid", TypeSetresuid: "setresuid",
	TypeSetresgid: "setresgid", TypeChmod: "chmod", TypeFchmod: "fchmod", TypeFchmodat: "fchmodat",
	TypeRename: "rename", TypeRenameat: "renameat", TypeRenameat2: "renameat2", TypeUnlink: "unlink",
	TypeUnlinkat: "unlinkat", TypeRmdir: "rmdir", TypeMkdir: "mkdir", TypeMkdirat: "mkdirat",
	TypeBpf: "bpf", TypeClose: "close", TypeChdir: "chdir", TypeFchdir: "fchdir",
	TypeMemfdCreate: "memfd_create", TypeUserfaultfd: "userfaultfd", TypeMmap: "mmap",
	TypeMprotect: "mprotect", TypePipe: "pipe", TypePipe2: "pipe2", TypeFcntl: "fcntl",
	TypeClone: "clone", TypeClone3: "clone3", TypeFork: "fork", TypeVfork: "vfork", TypeKill: "kill",
	TypeChroot: "chroot", TypeMount: "mount", TypeUmount2: "umount2", TypeProcexit: "procexit",
}

// String returns Falco's evt.type name.
func (t Type) String() string {
	if t < NumTypes {
		return typeNames[t]
	}
	return "unknown"
}

// ParseType returns the Type with Falco's name, and false for names the
// sensor does not know.
func ParseType(name string) (Type, bool) {
	for i := TypeUnknown + 1; i < NumTypes; i++ {
		if typeNames[i] == name {
			return i, true
		}
	}
	return TypeUnknown, false
}

// TypeSet is a set of event types, used for the rule engine's event-type
// index and the probe's in-kernel filter.
type TypeSet [(NumTypes + 63) / 64]uint64

// Add puts t in the set.
func (s *TypeSet) Add(t Type) { s[t/64] |= 1 << (t % 64) }

// Has reports whether t is in the set.
func (s *TypeSet) Has(t Type) bool { return s[t/64]&(1<<(t%64)) != 0 }

// Union adds every member of o.
func (s *TypeSet) Union(o TypeSet) {
	for i := range s {
		s[i] |= o[i]
	}
}

// Types lists the members in order.
func (s *TypeSet) Types() []Type {
	var out []Type
	for t := TypeUnknown + 1; t < NumTypes; t++ {
		if s.Has(t) {
			out = append(out, t)
		}
	}
	return out
}
