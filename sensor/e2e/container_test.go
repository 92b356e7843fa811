package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lookout-sec/lookout/router/api"
)

// Container rules are exercised without a container runtime: the action
// runs in a cgroup named as Docker names its containers
// (docker-<64 hex>.scope), which is exactly how the sensor (like Falco)
// tells a container's processes from the host's. Runtime metadata (image,
// name) stays unknown, so rules that need it are not covered here.

// cgroup2Root returns the cgroup v2 mount point, or "" when there is none.
func cgroup2Root() string {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return ""
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 3 && f[2] == "cgroup2" {
			return f[1]
		}
	}
	return ""
}

// fakeContainer creates a Docker-named cgroup and returns its directory and
// the container id. The cgroup is removed when the test ends.
func fakeContainer(t *testing.T) (dir, id string) {
	t.Helper()
	root := cgroup2Root()
	if root == "" {
		t.Skip("skipping: no cgroup v2 hierarchy to place the action in a container cgroup")
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	id = hex.EncodeToString(b[:])
	dir = filepath.Join(root, "docker-"+id+".scope")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("skipping: cannot create a cgroup under %s: %v", root, err)
	}
	t.Cleanup(func() {
		for range 100 { // the cgroup can be removed once its processes are gone
			if err := os.Remove(dir); err == nil || os.IsNotExist(err) {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Errorf("could not remove cgroup %s", dir)
	})
	return dir, id
}

// inContainer runs cmd after moving a shell into the cgroup cg, so cmd's
// exec happens inside the "container".
func inContainer(cmd *exec.Cmd, cg string) *exec.Cmd {
	args := append([]string{"-c", `echo $$ > "$0/cgroup.procs" && exec "$@"`, cg, cmd.Path}, cmd.Args[1:]...)
	w := exec.Command("/bin/sh", args...)
	w.Env, w.Dir, w.Stdin, w.SysProcAttr = cmd.Env, cmd.Dir, cmd.Stdin, cmd.SysProcAttr
	return w
}

// openPTY returns a new pseudo-terminal's slave side; both sides are closed
// when the test ends.
func openPTY(t *testing.T) *os.File {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("skipping: no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty slave: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// containerHelper performs one container action in the helper process.
func containerHelper(mode, dir string) error {
	switch mode {
	case "packet":
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
		if err != nil {
			return fmt.Errorf("socket AF_PACKET: %w", err)
		}
		return unix.Close(fd)
	case "redirect":
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer ln.Close()
		c, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			return err
		}
		// dup3 the connection's own fd (File() would dup it with fcntl
		// first) onto stdout: stdout now goes to the network.
		rc, err := c.(*net.TCPConn).SyscallConn()
		if err != nil {
			return err
		}
		var derr error
		if err := rc.Control(func(fd uintptr) { derr = unix.Dup3(int(fd), 1, 0) }); err != nil {
			return err
		}
		return derr
	case "kmod":
		err := unix.FinitModule(-1, "", 0) // EBADF: attempted, nothing loaded
		if err == nil {
			return fmt.Errorf("finit_module(-1) succeeded")
		}
		return nil
	case "release_agent":
		return os.WriteFile(filepath.Join(dir, "release_agent"), []byte("x"), 0o600)
	}
	return fmt.Errorf("unknown container helper %q", mode)
}

// containerActions are container rules triggered from a container cgroup.
func containerActions() []action {
	helper := func(mode string) func(*testing.T, string) *exec.Cmd {
		return func(t *testing.T, dir string) *exec.Cmd { return self(t, "container:"+mode, dir) }
	}
	return []action{
		{rule: "Packet socket created in container", priority: api.PriorityNotice, cmd: helper("packet"),
			fields: map[string]string{"evt.type": "socket", "user.name": "root"}},
		{rule: "Redirect STDOUT/STDIN to Network Connection in Container", priority: api.PriorityNotice, cmd: helper("redirect"),
			fields: map[string]string{"evt.type": "dup3", "fd.type": "ipv4", "fd.l4proto": "tcp", "user.name": "root"}},
		{rule: "Linux Kernel Module Injection Detected", priority: api.PriorityWarning, cmd: helper("kmod"),
			fields: map[string]string{"evt.type": "finit_module", "user.name": "root"}},
		{rule: "Terminal shell in container", priority: api.PriorityNotice,
			cmd: func(t *testing.T, dir string) *exec.Cmd {
				// A shell with a terminal, started by the container's
				// entrypoint (runc): what `docker exec -it` produces. The
				// shell lives a second, as the Netcat case's does: a
				// container process gone before the sensor handles its exec
				// has no user.name (the container's passwd is read through
				// /proc/PID/root), and a loaded machine lags that far.
				runc := copyFile(t, "/bin/sh", dir, "runc")
				cmd := exec.Command(runc, "-c", "sh -c 'true "+dir+"; sleep 1'; true")
				cmd.Stdin = openPTY(t)
				cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
				return cmd
			},
			fields: map[string]string{"proc.name": "sh", "proc.pname": "runc", "user.name": "root"}},
		{rule: "Netcat Remote Code Execution in Container", priority: api.PriorityWarning,
			cmd: func(t *testing.T, dir string) *exec.Cmd {
				// A program named nc started with -c/-e, as a reverse shell is;
				// the rule looks at the name and the arguments only, so a copy
				// of /bin/sh stands in for netcat (not installed here). It
				// lives a second: a container process that is gone before the
				// sensor handles its exec has no user.name (the container's
				// passwd is read through /proc/PID/root).
				nc := copyFile(t, "/bin/sh", dir, "nc")
				return exec.Command(nc, "-c", "sleep 1; true", "-e", "/bin/sh", dir, "4444")
			},
			fields: map[string]string{"proc.name": "nc", "user.name": "root"}},
		{rule: "Drop and execute new binary in container", priority: api.PriorityCritical,
			cmd: func(t *testing.T, dir string) *exec.Cmd {
				// An overlay root as a container has, in a private mount
				// namespace: a binary copied in after start lands in the
				// upper layer and is executed from there.
				for _, d := range []string{"lower", "upper", "work", "merged"} {
					if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
						t.Fatal(err)
					}
				}
				script := fmt.Sprintf(`mount -t overlay overlay -o lowerdir=%[1]s/lower,upperdir=%[1]s/upper,workdir=%[1]s/work %[1]s/merged &&
cp /bin/true %[1]s/merged/dropped && %[1]s/merged/dropped %[1]s`, dir)
				return exec.Command("unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script)
			},
			needsSuccess: true, fields: map[string]string{"proc.name": "dropped", "user.name": "root"}},
		{rule: "Detect release_agent File Container Escapes", priority: api.PriorityCritical, cmd: helper("release_agent"),
			fields: map[string]string{"fd.name": "$dir/release_agent", "user.name": "root"}},
	}
}
