package probe

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

func TestCapsError(t *testing.T) {
	tests := []struct {
		name string
		eff  uint64
		want string // "" for no error
	}{
		{"root", ^uint64(0), ""},
		{"sys_admin only", 1 << capSysAdmin, ""},
		{"bpf and perfmon", 1<<capBPF | 1<<capPerfmon, ""},
		{"none", 0, "missing capability CAP_BPF and CAP_PERFMON"},
		{"bpf only", 1 << capBPF, "missing capability CAP_PERFMON ("},
		{"perfmon only", 1 << capPerfmon, "missing capability CAP_BPF ("},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := capsError(tt.eff)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// helperEnv marks the child process TestOpenUnprivileged starts.
const helperEnv = "LOOKOUT_PROBE_UNPRIVILEGED_HELPER"

// TestOpenUnprivileged runs Open as user nobody, without capabilities: it
// must fail and name the missing capabilities.
func TestOpenUnprivileged(t *testing.T) {
	if os.Getenv(helperEnv) == "1" {
		_, err := Open(context.Background(), Config{})
		if err == nil {
			os.Stdout.WriteString("Open succeeded\n")
			os.Exit(0)
		}
		os.Stdout.WriteString(err.Error() + "\n")
		os.Exit(0)
	}
	if os.Geteuid() != 0 {
		t.Skip("skipped: starting a process as another user needs root")
	}
	// The test binary sits in a directory only root may enter: copy it
	// somewhere nobody can run it.
	dir, err := os.MkdirTemp("", "lookout-probe-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/probe.test", bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(dir+"/probe.test", "-test.run=^TestOpenUnprivileged$")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	if want := "missing capability CAP_BPF and CAP_PERFMON"; !strings.Contains(string(out), want) {
		t.Errorf("unprivileged Open said %q, want it to contain %q", out, want)
	}
}
