package probe

import "github.com/lookout-sec/lookout/sensor/internal/event"

// src says where an argument's value comes from in a syscall record.
type src uint8

const (
	srcRet  src = iota // the return value
	srcArg0            // raw register arguments 0..5
	srcArg1
	srcArg2
	srcArg3
	srcArg4
	srcArg5
	srcStr0 // user string copied from argument 0..5
	srcStr1
	srcStr2
	srcStr3
	srcStr4
	srcStr5
	srcBlob      // the user blob, as bytes
	srcAddr      // the user blob parsed as a struct sockaddr (SOCKADDR)
	srcTuple     // the described fd's socket as local->remote (SOCKTUPLE)
	srcTupleAcc  // the described fd's socket as remote->local (accept)
	srcTupleMsg  // like srcTuple, the peer from the msghdr's msg_name if unconnected
	srcTupleTo   // like srcTuple, the peer from sendto's dest_addr (args[4]) if unconnected
	srcTupleFrom // the peer (recvfrom's src_addr, args[4], if unconnected) -> the local end
	srcDev       // the described fd's file system device
	srcIno       // the described fd's inode number
	srcHowFlags  // openat2: struct open_how flags
	srcHowMode   // openat2: struct open_how mode
	srcHowResolv // openat2: struct open_how resolve
	srcZero      // a parameter the probe does not capture: always 0
	srcBlobI32a  // the blob's first int32 (pipe: fd1)
	srcBlobI32b  // the blob's second int32 (pipe: fd2)
)

// sel picks a value in the kernel: 0 none, 1..6 argument i-1, 7 the return value.
type sel uint8

const (
	selNone sel = iota
	selArg0
	selArg1
	selArg2
	selArg3
	selArg4
	selArg5
	selRet
)

// argSpec is one Falco exit parameter of a syscall.
type argSpec struct {
	name  string
	kind  event.ArgKind
	flags event.FlagTable
	src   src
	mask  uint64 // applied to register values when not 0
}

// sysSpec is what the kernel captures for one syscall and how the decoder
// turns it into Falco's exit parameters.
type sysSpec struct {
	args    []argSpec
	fd      sel   // fd whose file or socket the kernel describes
	fdUser  bool  // fd points to the fd in user memory (an int)
	peer    peer  // args[4] is a peer sockaddr the kernel copies (sendto, recvfrom)
	msghdr  bool  // blob points to a struct user_msghdr: data from its first iovec, msg_name in part 1, iovec total in args[5]
	blob    sel   // user pointer to copy as the blob
	blobLen sel   // its length (selNone: blobMax bytes)
	blobMax uint8 // at most this many bytes
}

// peer says whether and how the kernel copies a peer sockaddr from args[4].
type peer uint8

const (
	peerNone   peer = iota
	peerLenArg      // its length is args[5] (sendto)
	peerLenPtr      // its length is the int args[5] points to, after the call (recvfrom)
)

// Snap length of data buffers (sendto data, init_module image), as Falco's default.
const snapLen = 80

