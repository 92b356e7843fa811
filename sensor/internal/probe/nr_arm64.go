// Syscall numbers from /usr/include/asm-generic/unistd.h (Linux UAPI: they never change).

//go:build arm64

package probe

import "github.com/lookout-sec/lookout/sensor/internal/event"

// syscallTypes maps this architecture's syscall numbers to event types.
func syscallTypes() map[uint16]event.Type {
	return map[uint16]event.Type{
		221: event.TypeExecve,
		281: event.TypeExecveat,
		56:  event.TypeOpenat,
		437: event.TypeOpenat2,
		203: event.TypeConnect,
		202: event.TypeAccept,
		242: event.TypeAccept4,
		201: event.TypeListen,
		200: event.TypeBind,
		198: event.TypeSocket,
		206: event.TypeSendto,
		211: event.TypeSendmsg,
		117: event.TypePtrace,
		23:  event.TypeDup,
		24:  event.TypeDup3,
		37:  event.TypeLinkat,
		36:  event.TypeSymlinkat,
		105: event.TypeInitModule,
		273: event.TypeFinitModule,
		268: event.TypeSetns,
		97:  event.TypeUnshare,
		146: event.TypeSetuid,
		144: event.TypeSetgid,
		52:  event.TypeFchmod,
		53:  event.TypeFchmodat,
		38:  event.TypeRenameat,
		276: event.TypeRenameat2,
		35:  event.TypeUnlinkat,
		280: event.TypeBpf,
		34:  event.TypeMkdirat,
		57:  event.TypeClose,
		49:  event.TypeChdir,
		50:  event.TypeFchdir,
		279: event.TypeMemfdCreate,
		147: event.TypeSetresuid,
		149: event.TypeSetresgid,
		59:  event.TypePipe2,
		25:  event.TypeFcntl,
		129: event.TypeKill,
		51:  event.TypeChroot,
		40:  event.TypeMount,
		39:  event.TypeUmount2,
		282: event.TypeUserfaultfd,
		226: event.TypeMprotect,
		222: event.TypeMmap,
		207: event.TypeRecvfrom,
		212: event.TypeRecvmsg,
	}
}
