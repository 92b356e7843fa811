package probe

import (
	"errors"
	"fmt"
	"os"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"
)

// btfPath is where the running kernel exposes its BTF.
const btfPath = "/sys/kernel/btf/vmlinux"

// checkKernel fails with what is missing when the running kernel cannot
// run the probe: BTF for CO-RE and tp_btf, and the bpf_loop helper.
func checkKernel() error {
	if _, err := os.Stat(btfPath); err != nil {
		return fmt.Errorf("probe: kernel BTF missing (%s: %w): the probe needs a kernel built with CONFIG_DEBUG_INFO_BTF=y", btfPath, err)
	}
	err := features.HaveProgramHelper(ebpf.RawTracepoint, asm.FnLoop)
	if errors.Is(err, ebpf.ErrNotSupported) {
		return fmt.Errorf("probe: the kernel lacks the bpf_loop helper: the probe needs Linux 5.17 or later")
	}
	// Any other error is a failed probe of the feature, not a verdict: let
	// loading the programs report the real problem.
	return nil
}
