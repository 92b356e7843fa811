package registry

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lookout-sec/lookout/outputs/elasticsearch"
	"github.com/lookout-sec/lookout/outputs/outputtest"
	"github.com/lookout-sec/lookout/outputs/pagerduty"
	"github.com/lookout-sec/lookout/router/api"
)

// valid holds a minimal valid config block for every builtin type.
var valid = map[string]map[string]any{
	"webhook":       {"url": "http://127.0.0.1:9/hook", "headers": map[string]any{"X-Team": "sec"}, "timeout": "3s"},
	"stdout":        nil,
	"slack":         {"webhook_url": "https://hooks.slack.com/services/T/B/x", "channel": "#sec"},
	"pagerduty":     {"routing_key": "R0UT1NGKEY", "rules": []any{"Terminal shell in container"}},
	"elasticsearch": {"addresses": []any{"http://127.0.0.1:9200"}, "index": "falco", "index_suffix": "monthly", "password": "p", "username": "u"},
}

func env() Env { return Env{Logger: slog.New(slog.DiscardHandler), Stdout: &bytes.Buffer{}} }

func TestTypes(t *testing.T) {
	want := []string{"elasticsearch", "pagerduty", "slack", "stdout", "webhook"}
	if got := Builtin().Types(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Types() = %v, want %v", got, want)
	}
	for _, typ := range want {
		if _, ok := valid[typ]; !ok {
			t.Errorf("no test config for output type %q", typ)
		}
	}
}

func TestEveryTypeBuilds(t *testing.T) {
	reg := Builtin()
	for typ, raw := range valid {
		t.Run(typ, func(t *testing.T) {
			o, err := reg.New(typ, raw, env())
			if err != nil {
				t.Fatalf("build: %v", err)
			}
			if err := o.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			if err := o.Close(); err != nil {
				t.Fatalf("second close: %v", err)
			}
		})
	}
}

func TestStdoutWritesToEnv(t *testing.T) {
	var buf bytes.Buffer
	o, err := Builtin().New("stdout", map[string]any{}, Env{Stdout: &buf})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Send(context.Background(), []*api.Alert{outputtest.Alert()}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"uuid":"3f1c1b9e-7d0a-4f6e-9a51-2b9f0c6d1e77"`) {
		t.Fatalf("stdout output did not write to Env.Stdout: %q", buf.String())
	}
}

func TestUnknownKeyNamed(t *testing.T) {
	reg := Builtin()
	for typ, raw := range valid {
		t.Run(typ, func(t *testing.T) {
			block := map[string]any{"no_such_key": 1}
			for k, v := range raw {
				block[k] = v
			}
			_, err := reg.New(typ, block, env())
			want := typ + ".no_such_key: unknown key (allowed: "
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("err = %v, want %q...", err, want)
			}
		})
	}
}

func TestBadValues(t *testing.T) {
	cases := []struct {
		typ  string
		raw  map[string]any
		want []string // substrings of the error
	}{
		{"webhook", map[string]any{"url": "http://h/x", "timeout": "soon"}, []string{"timeout"}},
		{"webhook", map[string]any{"url": "http://h/x", "timeout": 5}, []string{"timeout"}},
		{"webhook", nil, []string{"webhook.url: is required"}},
		{"slack", map[string]any{"webhok_url": "https://hooks.slack.com/x"}, []string{"slack.webhok_url: unknown key", "webhook_url_file"}},
		{"webhook", map[string]any{"url": []any{"http://h/x"}}, []string{"url"}},
		// Secrets decode from strings only: a number or a list is a mistake.
		{"elasticsearch", map[string]any{"password": 12345, "username": "u"}, []string{"password", "expected type"}},
		{"elasticsearch", map[string]any{"api_key": []any{"a", "b"}}, []string{"api_key"}},
		{"pagerduty", map[string]any{"routing_key": 42}, []string{"routing_key"}},
		{"pagerduty", nil, []string{"pagerduty.routing_key: is required"}},
		{"slack", map[string]any{"token": true, "channel": "#c"}, []string{"token"}},
		{"slack", map[string]any{"webhook_url": map[string]any{"url": "x"}}, []string{"webhook_url"}},
		{"elasticsearch", map[string]any{"index_suffix": "weekly"}, []string{"elasticsearch.index_suffix", "weekly"}},
		{"elasticsearch", map[string]any{"addresses": "http://127.0.0.1:9200"}, []string{"addresses"}},
	}
	reg := Builtin()
	for _, c := range cases {
		t.Run(c.typ, func(t *testing.T) {
			_, err := reg.New(c.typ, c.raw, env())
			if err == nil {
				t.Fatalf("%v: accepted", c.raw)
			}
			t.Logf("%s %v: %v", c.typ, c.raw, err)
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%v: err %q does not mention %q", c.raw, err, w)
				}
			}
		})
	}
}

func TestSecretsNotInErrors(t *testing.T) {
	const secret = "s3cr3t-value-never-shown"
	reg := Builtin()
	for _, c := range []struct {
		typ string
		raw map[string]any
	}{
		{"slack", map[string]any{"webhook_url": "ftp://" + secret}},
		{"slack", map[string]any{"token": secret}}, // missing channel
		{"pagerduty", map[string]any{"routing_key": secret, "endpoint": "nope"}},
		{"elasticsearch", map[string]any{"api_key": secret, "username": "u"}},
	} {
		_, err := reg.New(c.typ, c.raw, env())
		if err == nil {
			t.Fatalf("%s %v: accepted", c.typ, c.raw)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error leaks the secret: %v", c.typ, err)
		}
	}
}

// TestSecretFiles: every Secret key K may be given as K_file; the file's
// content (one trailing newline dropped) is the value, and both at once or
// a missing file fail naming the key.
func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "key")
	if err := os.WriteFile(f, []byte("R0UT1NGKEY\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reg := Builtin()
	s, err := reg.Check("pagerduty", map[string]any{"routing_key_file": f})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(s.(pagerduty.Config).RoutingKey); got != "R0UT1NGKEY" {
		t.Fatalf("routing key %q", got)
	}
	for raw, want := range map[string]map[string]any{
		"pagerduty.routing_key_file: set routing_key or routing_key_file, not both": {"routing_key_file": f, "routing_key": "x"},
		"pagerduty.routing_key_file: open " + filepath.Join(dir, "nope"):            {"routing_key_file": filepath.Join(dir, "nope")},
	} {
		_, err := reg.Check("pagerduty", want)
		if err == nil || !strings.HasPrefix(err.Error(), raw) {
			t.Errorf("%v: err %v, want %q", want, err, raw)
		}
	}
	// ca_file is a path, not a secret file: it stays as written.
	s, err = reg.Check("elasticsearch", map[string]any{"addresses": []any{"http://127.0.0.1:9200"}, "password_file": f, "username": "u", "ca_file": f})
	if err != nil {
		t.Fatal(err)
	}
	if c := s.(elasticsearch.Config); string(c.Password) != "R0UT1NGKEY" || c.CAFile != f {
		t.Fatalf("elasticsearch: %+v", c)
	}
}
