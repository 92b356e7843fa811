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
)

// argSpec is one Falco exit parameter of a syscall.
type argSpec struct {
	name  string
	kind  event.ArgKind
	flags event.FlagTable
	src   src
}

// syscallSpecs lists, per syscall event type the decoder supports, the
// Falco exit parameters in Falco's order. The kernel copies the user strings
// named by srcStrN; adding a syscall whose parameters are registers or user
// strings is a one-entry change here plus its number in nr_*.go.
func syscallSpecs() map[event.Type][]argSpec {
	fd := func(name string, s src) argSpec { return argSpec{name: name, kind: event.ArgFD, src: s} }
	str := func(name string, s src) argSpec { return argSpec{name: name, kind: event.ArgString, src: s} }
	u := func(name string, s src) argSpec { return argSpec{name: name, kind: event.ArgUint, src: s} }
	fl := func(name string, t event.FlagTable, s src) argSpec {
		return argSpec{name: name, kind: event.ArgFlags, flags: t, src: s}
	}
	res := argSpec{name: "res", kind: event.ArgErrno, src: srcRet}
	return map[event.Type][]argSpec{
		// A successful execve/execveat is reported by the exec hook with the
		// full exit parameters (see decodeExec); a failed one comes here.
		event.TypeExecve:   {res, str("filename", srcStr0)},
		event.TypeExecveat: {res, fd("dirfd", srcArg0), str("pathname", srcStr1), fl("flags", event.FlagsNone, srcArg4)},
		event.TypeOpen: {fd("fd", srcRet), str("name", srcStr0), fl("flags", event.FlagsOpen, srcArg1),
			u("mode", srcArg2)},
		event.TypeOpenat: {fd("fd", srcRet), fd("dirfd", srcArg0), str("name", srcStr1),
			fl("flags", event.FlagsOpen, srcArg2), u("mode", srcArg3)},
		event.TypeCreat: {fd("fd", srcRet), str("name", srcStr0), u("mode", srcArg1)},
		event.TypeClose: {res, fd("fd", srcArg0)},
		event.TypeDup:   {fd("res", srcRet), fd("oldfd", srcArg0)},
		event.TypeDup2:  {fd("res", srcRet), fd("oldfd", srcArg0), fd("newfd", srcArg1)},
		event.TypeDup3: {fd("res", srcRet), fd("oldfd", srcArg0), fd("newfd", srcArg1),
			fl("flags", event.FlagsDup3, srcArg2)},
		event.TypeChdir:  {res, str("path", srcStr0)},
		event.TypeFchdir: {res, fd("fd", srcArg0)},
	}
}

// kernelSpec is the interest-map value for a syscall: bit 0 on, bits 1..6
// "argument i is a user string", bit 7 "success reported by the exec hook".
func kernelSpec(t event.Type, args []argSpec) uint32 {
	v := uint32(1)
	for _, a := range args {
		if a.src >= srcStr0 {
			v |= 1 << (1 + uint(a.src-srcStr0))
		}
	}
	if t == event.TypeExecve || t == event.TypeExecveat {
		v |= 128
	}
	return v
}

// Supported returns the event types the probe can deliver.
func Supported() event.TypeSet {
	var s event.TypeSet
	for t := range syscallSpecs() {
		s.Add(t)
	}
	s.Add(event.TypeClone)
	s.Add(event.TypeProcexit)
	return s
}
