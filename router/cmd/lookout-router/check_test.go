package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckRunsOutputValidation: --check fails for mistakes inside an
// output's block, as the real start does, naming the file and the key.
func TestCheckRunsOutputValidation(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct{ yaml, want string }{
		"slack": {"outputs:\n  - {name: s, type: slack, slack: {webhok_url: 'https://hooks.slack.com/services/T/B/x'}}\n",
			"outputs[0].slack.webhok_url: unknown key"},
		"es": {"outputs:\n  - {name: a, type: stdout}\n  - {name: es, type: elasticsearch, elasticsearch: {addresses: ['http://127.0.0.1:9200'], index_suffix: weekly}}\n",
			`outputs[1].elasticsearch.index_suffix: "weekly" is not one of`},
	} {
		f := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(f, []byte(c.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := newCommand()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs([]string{"--check", "--config", f})
		err := cmd.Execute()
		if err == nil || !strings.Contains(err.Error(), "config "+f+": "+c.want) {
			t.Errorf("%s: --check: %v (stdout %q), want %q", name, err, out.String(), c.want)
		}
	}
}
