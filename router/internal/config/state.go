package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/viper"
)

// State is where the noise stage keeps its state (docs/replicas.md):
// embedded in the queue's file (the default, one replica), or in
// PostgreSQL, shared by every replica.
type State struct {
	Postgres *Postgres // nil: embedded
}

// Postgres is the state.postgres block.
type Postgres struct {
	// DSN is a libpq URL or key=value string, from dsn, dsn_file (a file
	// holding it, e.g. a mounted Secret) or LOOKOUT_STATE_POSTGRES_DSN.
	DSN Secret
	// MaxConns bounds this router's connections (default 8).
	MaxConns int
	// Timeout bounds an ingest request's decisions in the database before
	// they are made in safe mode (default 2s).
	Timeout time.Duration
}

type rawPostgres struct {
	DSN      string        `mapstructure:"dsn"`
	DSNFile  string        `mapstructure:"dsn_file"`
	MaxConns int           `mapstructure:"max_conns"`
	Timeout  time.Duration `mapstructure:"timeout"`
}

// parseState reads the state block; the DSN may come from the
// environment (LOOKOUT_STATE_POSTGRES_DSN) without a block in the file.
func parseState(v *viper.Viper) (State, error) {
	var raw struct {
		Postgres *rawPostgres `mapstructure:"postgres"`
	}
	if r := v.Get("state"); r != nil {
		if _, ok := r.(map[string]any); !ok {
			return State{}, errors.New("state: expected a mapping with the key postgres")
		}
		if err := decodeStrict(r, &raw); err != nil {
			return State{}, cleanDecodeError("state", err)
		}
	}
	if env := os.Getenv("LOOKOUT_STATE_POSTGRES_DSN"); env != "" {
		if raw.Postgres == nil {
			raw.Postgres = &rawPostgres{}
		}
		raw.Postgres.DSN = env
	}
	if raw.Postgres == nil {
		return State{}, nil
	}
	p := raw.Postgres
	switch {
	case p.DSN != "" && p.DSNFile != "":
		return State{}, errors.New("state.postgres: set dsn or dsn_file, not both")
	case p.DSNFile != "":
		b, err := os.ReadFile(p.DSNFile)
		if err != nil {
			return State{}, fmt.Errorf("state.postgres.dsn_file: %w", err)
		}
		p.DSN = strings.TrimSpace(string(b))
		if p.DSN == "" {
			return State{}, fmt.Errorf("state.postgres.dsn_file: %s is empty", p.DSNFile)
		}
	case p.DSN == "":
		return State{}, errors.New("state.postgres: dsn or dsn_file is required (or LOOKOUT_STATE_POSTGRES_DSN)")
	}
	if p.MaxConns < 0 || p.Timeout < 0 {
		return State{}, errors.New("state.postgres: max_conns and timeout must not be negative")
	}
	return State{Postgres: &Postgres{DSN: Secret(p.DSN), MaxConns: p.MaxConns, Timeout: p.Timeout}}, nil
}
