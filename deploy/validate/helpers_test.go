package validate_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lookout-sec/lookout/deploy/validate"
)

const (
	repoRoot    = "../.."
	chartDir    = repoRoot + "/deploy/helm/lookout"
	allOutputs  = chartDir + "/ci/all-outputs-values.yaml"
	kubeVersion = "1.33.0"
)

// tool finds an external program: the path in env, else name in PATH. When
// it is missing the test is skipped, unless LOOKOUT_DEPLOY_TOOLS_REQUIRED=1
// (set by make test-deploy), where a missing tool is a failure.
func tool(t *testing.T, env, name string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	msg := name + " not found (set " + env + " or put it in PATH; make test-deps-deploy installs it)"
	if os.Getenv("LOOKOUT_DEPLOY_TOOLS_REQUIRED") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// helmTemplate renders the chart with the given extra helm arguments
// (-f FILE, --set K=V) and returns the manifest stream and helm's error.
func helmTemplate(t *testing.T, args ...string) (string, error) {
	t.Helper()
	helm := tool(t, "LOOKOUT_HELM", "helm")
	cmd := exec.Command(helm, append([]string{"template", "lk", chartDir, "--namespace", "sec", "--kube-version", kubeVersion}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), &helmError{err: err, stderr: stderr.String()}
	}
	return stdout.String(), nil
}

type helmError struct {
	err    error
	stderr string
}

func (e *helmError) Error() string { return e.err.Error() + ": " + strings.TrimSpace(e.stderr) }

// render renders and strictly validates the chart; any problem fails the test.
func render(t *testing.T, args ...string) []validate.Object {
	t.Helper()
	out, err := helmTemplate(t, args...)
	if err != nil {
		t.Fatalf("helm template %v: %v", args, err)
	}
	objs, err := validate.Decode([]byte(out))
	if err != nil {
		t.Fatalf("helm template %v renders invalid objects:\n%v", args, err)
	}
	return objs
}

func mustFind[T any](t *testing.T, objs []validate.Object, kind, name string) T {
	t.Helper()
	o := validate.Find(objs, kind, name)
	if o == nil {
		t.Fatalf("no %s/%s in %v", kind, name, validate.List(objs))
	}
	v, ok := o.Value.(T)
	if !ok {
		t.Fatalf("%s/%s is a %T", kind, name, o.Value)
	}
	return v
}

// routerBinary returns bin/lookout-router (LOOKOUT_ROUTER_BIN), building
// it into a temporary directory when it is not given.
func routerBinary(t *testing.T) string {
	t.Helper()
	return binary(t, "LOOKOUT_ROUTER_BIN", "./router/cmd/lookout-router")
}

// sensorBinary returns bin/lookout-sensor (LOOKOUT_SENSOR_BIN), or builds it.
func sensorBinary(t *testing.T) string {
	t.Helper()
	return binary(t, "LOOKOUT_SENSOR_BIN", "./sensor/cmd/lookout-sensor")
}

func binary(t *testing.T, env, pkg string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		return p
	}
	goBin := tool(t, "GO", "go")
	out := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := exec.Command(goBin, "build", "-o", out, pkg)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "GOWORK=") // the repo's go.work, not this module alone
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
	return out
}
