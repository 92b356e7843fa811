// Code generated from /usr/include/x86_64-linux-gnu/asm/unistd_64.h; DO NOT EDIT.

//go:build amd64

package probe

import "github.com/lookout-sec/lookout/sensor/internal/event"

// syscallTypes maps this architecture's syscall numbers to event types.
func syscallTypes() map[uint16]event.Type {
	return map[uint16]event.Type{
		59:  event.TypeExecve,
		322: event.TypeExecveat,
		2:   event.TypeOpen,
		257: event.TypeOpenat,
		437: event.TypeOpenat2,
		85:  event.TypeCreat,
		42:  event.TypeConnect,
		43:  event.TypeAccept,
		288: event.TypeAccept4,
		50:  event.TypeListen,
		49:  event.TypeBind,
		41:  event.TypeSocket,
		44:  event.TypeSendto,
		46:  event.TypeSendmsg,
		101: event.TypePtrace,
		32:  event.TypeDup,
		33:  event.TypeDup2,
		292: event.TypeDup3,
		86:  event.TypeLink,
		265: event.TypeLinkat,
		88:  event.TypeSymlink,
		266: event.TypeSymlinkat,
		175: event.TypeInitModule,
		313: event.TypeFinitModule,
		308: event.TypeSetns,
		272: event.TypeUnshare,
		105: event.TypeSetuid,
		106: event.TypeSetgid,
		90:  event.TypeChmod,
		91:  event.TypeFchmod,
		268: event.TypeFchmodat,
		82:  event.TypeRename,
		264: event.TypeRenameat,
		316: event.TypeRenameat2,
		87:  event.TypeUnlink,
		263: event.TypeUnlinkat,
		84:  event.TypeRmdir,
		321: event.TypeBpf,
		83:  event.TypeMkdir,
		258: event.TypeMkdirat,
		3:   event.TypeClose,
		80:  event.TypeChdir,
		81:  event.TypeFchdir,
		319: event.TypeMemfdCreate,
	}
}
