package fields

import (
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrnoName returns the errno's name as Falco renders evt.res ("ENOENT"),
// or the number for an errno Linux does not name.
func ErrnoName(errno int64) string {
	if errno > 0 && errno < 4096 {
		if n := unix.ErrnoName(syscall.Errno(errno)); n != "" {
			return n
		}
	}
	return strconv.FormatInt(-errno, 10)
}

// capNames are the Linux capabilities by bit number, as Falco names them.
var capNames = [...]string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
	"CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
	"CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

// CapNames renders a capability set as Falco does: the CAP_* names of the
// set bits in bit order, space-separated ("" for none).
func CapNames(set uint64) string {
	var b []byte
	for i, n := range capNames {
		if set&(1<<uint(i)) == 0 {
			continue
		}
		if len(b) > 0 {
			b = append(b, ' ')
		}
		b = append(b, n...)
	}
	return string(b)
}
