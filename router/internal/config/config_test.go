package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lookout-sec/lookout/outputs/registry"
)

func TestLoadErrors(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"bad priority", "outputs:\n  - {name: a, type: stdout, min_priority: warn}\n", `outputs[0].min_priority: "warn" is not a priority (allowed: emergency`},
		{"unknown top key", "lisen: x\noutputs:\n  - {name: a, type: stdout}\n", "lisen: unknown key"},
		{"unknown output key", "outputs:\n  - {name: a, type: stdout, colour: red}\n", "outputs[0].colour: unknown key"},
		{"unknown type", "outputs:\n  - {name: a, type: fax}\n", `outputs[0].type: "fax" is not a known output type`},
		{"no outputs", "listen: 127.0.0.1:1\n", "outputs: at least one output is required"},
		{"duplicate name", "outputs:\n  - {name: a, type: stdout}\n  - {name: a, type: stdout}\n", `outputs[1].name: "a" is used twice`},
		{"bad filter key", "outputs:\n  - {name: a, type: stdout, filters: {rule: {include: [x]}}}\n", "outputs[0].filters.rule: unknown key"},
		{"bad body limit", "body_limit: -1\noutputs:\n  - {name: a, type: stdout}\n", "body_limit: -1 is not a positive integer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(f, []byte(c.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(f, registry.Builtin())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestLoadOK(t *testing.T) {
	f := filepath.Join(t.TempDir(), "c.yaml")
	y := "auth: {tokens: [s3cret]}\noutputs:\n  - {name: a, type: webhook, min_priority: info, webhook: {url: 'http://127.0.0.1:1/h'}}\n"
	if err := os.WriteFile(f, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(f, registry.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:2801" || c.BodyLimit != 1<<20 || len(c.Tokens) != 1 || c.Outputs[0].Raw["url"] != "http://127.0.0.1:1/h" {
		t.Fatalf("unexpected config: %+v", c)
	}
	if strings.Contains(c.String(), "s3cret") {
		t.Fatalf("secret printed: %s", c)
	}
}
