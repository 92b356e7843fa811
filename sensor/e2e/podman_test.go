package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/sensor/internal/ruleset"
)

// The podman test runs real containers (podman + runc, an image imported
// from a busybox rootfs, no registry) under the real sensor with Falco's
// stable, incubating and sandbox rules, and checks that each container
// rule fires with the container's id, name and image. Metadata comes from
// podman's Docker-compatible API socket, which the test starts.

// podmanConf is the containers.conf this sandbox needs: no CAP_SYS_RESOURCE
// for the default ulimits, and runc (Debian's podman defaults to crun).
const podmanConf = `[containers]
default_ulimits = []
[engine]
runtime = "runc"
`

// podmanRules enables the sandbox drift rules (disabled upstream) and
// widens container_entrypoint by the name of this machine's PID 1: here
// a container's processes are reparented to it instead of systemd or
// conmon, which the upstream macro lists. Falco's own override syntax, as
// a user would write it.
func podmanRules(pid1 string) string {
	return `- rule: Container Drift Detected (chmod)
  enabled: true
- rule: Container Drift Detected (open+create)
  enabled: true
- macro: container_entrypoint
  condition: or proc.pname = "` + pid1 + `"
  override:
    condition: append
`
}

type podman struct {
	t     *testing.T
	conf  string
	image string
}

func (p *podman) cmd(args ...string) *exec.Cmd {
	c := exec.Command("podman", args...)
	c.Env = append(os.Environ(), "CONTAINERS_CONF="+p.conf)
	return c
}