// syscallSpecs lists, per syscall event type the decoder supports, what
// the kernel captures and the Falco exit parameters in Falco's order
// (docs/falco-reference/supported-events.md). Adding a syscall whose
// parameters are registers, user strings, a user blob or an fd is a
// one-entry change here plus its number in nr_*.go.
func syscallSpecs() map[event.Type]sysSpec {
	fd := func(name string, s src) argSpec { return argSpec{name: name, kind: event.ArgFD, src: s} }
	str := func(name string, s src) argSpec { return argSpec{name: name, kind: event.ArgString, src: s} }
	u := func(name string, s src) argSpec { return argSpec{name: name, kind: event.ArgUint, src: s} }
	u32 := func(name string, s src) argSpec {
		return argSpec{name: name, kind: event.ArgUint, src: s, mask: 0xffffffff}
	}
	i32 := func(name string, s src) argSpec { return argSpec{name: name, kind: event.ArgInt, src: s} }
	fl := func(name string, t event.FlagTable, s src) argSpec {
		return argSpec{name: name, kind: event.ArgFlags, flags: t, src: s, mask: 0xffffffff}
	}
	mode := func(name string, s src) argSpec {
		return argSpec{name: name, kind: event.ArgFlags, flags: event.FlagsMode, src: s, mask: 0o7777}
	}
	res := argSpec{name: "res", kind: event.ArgErrno, src: srcRet}
	tuple := argSpec{name: "tuple", kind: event.ArgTuple, src: srcTuple}
	addr := argSpec{name: "addr", kind: event.ArgTuple, src: srcAddr}
	dev, ino := u("dev", srcDev), u("ino", srcIno)
	queue := []argSpec{u("queuepct", srcZero), u("queuelen", srcZero), u("queuemax", srcZero)}
	const sockFlags = 0o4000 | 0o2000000 // SOCK_NONBLOCK|SOCK_CLOEXEC, same bits as O_NONBLOCK|O_CLOEXEC

	return map[event.Type]sysSpec{
		// A successful execve/execveat is reported by the exec hook with the
		// full exit parameters (see decodeExec); a failed one comes here.
		event.TypeExecve:   {args: []argSpec{res, str("filename", srcStr0)}},
		event.TypeExecveat: {args: []argSpec{res, fd("dirfd", srcArg0), str("pathname", srcStr1), fl("flags", event.FlagsNone, srcArg4)}},

		event.TypeOpen: {fd: selRet, args: []argSpec{fd("fd", srcRet), str("name", srcStr0),
			fl("flags", event.FlagsOpen, srcArg1), u32("mode", srcArg2), dev, ino}},
		event.TypeOpenat: {fd: selRet, args: []argSpec{fd("fd", srcRet), fd("dirfd", srcArg0), str("name", srcStr1),
			fl("flags", event.FlagsOpen, srcArg2), u32("mode", srcArg3), dev, ino}},
		event.TypeOpenat2: {fd: selRet, blob: selArg2, blobLen: selArg3, blobMax: 24, args: []argSpec{
			fd("fd", srcRet), fd("dirfd", srcArg0), str("name", srcStr1),
			{name: "flags", kind: event.ArgFlags, flags: event.FlagsOpen, src: srcHowFlags},
			{name: "mode", kind: event.ArgUint, src: srcHowMode},
			{name: "resolve", kind: event.ArgFlags, flags: event.FlagsOpenResolve, src: srcHowResolv}, dev, ino}},
		event.TypeCreat: {fd: selRet, args: []argSpec{fd("fd", srcRet), str("name", srcStr0), u32("mode", srcArg1),
			dev, ino, fl("creat_flags", event.FlagsCreat, srcZero)}},

		event.TypeConnect: {fd: selArg0, blob: selArg1, blobLen: selArg2, blobMax: 128,
			args: []argSpec{res, tuple, fd("fd", srcArg0), addr}},
		event.TypeAccept: {fd: selRet, args: append([]argSpec{fd("fd", srcRet),
			{name: "tuple", kind: event.ArgTuple, src: srcTupleAcc}}, queue...)},
		event.TypeAccept4: {fd: selRet, args: append(append([]argSpec{fd("fd", srcRet),
			{name: "tuple", kind: event.ArgTuple, src: srcTupleAcc}}, queue...), i32("flags", srcArg3))},
		event.TypeListen: {args: []argSpec{res, fd("fd", srcArg0), i32("backlog", srcArg1)}},
		event.TypeBind: {blob: selArg1, blobLen: selArg2, blobMax: 128,
			args: []argSpec{res, addr, fd("fd", srcArg0)}},
		event.TypeSocket: {args: []argSpec{fd("fd", srcRet), fl("domain", event.FlagsSocketFamily, srcArg0),
			u32("type", srcArg1), u32("proto", srcArg2),
			{name: "flags", kind: event.ArgFlags, flags: event.FlagsOpen, src: srcArg1, mask: sockFlags}}},
		event.TypeSendto: {fd: selArg0, blob: selArg1, blobLen: selArg2, blobMax: snapLen, peer: peerLenArg,
			args: []argSpec{res, {name: "data", kind: event.ArgBytes, src: srcBlob}, fd("fd", srcArg0), u32("size", srcArg2),
				{name: "tuple", kind: event.ArgTuple, src: srcTupleTo}}},
		event.TypeSendmsg: {fd: selArg0, blob: selArg1, msghdr: true, blobMax: snapLen,
			args: []argSpec{res, {name: "data", kind: event.ArgBytes, src: srcBlob}, fd("fd", srcArg0), u32("size", srcArg5),
				{name: "tuple", kind: event.ArgTuple, src: srcTupleMsg}}},

		event.TypePtrace: {args: []argSpec{res, u("addr", srcArg2), u("data", srcArg3),
			fl("request", event.FlagsPtraceRequest, srcArg0), i32("pid", srcArg1)}},

		event.TypeClose: {args: []argSpec{res, fd("fd", srcArg0)}},
		event.TypeDup:   {args: []argSpec{fd("res", srcRet), fd("oldfd", srcArg0)}},
		event.TypeDup2:  {args: []argSpec{fd("res", srcRet), fd("oldfd", srcArg0), fd("newfd", srcArg1)}},
		event.TypeDup3: {args: []argSpec{fd("res", srcRet), fd("oldfd", srcArg0), fd("newfd", srcArg1),
			fl("flags", event.FlagsDup3, srcArg2)}},
		event.TypeChdir:  {args: []argSpec{res, str("path", srcStr0)}},
		event.TypeFchdir: {args: []argSpec{res, fd("fd", srcArg0)}},

		event.TypeLink: {args: []argSpec{res, str("oldpath", srcStr0), str("newpath", srcStr1)}},
		event.TypeLinkat: {args: []argSpec{res, fd("olddir", srcArg0), str("oldpath", srcStr1), fd("newdir", srcArg2),
			str("newpath", srcStr3), fl("flags", event.FlagsLinkat, srcArg4)}},
		event.TypeSymlink:   {args: []argSpec{res, str("target", srcStr0), str("linkpath", srcStr1)}},
		event.TypeSymlinkat: {args: []argSpec{res, str("target", srcStr0), fd("linkdirfd", srcArg1), str("linkpath", srcStr2)}},
		event.TypeRename:    {args: []argSpec{res, str("oldpath", srcStr0), str("newpath", srcStr1)}},
		event.TypeRenameat: {args: []argSpec{res, fd("olddirfd", srcArg0), str("oldpath", srcStr1),
			fd("newdirfd", srcArg2), str("newpath", srcStr3)}},
		event.TypeRenameat2: {args: []argSpec{res, fd("olddirfd", srcArg0), str("oldpath", srcStr1),
			fd("newdirfd", srcArg2), str("newpath", srcStr3), fl("flags", event.FlagsRenameat2, srcArg4)}},
		event.TypeUnlink:   {args: []argSpec{res, str("path", srcStr0)}},
		event.TypeUnlinkat: {args: []argSpec{res, fd("dirfd", srcArg0), str("name", srcStr1), fl("flags", event.FlagsUnlinkat, srcArg2)}},
		event.TypeRmdir:    {args: []argSpec{res, str("path", srcStr0)}},
		event.TypeMkdir:    {args: []argSpec{res, str("path", srcStr0), u32("mode", srcArg1)}},
		event.TypeMkdirat:  {args: []argSpec{res, fd("dirfd", srcArg0), str("path", srcStr1), u32("mode", srcArg2)}},
		event.TypeChmod:    {args: []argSpec{res, str("filename", srcStr0), mode("mode", srcArg1)}},
		event.TypeFchmod:   {args: []argSpec{res, fd("fd", srcArg0), mode("mode", srcArg1)}},
		event.TypeFchmodat: {args: []argSpec{res, fd("dirfd", srcArg0), str("filename", srcStr1), mode("mode", srcArg2)}},

		event.TypeInitModule: {blob: selArg0, blobLen: selArg1, blobMax: snapLen, args: []argSpec{res,
			{name: "img", kind: event.ArgBytes, src: srcBlob}, u("length", srcArg1), str("uargs", srcStr2)}},
		event.TypeFinitModule: {args: []argSpec{res, fd("fd", srcArg0), str("uargs", srcStr1),
			fl("flags", event.FlagsFinitModule, srcArg2)}},
		event.TypeSetns:   {args: []argSpec{res, fd("fd", srcArg0), fl("nstype", event.FlagsCloneNs, srcArg1)}},
		event.TypeUnshare: {args: []argSpec{res, fl("flags", event.FlagsCloneNs, srcArg0)}},
		event.TypeSetuid:  {args: []argSpec{res, u32("uid", srcArg0)}},
		event.TypeSetgid:  {args: []argSpec{res, u32("gid", srcArg0)}},
		event.TypeBpf:     {args: []argSpec{fd("fd", srcRet), fl("cmd", event.FlagsBpfCmd, srcArg0)}},
		event.TypeMemfdCreate: {args: []argSpec{fd("fd", srcRet), str("name", srcStr0),
			fl("flags", event.FlagsMemfdCreate, srcArg1)}},

		event.TypeSetresuid: {args: []argSpec{res, u32("ruid", srcArg0), u32("euid", srcArg1), u32("suid", srcArg2)}},
		event.TypeSetresgid: {args: []argSpec{res, u32("rgid", srcArg0), u32("egid", srcArg1), u32("sgid", srcArg2)}},
		event.TypePipe: {fd: selArg0, fdUser: true, blob: selArg0, blobMax: 8, args: []argSpec{res,
			fd("fd1", srcBlobI32a), fd("fd2", srcBlobI32b), ino}},
		event.TypePipe2: {fd: selArg0, fdUser: true, blob: selArg0, blobMax: 8, args: []argSpec{res,
			fd("fd1", srcBlobI32a), fd("fd2", srcBlobI32b), ino, fl("flags", event.FlagsOpen, srcArg1)}},
		event.TypeFcntl:  {args: []argSpec{fd("res", srcRet), fd("fd", srcArg0), fl("cmd", event.FlagsFcntl, srcArg1)}},
		event.TypeKill:   {args: []argSpec{res, i32("pid", srcArg0), u32("sig", srcArg1)}},
		event.TypeChroot: {args: []argSpec{res, str("path", srcStr0)}},
		event.TypeMount: {args: []argSpec{res, str("dev", srcStr0), str("dir", srcStr1), str("type", srcStr2),
			fl("flags", event.FlagsNone, srcArg3)}},
		event.TypeUmount2:     {args: []argSpec{res, str("name", srcStr0), fl("flags", event.FlagsNone, srcArg1)}},
		event.TypeUserfaultfd: {args: []argSpec{res, fl("flags", event.FlagsOpen, srcArg0)}},
		event.TypeMprotect: {args: []argSpec{res, u("addr", srcArg0), u("length", srcArg1),
			fl("prot", event.FlagsMmapProt, srcArg2)}},
		event.TypeMmap: {args: []argSpec{res, u("addr", srcArg0), u("length", srcArg1), fl("prot", event.FlagsMmapProt, srcArg2),
			fl("flags", event.FlagsMmapFlags, srcArg3), fd("fd", srcArg4), u("offset", srcArg5)}},
		event.TypeRecvfrom: {fd: selArg0, blob: selArg1, blobLen: selRet, blobMax: snapLen, peer: peerLenPtr, args: []argSpec{res,
			{name: "data", kind: event.ArgBytes, src: srcBlob}, {name: "tuple", kind: event.ArgTuple, src: srcTupleFrom},
			fd("fd", srcArg0), u32("size", srcArg2)}},
		event.TypeRecvmsg: {fd: selArg0, blob: selArg1, msghdr: true, blobLen: selRet, blobMax: snapLen, args: []argSpec{res,
			u32("size", srcArg5), {name: "data", kind: event.ArgBytes, src: srcBlob},
			{name: "tuple", kind: event.ArgTuple, src: srcTupleMsg}, {name: "msgcontrol", kind: event.ArgBytes, src: srcZero},
			fd("fd", srcArg0)}},
	}
}

