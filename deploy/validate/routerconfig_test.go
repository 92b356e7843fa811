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

// tricky secret values: quotes, backslashes, YAML specials, "$" (the router
// expands ${VAR} in the file, never in a variable's value), a trailing
// newline as `kubectl create secret --from-file` leaves it.
var secretEnv = map[string]string{
	"SECRET_O0_WEBHOOK_URL":           "https://hooks.slack.com/services/T0/B0/a&b\\c\"d'e: #f\n",
	"SECRET_O1_ROUTING_KEY":           "R0UT1NG&KEY/\\1",
	"SECRET_O2_PASSWORD":              "p@ss: {word} [x] 'y' \"z\" \\ & %s $HOME ${HOME} $$",
	"SECRET_O3_HEADERS_AUTHORIZATION": "Bearer abc.def/ghi==",
}

// writeConfig writes the rendered router.yaml as the pod mounts it.
func writeConfig(t *testing.T, cm *corev1.ConfigMap) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "router.yaml")
	if err := os.WriteFile(p, []byte(cm.Data["router.yaml"]), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkConfig runs the real router's --check over p with env (as the
// StatefulSet's container env gives it).
func checkConfig(t *testing.T, router, p string, env map[string]string) (string, error) {
	t.Helper()
	check := exec.Command(router, "--check", "--config", p)
	check.Env = append(os.Environ(), "LOOKOUT_AUTH_TOKENS=t0ken")
	for k, v := range env {
		check.Env = append(check.Env, k+"="+v)
	}
	b, err := check.CombinedOutput()
	return string(b), err
}

// TestRenderedRouterConfigLoads follows a secret from the Secret to the
// router: the ConfigMap names each one as ${SECRET_…} exactly once at its
// key, and the real router, given the variables as the pod's env does,
// accepts the whole config (--check) without printing any of them.
func TestRenderedRouterConfigLoads(t *testing.T) {
	router := routerBinary(t)
	cm := mustFind[*corev1.ConfigMap](t, render(t, "-f", allOutputs), "ConfigMap", "lk-lookout-router")
	var cfg struct {
		Outputs []map[string]any `json:"outputs"`
	}
	if err := yaml.Unmarshal([]byte(cm.Data["router.yaml"]), &cfg); err != nil {
		t.Fatalf("router.yaml is not YAML: %v", err)
	}
	got := map[string]any{
		"SECRET_O0_WEBHOOK_URL":           cfg.Outputs[0]["slack"].(map[string]any)["webhook_url"],
		"SECRET_O1_ROUTING_KEY":           cfg.Outputs[1]["pagerduty"].(map[string]any)["routing_key"],
		"SECRET_O2_PASSWORD":              cfg.Outputs[2]["elasticsearch"].(map[string]any)["password"],
		"SECRET_O3_HEADERS_AUTHORIZATION": cfg.Outputs[3]["webhook"].(map[string]any)["headers"].(map[string]any)["Authorization"],
	}
	for k := range secretEnv {
		if want := "${" + k + "}"; got[k] != want {
			t.Errorf("config has %q at %s's key, want %q", got[k], k, want)
		}
	}
	b, err := checkConfig(t, router, writeConfig(t, cm), secretEnv)
	if err != nil || !strings.Contains(b, "config ok") {
		t.Fatalf("lookout-router --check rejects the rendered config: %v\n%s\n--- config:\n%s", err, b, cm.Data["router.yaml"])
	}
	for _, v := range secretEnv {
		if strings.Contains(b, strings.TrimRight(v, "\n")) {
			t.Errorf("router --check printed a secret: %s", b)
		}
	}
}

// TestRenderedConfigMissingSecret: a variable the pod does not have stops
// the router at start (and --check) naming the variable and its key.
func TestRenderedConfigMissingSecret(t *testing.T) {
	router := routerBinary(t)
	cm := mustFind[*corev1.ConfigMap](t, render(t, "-f", allOutputs), "ConfigMap", "lk-lookout-router")
	env := map[string]string{}
	for k, v := range secretEnv {
		if k != "SECRET_O2_PASSWORD" {
			env[k] = v
		}
	}
	b, err := checkConfig(t, router, writeConfig(t, cm), env)
	if err == nil || !strings.Contains(b, "outputs[2].elasticsearch.password: ${SECRET_O2_PASSWORD}: environment variable SECRET_O2_PASSWORD is not set") {
		t.Fatalf("--check: %v\n%s", err, b)
	}
}

// TestDefaultRouterConfigLoads: without secretRefs the ConfigMap is
// mounted as is and the router must accept it.
func TestDefaultRouterConfigLoads(t *testing.T) {
	router := routerBinary(t)
	objs := render(t)
	cm := mustFind[*corev1.ConfigMap](t, objs, "ConfigMap", "lk-lookout-router")
	if strings.Contains(cm.Data["router.yaml"], "SECRET_") {
		t.Fatalf("default config has placeholders:\n%s", cm.Data["router.yaml"])
	}
	if b, err := exec.Command(router, "--check", "--config", writeConfig(t, cm)).CombinedOutput(); err != nil || !strings.Contains(string(b), "config ok") {
		t.Fatalf("lookout-router --check: %v\n%s", err, b)
	}
}