func (p *podman) run(args ...string) string {
	p.t.Helper()
	out, err := p.cmd(args...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// setupPodman checks the tools, builds the image and starts the API
// service; everything is removed when the test ends.
func setupPodman(t *testing.T, work string) (*podman, string) {
	t.Helper()
	for _, tool := range []string{"podman", "runc", "tar"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: %s is not installed (make test-deps-containers installs podman, runc and busybox-static)", tool)
		}
	}
	busybox := "/bin/busybox"
	if _, err := os.Stat(busybox); err != nil {
		t.Skip("skipping: no /bin/busybox (make test-deps-containers installs busybox-static)")
	}
	p := &podman{t: t, conf: writeFile(t, filepath.Join(work, "containers.conf"), podmanConf)}

	// The image: busybox and its applets, plus the static helper as
	// lookout-helper and kubectl, and apk (a package manager's name).
	root := filepath.Join(work, "rootfs")
	for _, d := range []string{"bin", "sbin", "etc", "tmp", "proc", "sys", "dev"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, busybox, filepath.Join(root, "bin"), "busybox")
	for _, a := range []string{"sh", "cat", "chmod", "cp", "unshare", "nc", "ls", "true", "sleep", "echo"} {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", a)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("../bin/busybox", filepath.Join(root, "sbin", "apk")); err != nil {
		t.Fatal(err)
	}
	helper := filepath.Join(root, "bin", "lookout-helper")
	build := exec.Command("go", "build", "-trimpath", "-o", helper, "./testdata/ctrhelper")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the container helper: %v\n%s", err, out)
	}
	copyFile(t, helper, filepath.Join(root, "bin"), "kubectl")
	writeFile(t, filepath.Join(root, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n")
	tarball := filepath.Join(work, "rootfs.tar")
	if out, err := exec.Command("tar", "-C", root, "-cf", tarball, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	p.image = "localhost/lookout-e2e:" + hex.EncodeToString(b[:])
	// A default command, so the image can also serve as a CRI pod
	// sandbox ("pause") image.
	p.run("import", "--change", `CMD ["/bin/sleep", "3600"]`, tarball, p.image)
	t.Cleanup(func() { _ = p.cmd("rmi", "-f", p.image).Run() })

	// podman's Docker-compatible API, where the sensor reads metadata.
	sock := filepath.Join(work, "podman.sock")
	svc := p.cmd("system", "service", "--time=0", "unix://"+sock)
	svc.Stdout, svc.Stderr = os.Stderr, os.Stderr
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Process.Kill(); _ = svc.Wait() })
	deadline := time.Now().Add(time.Minute)
	for {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("podman system service did not listen on %s within a minute", sock)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return p, sock
}

// ctrCase is one container run and the rule it must raise.
type ctrCase struct {
	name  string   // container name suffix
	rule  string   // rule that must fire for the container
	flags []string // podman run flags
	cmd   []string // command in the container
	// match, when set, must hold for the alert too (e.g. not runc's own
	// events for the drift rules).
	match func(a *api.Alert) bool
}

func podmanCases() []ctrCase {
	notRunc := func(a *api.Alert) bool { return !strings.HasPrefix(field(a, "proc.cmdline"), "runc") }
	// Each container outlives its action by a moment: one that exits
	// within the metadata fetch (~0.1 s) can be gone before podman's API
	// answers (it then reports "no such process"), and its alerts would
	// lack the name and image (see docs/state.md).
	sh := func(action string) []string { return []string{"/bin/sh", "-c", action + "; sleep 2"} }
	drift := sh("cp /bin/busybox /tmp/dropped && chmod +x /tmp/dropped && /tmp/dropped true")
	return []ctrCase{
		{name: "priv", rule: "Launch Privileged Container", flags: []string{"--privileged"}, cmd: sh("true")},
		{name: "mount", rule: "Launch Sensitive Mount Container", flags: []string{"-v", "/etc:/host/etc:ro"}, cmd: sh("true")},
		{name: "tty", rule: "Terminal shell in container", flags: []string{"-t"}, cmd: sh("true")},
		{name: "apk", rule: "Launch Package Management Process in Container", cmd: sh("/sbin/apk add curl")},
		{name: "chmod", rule: "Container Drift Detected (chmod)", cmd: drift, match: notRunc},
		{name: "create", rule: "Container Drift Detected (open+create)", cmd: drift, match: notRunc},
		{name: "dropexec", rule: "Drop and execute new binary in container", cmd: drift},
		{name: "unshare", rule: "Change namespace privileges via unshare", cmd: sh("/bin/unshare -U /bin/true")},
		{name: "environ", rule: "Read environment variable from /proc files", cmd: sh("/bin/cat /proc/1/environ >/dev/null")},
		{name: "nc", rule: "Launch Suspicious Network Tool in Container", cmd: sh("/bin/nc -w 1 127.0.0.1 1")},
		{name: "ec2", rule: "Contact EC2 Instance Metadata Service From Container", cmd: sh("/bin/lookout-helper ec2")},
		{name: "kubectl", rule: "Kubernetes Client Tool Launched in Container", cmd: sh("/bin/kubectl get pods")},
	}
}

// TestPodmanContainers runs each case in its own real container and waits
// for its rule's alert, checking container.id, .name and the image.
func TestPodmanContainers(t *testing.T) {
	needRoot(t)
	work := t.TempDir()
	p, sock := setupPodman(t, work)
	routerBin, sensorBin := build(t)
	sk := newSink(t)
	routerURL := startRouter(t, routerBin, work, sk.srv.URL)

	pid1 := "systemd"
	if b, err := os.ReadFile("/proc/1/comm"); err == nil {
		pid1 = strings.TrimSpace(string(b))
	}
	var files []string
	for _, f := range append([]ruleset.File{{Name: ruleset.DefaultName, Data: ruleset.Default}}, ruleset.Extra()...) {
		if f.Name == "falco-deprecated_rules.yaml" {
			continue
		}
		files = append(files, writeFile(t, filepath.Join(work, f.Name), string(f.Data)))
	}
	files = append(files, writeFile(t, filepath.Join(work, "podman-e2e.yaml"), podmanRules(pid1)))
	cfg := writeFile(t, filepath.Join(work, "sensor.yaml"), fmt.Sprintf(`
rules: [%s]
default_rules: false
rule_matching: all
metrics: {listen: "127.0.0.1:0"}
ring_size: 67108864
container_runtimes: {podman_socket: %s}
outputs:
  router:
    batch_interval: 10ms
`, strings.Join(files, ", "), sock))
	sensor := startSensor(t, sensorBin, "--config", cfg, "--router", routerURL)

	type started struct {
		c        ctrCase
		id, name string
	}
	var runs []started
	t0 := time.Now()
	for _, c := range podmanCases() {
		var b [3]byte
		_, _ = rand.Read(b[:])
		name := "lookout-e2e-" + c.name + "-" + hex.EncodeToString(b[:])
		cid := filepath.Join(work, name+".cid")
		args := append([]string{"run", "--rm", "--name", name, "--cidfile", cid}, c.flags...)
		args = append(append(args, p.image), c.cmd...)
		cmd := p.cmd(args...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Logf("podman run %s: %v (%s); rules fire on failed actions too", c.name, err, strings.TrimSpace(string(out)))
		}
		id, rerr := os.ReadFile(cid)
		if rerr != nil || len(strings.TrimSpace(string(id))) != 64 {
			t.Fatalf("podman run %s wrote no container id (%v): %s", c.name, rerr, out)
		}
		runs = append(runs, started{c: c, id: strings.TrimSpace(string(id)), name: name})
	}
	t.Logf("%d containers run in %s", len(runs), time.Since(t0).Round(time.Millisecond))

	repo, tag, _ := strings.Cut(p.image, ":")
	for _, r := range runs {
		t.Run(strings.ReplaceAll(r.c.rule, " ", "_"), func(t *testing.T) {
			got, ok := sk.tryWait(alertWait, func(a *api.Alert) bool {
				return a.Rule == r.c.rule && field(a, "container.id") == r.id[:12] && (r.c.match == nil || r.c.match(a))
			})
			if !ok {
				t.Fatalf("no %q alert for container %s (%s) within %s; the sink has %s", r.c.rule, r.id[:12], r.name, alertWait, podmanSummary(sk))
			}
			a := got.a
			if n := field(a, "container.name"); n != r.name {
				t.Errorf("container.name = %q, want %q", n, r.name)
			}
			for k, want := range map[string]string{"container.image.repository": repo, "container.image.tag": tag, "container.image": p.image} {
				if _, ok := a.OutputFields[k]; ok && field(a, k) != want {
					t.Errorf("%s = %q, want %q", k, field(a, k), want)
				}
			}
		})
	}
	// Every container's metadata arrived; report the delay from the
	// sensor first seeing the container to its metadata being applied.
	sensor.stop(t)
	var delays []time.Duration
	re := regexp.MustCompile(`msg="container metadata" container=([0-9a-f]{12}) .* delay=(\S+)`)
	for _, m := range re.FindAllStringSubmatch(sensor.logText(), -1) {
		if d, err := time.ParseDuration(m[2]); err == nil && slices.ContainsFunc(runs, func(r started) bool { return r.id[:12] == m[1] }) {
			delays = append(delays, d)
		}
	}
	if len(delays) == 0 {
		t.Errorf("the sensor logged no container metadata for the test's containers")
	} else {
		slices.Sort(delays)
		t.Logf("container first seen → metadata applied, %d containers: min %s, median %s, max %s",
			len(delays), delays[0], delays[len(delays)/2], delays[len(delays)-1])
	}
	if m := regexp.MustCompile(`msg="events held for container metadata" held=(\d+) evaluated_without=(\d+)`).FindStringSubmatch(sensor.logText()); m != nil {
		t.Logf("events held for container metadata: %s, evaluated without it after the bound: %s", m[1], m[2])
	}
}

// podmanSummary lists the container alerts the sink holds.
func podmanSummary(sk *sink) string {
	var out []string
	for _, r := range sk.all() {
		if id := field(r.a, "container.id"); id != "" && id != "host" {
			out = append(out, fmt.Sprintf("%s [%s %s]", r.a.Rule, id, field(r.a, "container.name")))
		}
	}
	return fmt.Sprintf("%d container alerts: %s", len(out), strings.Join(out, "; "))
}
