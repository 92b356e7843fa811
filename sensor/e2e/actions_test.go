package e2e

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lookout-sec/lookout/router/api"
)

// helperEnv selects a helper mode when the test binary re-executes itself
// to perform an action no standard tool does (ptrace attach, memfd exec).
const helperEnv = "LOOKOUT_E2E_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		code := m.Run()
		if binDir != "" {
			_ = os.RemoveAll(binDir)
		}
		os.Exit(code)
	case "ptrace":
		os.Exit(helperPtrace())
	case "memfd":
		os.Exit(helperMemfd())
	case "ssh":
		// An outbound TCP connection attempt to port 4444 of a
		// documentation address (RFC 5737): non-blocking, so EINPROGRESS.
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK, 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		err = unix.Connect(fd, &unix.SockaddrInet4{Port: 4444, Addr: [4]byte{198, 51, 100, 1}})
		unix.Close(fd)
		if err != nil && err != unix.EINPROGRESS {
			fmt.Fprintln(os.Stderr, "connect 198.51.100.1:4444:", err)
			os.Exit(1)
		}
		os.Exit(0)
	case "traceme":
		// PTRACE_TRACEME, as anti-debugging code does; then exit.
		if _, _, errno := syscall.RawSyscall(syscall.SYS_PTRACE, syscall.PTRACE_TRACEME, 0, 0); errno != 0 {
			fmt.Fprintln(os.Stderr, "ptrace traceme:", errno)
			os.Exit(1)
		}
		os.Exit(0)
	default:
		if mode, ok := strings.CutPrefix(os.Getenv(helperEnv), "container:"); ok && len(os.Args) > 2 {
			if err := containerHelper(mode, os.Args[2]); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "unknown helper", os.Getenv(helperEnv))
		os.Exit(2)
	}
}

// helperPtrace starts `sleep 30`, attaches to it with PTRACE_ATTACH,
// detaches and kills it.
func helperPtrace() int {
	runtime.LockOSThread()
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	pid := cmd.Process.Pid
	if err := syscall.PtraceAttach(pid); err != nil {
		fmt.Fprintln(os.Stderr, "ptrace attach:", err)
		return 1
	}
	var ws syscall.WaitStatus
	_, _ = syscall.Wait4(pid, &ws, 0, nil)
	_ = syscall.PtraceDetach(pid)
	return 0
}

// helperMemfd copies /bin/true into a memfd and executes it from there.
func helperMemfd() int {
	fd, err := unix.MemfdCreate("lookout-e2e", 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "memfd_create:", err)
		return 1
	}
	src, err := os.Open("/bin/true")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	mf := os.NewFile(uintptr(fd), "memfd")
	if _, err := io.Copy(mf, src); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	err = unix.Exec(fmt.Sprintf("/proc/self/fd/%d", fd), []string{"lookout-memfd-true"}, os.Environ())
	fmt.Fprintln(os.Stderr, "exec memfd:", err)
	return 1
}

// action is one real action and the alert it must raise.
type action struct {
	rule     string
	priority api.Priority
	// cmd builds the command; dir is a fresh temporary directory whose
	// path appears in the alert (in proc.cmdline or proc.cwd), which is how
	// the test finds the alert among everything else on the machine.
	cmd func(t *testing.T, dir string) *exec.Cmd
	// key is the output field that holds dir ("proc.cmdline" by default).
	key string
	// container runs the action inside a Docker-named cgroup; the alert's
	// container.id must be that container's.
	container bool
	// needsSuccess skips the case when the action itself fails (a
	// facility the machine lacks, such as overlayfs).
	needsSuccess bool
	// fields are output fields that must equal these values; "$dir" is
	// replaced by the action's directory.
	fields map[string]string
}

func command(name string, args ...string) func(*testing.T, string) *exec.Cmd {
	return func(t *testing.T, dir string) *exec.Cmd {
		for i, a := range args {
			args[i] = replaceDir(a, dir)
		}
		return exec.Command(name, args...)
	}
}

func replaceDir(s, dir string) string {
	out := ""
	for i := 0; i < len(s); i++ {
		if s[i] == '$' && len(s) >= i+4 && s[i:i+4] == "$dir" {
			out += dir
			i += 3
			continue
		}
		out += string(s[i])
	}
	return out
}

// copyFile copies an executable into dir under name and returns its path.
func copyFile(t *testing.T, src, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func self(t *testing.T, mode, dir string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "lookout-e2e-helper", dir)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	cmd.Dir = dir
	return cmd
}