// Interest-map value layout (SPEC_* in bpf/lookout/record.h).
const (
	specOn         = 1
	specStrShift   = 1
	specExecHook   = 128
	specFDShift    = 8
	specBlobShift  = 11
	specBlobLen    = 14
	specBlobMaxShl = 17
	specFDUser     = 1 << 25
	specMsghdr     = 1 << 26
	specPeer       = 1 << 27
	specPeerLenPtr = 1 << 28
)

// kernelSpec is the interest-map value for a syscall.
func kernelSpec(t event.Type, s sysSpec) uint32 {
	v := uint32(specOn)
	for _, a := range s.args {
		if a.src >= srcStr0 && a.src <= srcStr5 {
			v |= 1 << (specStrShift + uint(a.src-srcStr0))
		}
	}
	if t == event.TypeExecve || t == event.TypeExecveat {
		v |= specExecHook
	}
	v |= uint32(s.fd) << specFDShift
	v |= uint32(s.blob) << specBlobShift
	v |= uint32(s.blobLen) << specBlobLen
	v |= uint32(s.blobMax) << specBlobMaxShl
	if s.fdUser {
		v |= specFDUser
	}
	if s.msghdr {
		v |= specMsghdr
	}
	switch s.peer {
	case peerLenArg:
		v |= specPeer
	case peerLenPtr:
		v |= specPeer | specPeerLenPtr
	}
	return v
}

// Supported returns the event types the probe can deliver on this
// architecture.
func Supported() event.TypeSet {
	var s event.TypeSet
	specs := syscallSpecs()
	for _, t := range syscallTypes() {
		if _, ok := specs[t]; ok {
			s.Add(t)
		}
	}
	s.Add(event.TypeClone)
	s.Add(event.TypeProcexit)
	return s
}
