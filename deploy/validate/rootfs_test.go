package validate_test

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/deploy/validate"
)

// TestImageRootfs builds each image's binary with the RUN line of its
// Dockerfile (no container engine here: the same go build, run on this
// machine), assembles the final stage's root filesystem with
// validate.BuildRootfs (distroless base, then the stage's COPY, VOLUME,
// USER, ENTRYPOINT steps), checks the binary is static, and runs the
// entrypoint chrooted into that rootfs as the image's user: the router
// serves /healthz with its queue on the image's volume as uid 65532, the
// sensor loads its embedded rules. Needs root (chroot, chown).
func TestImageRootfs(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("LOOKOUT_DEPLOY_TOOLS_REQUIRED") == "1" {
			t.Fatal("TestImageRootfs needs root (chroot)")
		}
		t.Skip("needs root (chroot, chown)")
	}
	goBin := tool(t, "GO", "go")
	for _, tc := range []struct {
		file, binary string
		uid          int
		run          func(t *testing.T, root string, img *validate.Image)
	}{
		{"router.Dockerfile", "lookout-router", 65532, runRouterImage},
		{"sensor.Dockerfile", "lookout-sensor", 0, runSensorImage},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join(repoRoot, "deploy/docker", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			stages, err := validate.ParseDockerfile(f)
			f.Close()
			if err != nil {
				t.Fatalf("%s: %v", tc.file, err)
			}
			if len(stages) != 2 || stages[0].Name != "build" || !strings.HasPrefix(stages[0].From, "golang:1.26") {
				t.Fatalf("%s: want a golang:1.26 build stage then the image, got %+v", tc.file, stages)
			}
			out := t.TempDir()
			buildLikeDockerfile(t, goBin, stages[0], out)
			root := t.TempDir()
			img, err := validate.BuildRootfs(stages, map[string]string{"/out/" + tc.binary: filepath.Join(out, tc.binary)}, root)
			if err != nil {
				t.Fatalf("%s: %v", tc.file, err)
			}
			if img.UID != tc.uid || img.Entrypoint[0] != "/usr/local/bin/"+tc.binary {
				t.Fatalf("%s: user %d entrypoint %v, want %d and /usr/local/bin/%s", tc.file, img.UID, img.Entrypoint, tc.uid, tc.binary)
			}
			ef, err := elf.Open(filepath.Join(root, img.Entrypoint[0]))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range ef.Progs {
				if p.Type == elf.PT_INTERP {
					t.Errorf("%s is dynamically linked (distroless/static has no libc)", img.Entrypoint[0])
				}
			}
			ef.Close()
			out2, err := chrooted(root, img, "--version").CombinedOutput()
			if err != nil || !strings.Contains(string(out2), tc.binary+" 9.9.9-test (commit c0ffee") {
				t.Fatalf("%s --version in the rootfs: %v\n%s", tc.binary, err, out2)
			}
			tc.run(t, root, img)
		})
	}
}

// buildLikeDockerfile runs the build stage's go build RUN line on this
// machine, with the stage's ENV and ARGs (the target is this machine's
// architecture; VERSION and COMMIT set to test values), /out mapped to out.
func buildLikeDockerfile(t *testing.T, goBin string, st validate.Stage, out string) {
	t.Helper()
	args := map[string]string{"TARGETOS": "linux", "TARGETARCH": runtime.GOARCH, "VERSION": "9.9.9-test", "COMMIT": "c0ffee", "BUILD_DATE": "2026-01-01T00:00:00Z"}
	env := []string{}
	var run string
	for _, in := range st.Steps {
		switch in.Cmd {
		case "ENV":
			env = append(env, strings.Fields(in.Args)...)
		case "RUN":
			run = in.Args
		}
	}
	i := strings.Index(run, "GOOS=")
	if i < 0 {
		t.Fatalf("no `GOOS=... go build` in the RUN line %q", run)
	}
	cmdline := run[i:]
	cmdline = regexp.MustCompile(`\$\{?([A-Z_]+)\}?`).ReplaceAllStringFunc(cmdline, func(m string) string {
		name := strings.Trim(m, "${}")
		v, ok := args[name]
		if !ok {
			t.Fatalf("RUN line uses $%s, which is not a known build argument", name)
		}
		return v
	})
	cmdline = strings.ReplaceAll(cmdline, "/out/", out+"/")
	cmdline = strings.Replace(cmdline, " go build ", " "+goBin+" build ", 1)
	cmd := exec.Command("sh", "-c", cmdline)
	cmd.Dir = repoRoot
	cmd.Env = append(append(os.Environ(), env...), "GOWORK=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmdline, err, b)
	}
	if !strings.Contains(strings.Join(env, " "), "CGO_ENABLED=0") {
		t.Fatalf("the build stage does not set CGO_ENABLED=0: %v", env)
	}
}

// chrooted runs the image's entrypoint with args in root as its user.
func chrooted(root string, img *validate.Image, args ...string) *exec.Cmd {
	cmd := exec.Command(img.Entrypoint[0], append(img.Entrypoint[1:], args...)...)
	cmd.Path = img.Entrypoint[0] // resolved inside the chroot
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/home/nonroot"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root,
		Credential: &syscall.Credential{Uid: uint32(img.UID), Gid: uint32(img.GID)}}
	return cmd
}

func runRouterImage(t *testing.T, root string, img *validate.Image) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	// The image's CMD names the config file; the queue is the image's volume.
	if len(img.Cmd) != 2 || img.Cmd[0] != "--config" || len(img.Volumes) != 1 {
		t.Fatalf("router image: CMD %v volumes %v, want --config FILE and one volume", img.Cmd, img.Volumes)
	}
	cfg := fmt.Sprintf("listen: %s\nqueue:\n  dir: %s\noutputs:\n  - name: console\n    type: stdout\n", addr, img.Volumes[0])
	p := filepath.Join(root, img.Cmd[1])
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := chrooted(root, img, img.Cmd...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("the router in the rootfs (uid %d) did not serve /healthz: %v\n%s", img.UID, err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	ents, err := os.ReadDir(filepath.Join(root, img.Volumes[0]))
	if err != nil || len(ents) == 0 {
		t.Errorf("the router wrote no queue into its volume %s: %v", img.Volumes[0], err)
	}
}

func runSensorImage(t *testing.T, root string, img *validate.Image) {
	rule := "- rule: Terminal shell in container\n  enabled: false\n  override: {enabled: replace}\n"
	if err := os.WriteFile(filepath.Join(root, "tmp/50-tune.yaml"), []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := chrooted(root, img, "rules", "validate", "--strict", "--default", "/tmp/50-tune.yaml").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "overrides 1: rule 'Terminal shell in container' (enabled: replace)") {
		t.Fatalf("lookout-sensor rules validate in the rootfs: %v\n%s", err, out)
	}
}
