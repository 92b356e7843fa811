package config

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// State is the state: block, where the noise stage keeps its state
// (docs/replicas.md): embedded in the queue's file (the default, one
// replica), or in PostgreSQL, shared by every replica.
type State struct {
	Postgres Postgres `mapstructure:"postgres"`
}

// Postgres is the state.postgres block; without a DSN the state is
// embedded.
type Postgres struct {
	// DSN is a libpq URL or key=value string, from dsn, dsn_file (a file
	// holding it, e.g. a mounted Secret) or LOOKOUT_STATE_POSTGRES_DSN
	// (the generic environment override).
	DSN     Secret `mapstructure:"dsn"`
	DSNFile string `mapstructure:"dsn_file"`
	// MaxConns bounds this router's connections (0: the default, 8).
	MaxConns int `mapstructure:"max_conns"`
	// Timeout bounds an ingest request's decisions in the database before
	// they are made in safe mode (0: the default, 2s).
	Timeout time.Duration `mapstructure:"timeout"`
}

// On reports whether the state is shared in PostgreSQL.
func (p Postgres) On() bool { return p.DSN != "" }

// Validate reads dsn_file into DSN and checks the block.
func (s *State) Validate() error {
	p := &s.Postgres
	switch {
	case p.DSN != "" && p.DSNFile != "":
		return Errorf("postgres", "set dsn or dsn_file, not both")
	case p.DSNFile != "":
		b, err := os.ReadFile(p.DSNFile)
		if err != nil {
			return Errorf("postgres.dsn_file", "%w", err)
		}
		p.DSN = Secret(strings.TrimSpace(string(b)))
		if p.DSN == "" {
			return Errorf("postgres.dsn_file", "%s is empty", p.DSNFile)
		}
	case p.DSN == "" && (p.MaxConns != 0 || p.Timeout != 0):
		return Errorf("postgres", "dsn or dsn_file is required (or LOOKOUT_STATE_POSTGRES_DSN)")
	}
	if p.MaxConns < 0 {
		return Errorf("postgres.max_conns", "%d must not be negative", p.MaxConns)
	}
	if p.Timeout < 0 {
		return Errorf("postgres.timeout", "%s must not be negative", p.Timeout)
	}
	return nil
}

// String never shows the DSN.
func (p Postgres) String() string {
	return fmt.Sprintf("postgres(dsn=[redacted] max_conns=%d timeout=%s)", p.MaxConns, p.Timeout)
}