// actions are the stable rules the test triggers on the host.
func actions() []action {
	return []action{
		{rule: "Read sensitive file untrusted", priority: api.PriorityWarning,
			cmd:    command("cat", "/etc/shadow", "$dir/missing"),
			fields: map[string]string{"fd.name": "/etc/shadow", "proc.name": "cat", "user.name": "root", "evt.type": "openat"}},
		{rule: "Directory traversal monitored file read", priority: api.PriorityWarning,
			cmd:    command("cat", "/etc/../etc/../etc/shadow", "$dir/missing"),
			fields: map[string]string{"fd.name": "/etc/shadow", "fd.nameraw": "/etc/../etc/../etc/shadow", "proc.name": "cat", "user.name": "root"}},
		{rule: "Create Symlink Over Sensitive Files", priority: api.PriorityWarning,
			cmd:    command("ln", "-s", "/etc/shadow", "$dir/link"),
			fields: map[string]string{"evt.arg.target": "/etc/shadow", "evt.arg.linkpath": "$dir/link", "proc.name": "ln", "user.name": "root"}},
		{rule: "Create Hardlink Over Sensitive Files", priority: api.PriorityWarning,
			cmd:    command("ln", "/etc/shadow", "$dir/hard"),
			fields: map[string]string{"evt.arg.oldpath": "/etc/shadow", "evt.arg.newpath": "$dir/hard", "proc.name": "ln", "user.name": "root"}},
		{rule: "Search Private Keys or Passwords", priority: api.PriorityWarning,
			cmd:    command("find", "$dir", "-name", "id_rsa"),
			fields: map[string]string{"proc.name": "find", "proc.cmdline": "find $dir -name id_rsa", "user.name": "root"}},
		{rule: "Clear Log Activities", priority: api.PriorityWarning,
			cmd:    command("sh", "-c", ": > $dir/auth.log"),
			fields: map[string]string{"fd.name": "$dir/auth.log", "proc.name": "sh", "user.name": "root"}},
		{rule: "Remove Bulk Data from Disk", priority: api.PriorityWarning,
			cmd: func(t *testing.T, dir string) *exec.Cmd {
				writeFile(t, filepath.Join(dir, "data"), "secret data")
				return exec.Command("shred", filepath.Join(dir, "data"))
			},
			fields: map[string]string{"proc.name": "shred", "proc.cmdline": "shred $dir/data", "user.name": "root"}},
		{rule: "Run shell untrusted", priority: api.PriorityNotice,
			cmd: func(t *testing.T, dir string) *exec.Cmd {
				// A shell spawned by a process named like a web server.
				nginx := copyFile(t, "/bin/sh", dir, "nginx")
				return exec.Command(nginx, "-c", "sh -c 'true "+dir+"'; true")
			},
			fields: map[string]string{"proc.name": "sh", "proc.pname": "nginx", "user.name": "root"}},
		{rule: "PTRACE attached to process", priority: api.PriorityWarning,
			cmd:    func(t *testing.T, dir string) *exec.Cmd { return self(t, "ptrace", dir) },
			fields: map[string]string{"evt.type": "ptrace", "user.name": "root"}},
		{rule: "PTRACE anti-debug attempt", priority: api.PriorityNotice,
			cmd:    func(t *testing.T, dir string) *exec.Cmd { return self(t, "traceme", dir) },
			fields: map[string]string{"evt.type": "ptrace", "user.name": "root"}},
		{rule: "Disallowed SSH Connection Non Standard Port", priority: api.PriorityNotice,
			cmd: func(t *testing.T, dir string) *exec.Cmd {
				cmd := self(t, "ssh", dir)
				cmd.Args[0] = filepath.Join(dir, "ssh") // proc.exe (argv[0]) ends with ssh
				return cmd
			},
			needsSuccess: true,
			fields:       map[string]string{"evt.type": "connect", "fd.rport": "4444", "fd.l4proto": "tcp", "user.name": "root"}},
		{rule: "Read sensitive file trusted after startup", priority: api.PriorityWarning,
			cmd: func(t *testing.T, dir string) *exec.Cmd {
				// A server process (named httpd) reads /etc/shadow itself
				// more than 5 s after it started.
				httpd := copyFile(t, "/bin/sh", dir, "httpd")
				return exec.Command(httpd, "-c", "sleep 5.5; read x < /etc/shadow; : "+dir)
			},
			fields: map[string]string{"fd.name": "/etc/shadow", "proc.name": "httpd", "user.name": "root"}},
		{rule: "Fileless execution via memfd_create", priority: api.PriorityCritical,
			cmd: func(t *testing.T, dir string) *exec.Cmd { return self(t, "memfd", dir) },
			key: "proc.cwd", fields: map[string]string{"user.name": "root"}},
		{rule: "Execution from /dev/shm", priority: api.PriorityWarning,
			cmd: func(t *testing.T, dir string) *exec.Cmd {
				shm, err := os.MkdirTemp("/dev/shm", "lookout-e2e-")
				if err != nil {
					t.Skipf("skipping: /dev/shm is not usable here: %v", err)
				}
				t.Cleanup(func() { os.RemoveAll(shm) })
				exe := copyFile(t, "/bin/true", shm, "lookout-true")
				return exec.Command(exe, dir)
			},
			fields: map[string]string{"proc.name": "lookout-true", "user.name": "root"}},
		{rule: "Find AWS Credentials", priority: api.PriorityWarning,
			cmd:    command("find", "$dir", "-path", "*/.aws/credentials"),
			fields: map[string]string{"proc.name": "find", "user.name": "root"}},
		{rule: "System user interactive", priority: api.PriorityInformational,
			cmd: func(t *testing.T, dir string) *exec.Cmd {
				// nobody runs a command under a process named sshd.
				sshd := copyFile(t, "/bin/sh", dir, "sshd")
				return exec.Command(sshd, "-c", "setpriv --reuid=65534 --regid=65534 --clear-groups /bin/true "+dir+"; true")
			},
			fields: map[string]string{"user.name": "nobody", "proc.name": "true"}},
	}
}
