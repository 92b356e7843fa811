// Package config loads the router's YAML configuration. The file is decoded
// once, strictly, into the typed Config (mapstructure with decode hooks for
// durations, sizes, priorities and matchers); then every section validates
// itself and every output block is checked by its own output package
// (registry.Check). `lookout-router --check` and the real start call the
// same Load, so what --check accepts the router starts with.
//
// Values may name environment variables: "${VAR}" anywhere in a string value
// is replaced by the variable's value (an unset variable is an error naming
// the key; "$$" is a literal "$"). Secrets of outputs may also be read from
// files (K_file, see registry.Decode). LOOKOUT_-prefixed environment
// variables override the scalar keys outside outputs and noise
// (LOOKOUT_LISTEN, LOOKOUT_AUTH_TOKENS="a b", LOOKOUT_ADMIN_TOKENS,
// LOOKOUT_BODY_LIMIT, LOOKOUT_QUEUE_DIR, LOOKOUT_QUEUE_MAX_BYTES,
// LOOKOUT_SERVER_MAX_REQUESTS, ...: the key path upper-cased, dots as
// underscores).
//
// Adding a top-level section (ui:, state:, ...) is one field on Config with
// a mapstructure tag, its defaults in Defaults if it has any, and a
// Validate() error method on its type: Load decodes it, rejects unknown
// keys in it, calls its Validate and prefixes the errors' key paths with
// the section's name. Return errors from Validate with Errorf(key, ...) so
// they name the key inside the section.
package config

import (
	"fmt"
	"time"

	"github.com/lookout-sec/lookout/outputs/registry"
	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/match"
)

// Secret is a string that never prints its value.
type Secret string

// String returns a redacted placeholder.
func (Secret) String() string { return "[redacted]" }

// GoString returns a redacted placeholder.
func (Secret) GoString() string { return `"[redacted]"` }

// Config is the router's configuration, as written in the YAML file.
type Config struct {
	Listen          string        `mapstructure:"listen"` // default 127.0.0.1:2801
	Auth            Auth          `mapstructure:"auth"`   // ingest bearer tokens; none disables auth
	Admin           Admin         `mapstructure:"admin"`  // /admin bearer tokens; none disables the admin API
	BodyLimit       int64         `mapstructure:"body_limit"`
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"`
	Queue           Queue         `mapstructure:"queue"`
	Noise           Noise         `mapstructure:"noise"`
	State           State         `mapstructure:"state"`  // where the noise stage's state lives (state.go)
	Server          Server        `mapstructure:"server"` // HTTP limits (server.go)
	UI              UI            `mapstructure:"ui"`     // the triage web UI (ui.go)
	Outputs         []Output      `mapstructure:"outputs"`

	// Tokens and AdminTokens are Auth.Tokens and Admin.Tokens.
	Tokens      []Secret `mapstructure:"-"`
	AdminTokens []Secret `mapstructure:"-"`
}

// Defaults returns the configuration an empty file means (without outputs,
// which are required).
func Defaults() Config {
	return Config{
		Listen: "127.0.0.1:2801", BodyLimit: 1 << 20, ShutdownTimeout: 10 * time.Second,
		Queue: Queue{Dir: DefaultQueueDir, MaxBytes: DefaultQueueMaxBytes}, Server: DefaultServer(), UI: DefaultUI(),
	}
}

// Auth is a list of bearer tokens (the auth: and admin: blocks).
type Auth struct {
	Tokens []Secret `mapstructure:"tokens"`
}

// Admin is the admin: block: its tokens guard /admin and the UI.
type Admin struct {
	Auth `mapstructure:",squash"`
	// Pprof mounts Go's profiler (net/http/pprof) at /admin/debug/pprof/,
	// behind the admin tokens; off by default.
	Pprof bool `mapstructure:"pprof"`
}

// Validate rejects empty tokens.
func (a Auth) Validate() error {
	for _, t := range a.Tokens {
		if t == "" {
			return Errorf("tokens", "an empty token is not allowed")
		}
	}
	return nil
}

// Output is one configured destination.
type Output struct {
	Name        string            `mapstructure:"name"`
	Type        string            `mapstructure:"type"`
	MinPriority api.Priority      `mapstructure:"min_priority"`
	Filters     Filters           `mapstructure:"filters"`
	Delivery    Delivery          `mapstructure:",squash"`
	Noise       NoisePolicy       `mapstructure:",squash"`
	Block       map[string]any    `mapstructure:",remain"` // the block under the key named like Type
	Settings    registry.Settings `mapstructure:"-"`       // Block decoded and validated by the output's package
}

// TypeBlock is the raw block named like the output's type (nil if absent).
func (o Output) TypeBlock() map[string]any {
	m, _ := o.Block[o.Type].(map[string]any)
	return m
}

// Filters selects the alerts an output gets (docs/router-config.md).
type Filters struct {
	Rules   Match      `mapstructure:"rules"`
	Tags    Match      `mapstructure:"tags"`
	Sources Match      `mapstructure:"sources"`
	Fields  FieldMatch `mapstructure:"fields"`
	// AllowRules is the output's own allow-list of rule names (an output
	// whose settings have AllowedRules, e.g. pagerduty.rules), applied
	// with the filters so skipped alerts count as filtered.
	AllowRules []string `mapstructure:"-"`
}

// FieldMatch selects alerts by matchers (router/internal/match) on any
// field: an alert passes when Include is empty or any entry holds (an
// entry is a list of matchers that must all hold), and is dropped when
// any Exclude entry holds.
type FieldMatch struct {
	Include []match.All `mapstructure:"include"`
	Exclude []match.All `mapstructure:"exclude"`
}

// Match is an include/exclude pair of Falco globs (e.g. "Terminal*"; '*'
// crosses '/'). An empty include list includes everything; exclude wins
// over include.
type Match struct {
	Include []string `mapstructure:"include"`
	Exclude []string `mapstructure:"exclude"`
}

// String describes the config with secrets redacted.
func (c Config) String() string {
	names := make([]string, len(c.Outputs))
	for i, o := range c.Outputs {
		names[i] = fmt.Sprintf("%s(%s>=%s)", o.Name, o.Type, o.MinPriority)
	}
	dir := c.Queue.Dir
	if dir == "" {
		dir = `"" (in memory, not durable)`
	}
	return fmt.Sprintf("listen=%s tokens=%d×[redacted] admin_tokens=%d×[redacted] body_limit=%d queue.dir=%s queue.max_bytes=%d outputs=%v",
		c.Listen, len(c.Tokens), len(c.AdminTokens), c.BodyLimit, dir, c.Queue.MaxBytes, names)
}
