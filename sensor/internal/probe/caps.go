package probe

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

const (
	capSysAdmin = 21
	capPerfmon  = 38
	capBPF      = 39
)

// checkCaps fails with the missing capabilities named when the process
// cannot load and attach tracing programs.
func checkCaps() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("probe: read own capabilities: %w", err)
	}
	return capsError(uint64(data[1].Effective)<<32 | uint64(data[0].Effective))
}

// capsError says which capabilities the effective set eff lacks: tracing
// programs need CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN.
func capsError(eff uint64) error {
	has := func(c uint) bool { return eff&(1<<c) != 0 }
	if has(capSysAdmin) || (has(capBPF) && has(capPerfmon)) {
		return nil
	}
	var missing []string
	if !has(capBPF) {
		missing = append(missing, "CAP_BPF")
	}
	if !has(capPerfmon) {
		missing = append(missing, "CAP_PERFMON")
	}
	return fmt.Errorf("probe: missing capability %s (need CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN): run the sensor as root or grant them",
		strings.Join(missing, " and "))
}
