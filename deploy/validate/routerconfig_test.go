package validate_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// tricky secret values: quotes, backslashes, YAML and sed/awk specials, a
// trailing newline as `kubectl create secret --from-file` leaves it.
var secretEnv = map[string]string{
	"SECRET_O0_WEBHOOK_URL":           "https://hooks.slack.com/services/T0/B0/a&b\\c\"d'e: #f\n",
	"SECRET_O1_ROUTING_KEY":           "R0UT1NG&KEY/\\1",
	"SECRET_O2_PASSWORD":              "p@ss: {word} [x] 'y' \"z\" \\ & %s $HOME",
	"SECRET_O3_HEADERS_AUTHORIZATION": "Bearer abc.def/ghi==",
}

// shells are the sh+awk pairs render.sh must work with: the system's
// (dash and mawk on Debian) and busybox's, which the init container runs.
var shells = []string{"system", "busybox"}

// shellPath returns a PATH holding sh and awk of the named kind.
func shellPath(t *testing.T, kind string) string {
	t.Helper()
	if kind == "system" {
		return os.Getenv("PATH")
	}
	bb := tool(t, "LOOKOUT_BUSYBOX", "busybox")
	dir := t.TempDir()
	for _, name := range []string{"sh", "awk", "mv"} {
		if err := os.Symlink(bb, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// renderConfig runs the chart's render.sh with sh and awk (from pathEnv)
// over the rendered router.yaml, as the render-config init container does.
func renderConfig(t *testing.T, cm *corev1.ConfigMap, pathEnv string, env map[string]string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	tmpl, script, out := filepath.Join(dir, "router.yaml.tmpl"), filepath.Join(dir, "render.sh"), filepath.Join(dir, "router.yaml")
	for p, data := range map[string]string{tmpl: cm.Data["router.yaml"], script: cm.Data["render.sh"]} {
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	sh, err := exec.LookPath(filepath.Join(strings.Split(pathEnv, ":")[0], "sh"))
	if err != nil {
		sh = "sh"
	}
	cmd := exec.Command(sh, script, tmpl, out)
	cmd.Env = []string{"PATH=" + pathEnv}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", &helmError{err: err, stderr: string(b)}
	}
	return out, nil
}

// TestRenderedRouterConfigLoads follows a secret from the Secret to the
// router: render.sh puts each value in the config, YAML reads it back
// byte for byte, and the real router accepts the whole config (--check).
func TestRenderedRouterConfigLoads(t *testing.T) {
	router := routerBinary(t)
	objs := render(t, "-f", allOutputs)
	cm := mustFind[*corev1.ConfigMap](t, objs, "ConfigMap", "lk-lookout-router")
	for _, shell := range shells {
		t.Run(shell, func(t *testing.T) {
			out, err := renderConfig(t, cm, shellPath(t, shell), secretEnv)
			if err != nil {
				t.Fatalf("render.sh: %v", err)
			}
			checkRenderedConfig(t, router, out)
		})
	}
}

func checkRenderedConfig(t *testing.T, router, out string) {
	t.Helper()
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o600 {
		t.Errorf("rendered config mode = %v, want 0600", fi.Mode().Perm())
	}
	var cfg struct {
		Outputs []map[string]any `json:"outputs"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("rendered config is not YAML: %v\n%s", err, data)
	}
	got := map[string]any{
		"SECRET_O0_WEBHOOK_URL":           cfg.Outputs[0]["slack"].(map[string]any)["webhook_url"],
		"SECRET_O1_ROUTING_KEY":           cfg.Outputs[1]["pagerduty"].(map[string]any)["routing_key"],
		"SECRET_O2_PASSWORD":              cfg.Outputs[2]["elasticsearch"].(map[string]any)["password"],
		"SECRET_O3_HEADERS_AUTHORIZATION": cfg.Outputs[3]["webhook"].(map[string]any)["headers"].(map[string]any)["Authorization"],
	}
	for k, v := range secretEnv {
		if want := strings.TrimRight(v, "\n"); got[k] != want {
			t.Errorf("%s: config has %q, want %q", k, got[k], want)
		}
	}
	check := exec.Command(router, "--check", "--config", out)
	check.Env = append(os.Environ(), "LOOKOUT_AUTH_TOKENS=t0ken")
	b, err := check.CombinedOutput()
	if err != nil || !strings.Contains(string(b), "config ok") {
		t.Fatalf("lookout-router --check rejects the rendered config: %v\n%s\n--- config:\n%s", err, b, data)
	}
	for _, v := range secretEnv {
		if strings.Contains(string(b), strings.TrimRight(v, "\n")) {
			t.Errorf("router --check printed a secret: %s", b)
		}
	}
}

// TestRenderConfigMissingSecret: a placeholder without its variable stops
// the init container with the variable's name, and writes no config.
func TestRenderConfigMissingSecret(t *testing.T) {
	cm := mustFind[*corev1.ConfigMap](t, render(t, "-f", allOutputs), "ConfigMap", "lk-lookout-router")
	env := map[string]string{}
	for k, v := range secretEnv {
		if k != "SECRET_O2_PASSWORD" {
			env[k] = v
		}
	}
	for _, shell := range shells {
		t.Run(shell, func(t *testing.T) {
			_, err := renderConfig(t, cm, shellPath(t, shell), env)
			if err == nil || !strings.Contains(err.Error(), "environment variable SECRET_O2_PASSWORD is not set") {
				t.Fatalf("error = %v, want the missing variable named", err)
			}
		})
	}
}

// TestDefaultRouterConfigLoads: without secretRefs the ConfigMap is
// mounted as is and the router must accept it.
func TestDefaultRouterConfigLoads(t *testing.T) {
	router := routerBinary(t)
	objs := render(t)
	cm := mustFind[*corev1.ConfigMap](t, objs, "ConfigMap", "lk-lookout-router")
	if strings.Contains(cm.Data["router.yaml"], "__SECRET") {
		t.Fatalf("default config has placeholders:\n%s", cm.Data["router.yaml"])
	}
	p := filepath.Join(t.TempDir(), "router.yaml")
	if err := os.WriteFile(p, []byte(cm.Data["router.yaml"]), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(router, "--check", "--config", p).CombinedOutput(); err != nil || !strings.Contains(string(b), "config ok") {
		t.Fatalf("lookout-router --check: %v\n%s", err, b)
	}
}
