package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStateBlock(t *testing.T) {
	const outs = "outputs:\n  - {name: a, type: stdout}\n"
	c, err := loadYAML(t, outs)
	if err != nil {
		t.Fatal(err)
	}
	if c.State.Postgres.On() {
		t.Fatal("no state block must mean the embedded store")
	}

	c, err = loadYAML(t, "state: {postgres: {dsn: 'postgres://u:pw@db/lookout', max_conns: 4, timeout: 500ms}}\n"+outs)
	if err != nil {
		t.Fatal(err)
	}
	if p := c.State.Postgres; !p.On() || p.DSN != "postgres://u:pw@db/lookout" || p.MaxConns != 4 || p.Timeout != 500*time.Millisecond {
		t.Fatalf("postgres = %+v", p)
	}
	if s := c.State.Postgres.String(); strings.Contains(s, "pw") {
		t.Fatalf("String shows the DSN: %s", s)
	}

	// The DSN from a file (a mounted Secret), trailing newline dropped.
	f := filepath.Join(t.TempDir(), "dsn")
	if err := os.WriteFile(f, []byte("host=/tmp dbname=lookout\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = loadYAML(t, "state: {postgres: {dsn_file: "+f+"}}\n"+outs)
	if err != nil {
		t.Fatal(err)
	}
	if c.State.Postgres.DSN != "host=/tmp dbname=lookout" {
		t.Fatalf("dsn from file = %q", c.State.Postgres.DSN)
	}

	// The chart's form: max_conns in the file, the DSN from the environment.
	t.Setenv("LOOKOUT_STATE_POSTGRES_DSN", "postgres://env/lookout")
	c, err = loadYAML(t, "state: {postgres: {max_conns: 2}}\n"+outs)
	if err != nil {
		t.Fatal(err)
	}
	if p := c.State.Postgres; p.DSN != "postgres://env/lookout" || p.MaxConns != 2 {
		t.Fatalf("postgres from env = %+v", p)
	}
}

func TestStateBlockErrors(t *testing.T) {
	const outs = "outputs:\n  - {name: a, type: stdout}\n"
	for _, tc := range []struct{ yaml, want string }{
		{"state: {postgres: {max_conns: 4}}", "state.postgres: dsn or dsn_file is required"},
		{"state: {postgres: {dsn: x, dsn_file: /y}}", "state.postgres: set dsn or dsn_file, not both"},
		{"state: {postgres: {dsn_file: /nonexistent/dsn}}", "state.postgres.dsn_file: open /nonexistent/dsn"},
		{"state: {postgres: {dsn: x, max_conns: -1}}", "state.postgres.max_conns: -1 must not be negative"},
		{"state: {postgres: {dsn: x, timeout: soon}}", "state.postgres.timeout"},
		{"state: {postgress: {dsn: x}}", "state.postgress: unknown key"},
	} {
		_, err := loadYAML(t, tc.yaml+"\n"+outs)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
