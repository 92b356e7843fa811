package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/router/api"
)

// containerdConf runs a private containerd (1.6, CRI plugin) in dir. The
// sandbox lacks CAP_SYS_RESOURCE, so the pause container may not lower
// its oom_score_adj below containerd's (restrict_oom_score_adj); no CNI
// (the pod uses the host network).
func containerdConf(dir, sandboxImage string) string {
	return fmt.Sprintf(`version = 2
root = "%[1]s/root"
state = "%[1]s/state"
[grpc]
  address = "%[1]s/containerd.sock"
[ttrpc]
  address = "%[1]s/containerd.sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "%[2]s"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "%[1]s/cni"
    conf_dir = "%[1]s/cni"
`, dir, sandboxImage)
}

// TestContainerdCRIPod runs a Kubernetes-style pod through containerd's
// CRI, as the kubelet would (cgroupfs layout, pod labels on the sandbox),
// and checks that the sensor fills the pod's metadata from the CRI —
// k8s.ns.name, k8s.pod.name/uid, k8s.pod.label[…] from PodSandboxStatus,
// k8s.workload.name/kind — on the container's very first exec.
func TestContainerdCRIPod(t *testing.T) {
	needRoot(t)
	for _, tool := range []string{"containerd", "ctr"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: %s is not installed (make test-deps-containers installs containerd)", tool)
		}
	}
	work := t.TempDir()
	p, podmanSock := setupPodman(t, work)
	ctrd := filepath.Join(work, "containerd")
	if err := os.MkdirAll(filepath.Join(ctrd, "cni"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfgPath := writeFile(t, filepath.Join(ctrd, "config.toml"), containerdConf(ctrd, p.image))
	sock := filepath.Join(ctrd, "containerd.sock")
	cd := exec.Command("containerd", "--config", cfgPath)
	var cdLog strings.Builder
	cd.Stdout, cd.Stderr = &cdLog, &cdLog
	if err := cd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cd.Process.Kill()
		_ = cd.Wait()
		if t.Failed() {
			t.Logf("containerd log:\n%s", cdLog.String())
		}
	})
	deadline := time.Now().Add(time.Minute)
	for {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("containerd did not listen on %s within a minute", sock)
		}
		time.Sleep(50 * time.Millisecond)
	}
	archive := filepath.Join(work, "image.tar")
	p.run("save", "--format", "docker-archive", "-o", archive, p.image)
	if out, err := exec.Command("ctr", "-a", sock, "-n", "k8s.io", "images", "import", archive).CombinedOutput(); err != nil {
		t.Fatalf("ctr images import: %v\n%s", err, out)
	}
	crirun := filepath.Join(work, "crirun")
	if out, err := exec.Command("go", "build", "-trimpath", "-o", crirun, "./testdata/crirun").CombinedOutput(); err != nil {
		t.Fatalf("build crirun: %v\n%s", err, out)
	}

	routerBin, sensorBin := build(t)
	sk := newSink(t)
	routerURL := startRouter(t, routerBin, work, sk.srv.URL)
	rules := writeFile(t, filepath.Join(work, "cri.yaml"), `- rule: E2E CRI pod
  desc: a process in the pod's container
  condition: evt.type in (execve, execveat) and container.id != host and k8s.workload.name = app-dashboard
  output: pod %k8s.pod.name (%k8s.ns.name, uid %k8s.pod.uid, app=%k8s.pod.label[app], labels %k8s.pod.labels) workload %k8s.workload.kind/%k8s.workload.name image %container.image.repository host_network %container.host_network type %container.type cmd %proc.cmdline
  priority: WARNING
`)
	cfg := writeFile(t, filepath.Join(work, "sensor.yaml"), fmt.Sprintf(`
rules: [%s]
default_rules: false
rule_matching: all
metrics: {listen: "127.0.0.1:0"}
ring_size: 67108864
container_runtimes: {podman_socket: %s, containerd_socket: %s}
outputs:
  router:
    batch_interval: 10ms
`, rules, podmanSock, sock))
	sensor := startSensor(t, sensorBin, "--config", cfg, "--router", routerURL)
	defer sensor.stop(t)

	out, err := exec.Command(crirun, "-socket", sock, "-image", p.image, "-pod", "app-dashboard-7d9f8b-xk2lp", "-ns", "shop",
		"-uid", "6f1c2d3e-0000-4000-8000-000000000001", "-label", "app=dashboard", "-label", "pod-template-hash=7d9f8b",
		"--", "/bin/cat", "/etc/passwd").CombinedOutput()
	if err != nil {
		t.Fatalf("crirun: %v\n%s", err, out)
	}
	var ctrID string
	for _, l := range strings.Split(string(out), "\n") {
		if id, ok := strings.CutPrefix(l, "container "); ok {
			ctrID = strings.TrimSpace(id)
		}
	}
	if len(ctrID) != 64 {
		t.Fatalf("crirun printed no container id:\n%s", out)
	}
	r := sk.waitFor(t, "the CRI pod's container", alertWait, func(a *api.Alert) bool {
		return a.Rule == "E2E CRI pod" && field(a, "container.id") == ctrID[:12] && field(a, "proc.cmdline") == "cat /etc/passwd"
	})
	repo, _, _ := strings.Cut(p.image, ":")
	for k, want := range map[string]string{
		"k8s.pod.name": "app-dashboard-7d9f8b-xk2lp", "k8s.ns.name": "shop", "k8s.pod.uid": "6f1c2d3e-0000-4000-8000-000000000001",
		"k8s.pod.label[app]": "dashboard", "k8s.pod.labels": "app:dashboard,pod-template-hash:7d9f8b",
		"k8s.workload.kind": "Deployment", "k8s.workload.name": "app-dashboard",
		"container.image.repository": repo, "container.host_network": "true", "container.type": "containerd",
	} {
		if got := field(r.a, k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	t.Logf("alert: %s", r.a.Output)
}
