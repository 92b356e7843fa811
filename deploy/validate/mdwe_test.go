package validate_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The units in deploy/systemd set MemoryDenyWriteExecute=yes: no memory
// that was writable may become executable. systemd enforces it with a
// seccomp filter (252, Debian 12) or the kernel's PR_SET_MDWE prctl (253
// and later, Linux 6.3 and later); both refuse an mprotect that adds
// PROT_EXEC, which is what a JIT does. This machine has no systemd as
// PID 1, so the test applies the kernel's own mode: the test binary,
// started with mdweExecArg, sets PR_SET_MDWE and then executes the
// program named after it (the mode is kept across execve).
const (
	mdweExecArg      = "-lookout.mdwe-exec"     // then PROGRAM ARG...
	tryExecGainArg   = "-lookout.try-exec-gain" // exits 0 if refused, 1 if allowed
	prSetMDWE        = 65                       // PR_SET_MDWE, linux/prctl.h
	mdweRefuseGain   = 1                        // PR_MDWE_REFUSE_EXEC_GAIN
	exitNoMDWE       = 3                        // the kernel has no PR_SET_MDWE
	memoryDenyWXLine = "MemoryDenyWriteExecute=yes"
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case mdweExecArg:
			os.Exit(mdweExec(os.Args[2:]))
		case tryExecGainArg:
			os.Exit(tryExecGain())
		}
	}
	os.Exit(m.Run())
}

// mdweExec sets PR_SET_MDWE and executes args; it returns only on failure.
func mdweExec(args []string) int {
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, prSetMDWE, mdweRefuseGain, 0, 0, 0, 0); e != 0 {
		fmt.Fprintln(os.Stderr, "prctl(PR_SET_MDWE):", e)
		if e == syscall.EINVAL {
			return exitNoMDWE
		}
		return 2
	}
	path, err := exec.LookPath(args[0])
	if err == nil {
		err = syscall.Exec(path, args, os.Environ())
	}
	fmt.Fprintln(os.Stderr, "exec:", err)
	return 2
}

// tryExecGain does what a JIT does: maps a page writable, then asks for it
// to be executable.
func tryExecGain() int {
	p, err := syscall.Mmap(-1, 0, os.Getpagesize(), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mmap:", err)
		return 2
	}
	if err := syscall.Mprotect(p, syscall.PROT_READ|syscall.PROT_EXEC); err != nil {
		fmt.Fprintln(os.Stderr, "mprotect refused:", err)
		return 0
	}
	fmt.Fprintln(os.Stderr, "mprotect(PROT_EXEC) allowed")
	return 1
}

// underMDWE is bin ARG... run with PR_SET_MDWE set.
func underMDWE(bin string, args ...string) (string, []string) {
	return os.Args[0], append([]string{mdweExecArg, bin}, args...)
}

// TestBinariesRunUnderMemoryDenyWriteExecute runs the router and the sensor
// as the units do, under MemoryDenyWriteExecute: the router's --check (the
// unit's ExecStartPre), then both programs for real, the sensor's alert for
// cat /etc/shadow posted to the router and written by its stdout output
// (both codecs, the probe, the rules). A dependency that generates code at
// run time fails here: the JSON codec sonic made both binaries panic at
// start under these units until it was replaced. Needs root for the sensor.
func TestBinariesRunUnderMemoryDenyWriteExecute(t *testing.T) {
	for _, unit := range []string{"lookout-router.service", "lookout-sensor.service"} {
		src, err := os.ReadFile(filepath.Join(repoRoot, "deploy/systemd", unit))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(src), "\n"+memoryDenyWXLine+"\n") {
			t.Errorf("%s does not set %s (this test holds the binaries to it)", unit, memoryDenyWXLine)
		}
	}
	// The restriction is in force: what a JIT does is refused.
	name, args := underMDWE(os.Args[0], tryExecGainArg)
	out, err := exec.Command(name, args...).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.ExitCode() == exitNoMDWE:
		t.Skipf("the kernel has no PR_SET_MDWE (Linux 6.3 or later): %s", out)
	case err != nil:
		t.Fatalf("mprotect(PROT_EXEC) under PR_SET_MDWE: %v\n%s", err, out)
	}

	dir := t.TempDir()
	routerAddr, sensorAddr := freeAddr(t), freeAddr(t)
	cfg := writeTestFile(t, filepath.Join(dir, "router.yaml"), fmt.Sprintf(
		"listen: %s\nqueue:\n  dir: %s\noutputs:\n  - name: console\n    type: stdout\n    min_priority: debug\n",
		routerAddr, filepath.Join(dir, "queue")))
	router := routerBinary(t)
	name, args = underMDWE(router, "--check", "--config", cfg)
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("lookout-router --check under MemoryDenyWriteExecute: %v\n%s", err, out)
	}
	name, args = underMDWE(router, "--config", cfg)
	rp := startProc(t, name, args...)
	waitHTTP(t, rp, "http://"+routerAddr+"/healthz")

	if os.Geteuid() != 0 {
		if os.Getenv("LOOKOUT_DEPLOY_TOOLS_REQUIRED") == "1" {
			t.Fatal("the sensor's part needs root (its eBPF probe)")
		}
		t.Skip("the sensor's part needs root (its eBPF probe)")
	}
	name, args = underMDWE(sensorBinary(t), "--router", "http://"+routerAddr, "--config",
		writeTestFile(t, filepath.Join(dir, "sensor.yaml"), fmt.Sprintf("metrics: {listen: %q}\nspool: {dir: %q}\n", sensorAddr, filepath.Join(dir, "spool"))))
	sp := startProc(t, name, args...)
	waitHTTP(t, sp, "http://"+sensorAddr+"/healthz")
	// "Read sensitive file untrusted" fires for cat reading /etc/shadow.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for !strings.Contains(rp.logs.String(), `"rule":"Read sensitive file untrusted"`) {
		if ctx.Err() != nil {
			t.Fatalf("no alert reached the router's stdout output\nrouter: %s\nsensor: %s", rp.logs.String(), sp.logs.String())
		}
		_ = exec.Command("cat", "/etc/shadow").Run()
		time.Sleep(200 * time.Millisecond)
	}
}
