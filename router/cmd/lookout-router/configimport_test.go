package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigImport runs `lookout-router config import FILE -o OUT` and then
// `lookout-router --check --config OUT`, as a user would.
func TestConfigImport(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "falcosidekick.yaml")
	out := filepath.Join(dir, "lookout.yaml")
	src := "slack:\n  webhookurl: https://hooks.slack.com/services/T/B/secretpart\n  minimumpriority: warning\nteams:\n  webhookurl: https://outlook.office.com/webhook/x\n"
	if err := os.WriteFile(in, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, string, error) {
		cmd := newCommand()
		var stdout, stderr bytes.Buffer
		cmd.SetOut(&stdout)
		cmd.SetErr(&stderr)
		cmd.SetArgs(args)
		err := cmd.Execute()
		return stdout.String(), stderr.String(), err
	}
	_, stderr, err := run("config", "import", in, "-o", out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "warning: teams.webhookurl:") || !strings.Contains(stderr, "wrote "+out) {
		t.Errorf("stderr: %s", stderr)
	}
	if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("output file mode: %v %v", st, err)
	}
	stdout, _, err := run("--check", "--config", out)
	if err != nil || !strings.Contains(stdout, "slack(slack>=Warning)") {
		t.Fatalf("--check: %v %s", err, stdout)
	}
	if _, _, err := run("config", "import"); err == nil || !strings.Contains(err.Error(), "--env") {
		t.Errorf("no file and no --env: %v", err)
	}
	if _, _, err := run("config", "import", filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("missing file must fail")
	}
}
