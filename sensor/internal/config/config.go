// Package config holds the sensor's configuration: a YAML file read with
// viper, LOOKOUT_* environment variables and command-line flags, in rising
// order of precedence. Loading is strict: an unknown key or a bad value fails
// with the key's path and what was expected.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/lookout-sec/lookout/router/api"
)

// Matching values for Config.RuleMatching.
const (
	MatchFirst = "first"
	MatchAll   = "all"
)

// Config is the sensor's complete configuration.
type Config struct {
	// File is the config file read, or "" when none was given.
	File string
	// Rules are the user's rules files and directories, loaded in order
	// after the embedded upstream stable ruleset (directories: their
	// *.yaml files in lexical order), as Falco's rules.d: they add rules
	// and append to or override the upstream ones.
	Rules []string
	// DefaultRules loads the embedded upstream stable ruleset before
	// Rules; false (--no-default-rules) loads Rules alone.
	DefaultRules bool
	// RulesStrict makes unknown keys in rules files errors instead of
	// warnings (--strict, as rules validate --strict).
	RulesStrict bool
	// RulesMaxExpandedBytes caps what the rules' lists, list substitution
	// and macro expansion may expand to; a rules file over it is refused.
	RulesMaxExpandedBytes int
	// MinPriority is the least severe rule priority loaded.
	MinPriority api.Priority
	// RuleMatching is "first" (stop at the first matching rule) or "all".
	RuleMatching string
	// Hostname is put in every alert; default os.Hostname().
	Hostname string
	// TimeISO8601 starts outputs with an ISO 8601 time instead of local
	// HH:MM:SS (Falco's time_format_iso_8601).
	TimeISO8601 bool
	// SuggestedOutput appends container_id and container_name to outputs
	// as Falco ≥ 0.41 does (append_output suggested_output); default true.
	SuggestedOutput bool
	// RingSize is the probe's ring buffer size in bytes (a power of two).
	RingSize int
	// MetricsListen is the address of the Prometheus /metrics endpoint;
	// "" disables it.
	MetricsListen string
	// LogLevel is the slog level: debug, info, warn or error.
	LogLevel slog.Level
	// QueueSize bounds each output's alert queue; when it is full new
	// alerts for that output are dropped and counted.
	QueueSize int
	// DropAlertInterval is the minimum time between two synthetic
	// "Lookout internal: alert drops" alerts.
	DropAlertInterval time.Duration
	// Outputs are where alerts go.
	Outputs Outputs
	// Runtimes are the container runtimes' API sockets the sensor asks
	// for container metadata; "" selects each one's default path.
	Runtimes RuntimeSockets
	// Spool is the router output's on-disk queue.
	Spool Spool
	// Sources are the event sources (sources.go).
	Sources Sources
}

// RuntimeSockets are the container runtime API sockets. A socket that does
// not exist (yet) is looked for again periodically.
type RuntimeSockets struct {
	Docker     string // Docker Engine API; default /var/run/docker.sock
	Podman     string // Podman's Docker-compatible API; default /run/podman/podman.sock
	Containerd string // containerd's CRI; default /run/containerd/containerd.sock
	CRIO       string // cri-o's CRI; default /var/run/crio/crio.sock
}

// Spool configures the on-disk queue the router output delivers from, so
// that alerts survive a router outage and a sensor restart.
type Spool struct {
	// Dir holds spool.db; "" keeps alerts in memory only (retried for
	// outputs.router.retry_for, then dropped).
	Dir string
	// MaxBytes bounds the spooled alerts; when full, the oldest are
	// dropped and counted.
	MaxBytes int64
}

// Outputs configures the alert destinations. At least one must be enabled.
type Outputs struct {
	Router RouterOutput
	Stdout StdoutOutput
	File   FileOutput
}

// RouterOutput posts batches of alerts to a Lookout router.
type RouterOutput struct {
	// URL is the router's base URL; "" disables the output. Several,
	// comma-separated, are replicas: a batch goes to the one that last
	// took one, and to the next on a connection error or a retryable
	// answer (503, 429, 5xx) (docs/replicas.md).
	URL string
	// Token is the bearer token, if the router requires one.
	Token Secret
	// Gzip compresses request bodies.
	Gzip bool
	// BatchSize is the most alerts in one POST.
	BatchSize int
	// BatchInterval is how long a partial batch waits for more alerts.
	BatchInterval time.Duration
	// Timeout bounds one POST.
	Timeout time.Duration
	// RetryFor is how long one batch is retried while the router is
	// unreachable or answers 5xx/429 before it is dropped and counted.
	RetryFor time.Duration
}

// URLs is URL split at commas, blanks trimmed and empty parts left out.
func (r RouterOutput) URLs() []string {
	var out []string
	for _, u := range strings.Split(r.URL, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// StdoutOutput writes alerts as JSON lines on standard output.
type StdoutOutput struct {
	Enabled bool
}

// FileOutput appends alerts as JSON lines to a file.
type FileOutput struct {
	// Path is the file; "" disables the output.
	Path string
}

// Secret is a string that never prints its value.
type Secret string

// String redacts the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString redacts the secret in %#v.
func (s Secret) GoString() string { return `"` + s.String() + `"` }

// Value returns the secret's content.
func (s Secret) Value() string { return string(s) }

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		MinPriority:           api.PriorityDebug,
		DefaultRules:          true,
		RulesMaxExpandedBytes: 16 << 20,
		RuleMatching:          MatchFirst,
		SuggestedOutput:       true,
		RingSize:              8 << 20,
		MetricsListen:         "127.0.0.1:2802",
		LogLevel:              slog.LevelInfo,
		QueueSize:             10000,
		Spool:                 Spool{Dir: "/var/lib/lookout/sensor", MaxBytes: 256 << 20},
		DropAlertInterval:     30 * time.Second,
		Sources:               defaultSources(),
		Outputs: Outputs{Router: RouterOutput{
			BatchSize:     100,
			BatchInterval: 100 * time.Millisecond,
			Timeout:       10 * time.Second,
			RetryFor:      time.Minute,
		}},
	}
}

// Validate checks the values that depend on each other and fills the
// hostname. Errors name the key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{key}, a...)...))
	}
	if !c.DefaultRules && len(c.Rules) == 0 {
		bad("default_rules", "is false (--no-default-rules) and no rules files are given: set rules (-r FILE|DIR)")
	}
	if c.RuleMatching != MatchFirst && c.RuleMatching != MatchAll {
		bad("rule_matching", "must be %q or %q, got %q", MatchFirst, MatchAll, c.RuleMatching)
	}
	if c.RulesMaxExpandedBytes < 1<<16 {
		bad("rules_max_expanded_bytes", "must be at least 65536, got %d", c.RulesMaxExpandedBytes)
	}
	if c.RingSize < os.Getpagesize() || c.RingSize&(c.RingSize-1) != 0 {
		bad("ring_size", "must be a power of two of at least %d bytes, got %d", os.Getpagesize(), c.RingSize)
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			bad("metrics.listen", "must be host:port or empty, got %q", c.MetricsListen)
		}
	}
	if c.QueueSize < 1 {
		bad("queue_size", "must be at least 1, got %d", c.QueueSize)
	}
	if c.Spool.MaxBytes < 2<<20 {
		bad("spool.max_bytes", "must be at least 2097152 (two router bodies), got %d", c.Spool.MaxBytes)
	}
	if c.DropAlertInterval <= 0 {
		bad("drop_alert_interval", "must be a positive duration, got %s", c.DropAlertInterval)
	}
	r := &c.Outputs.Router
	if r.URL != "" && len(r.URLs()) == 0 {
		bad("outputs.router.url", "names no URL, got %q", r.URL)
	}
	for _, ru := range r.URLs() {
		u, err := url.Parse(ru)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("outputs.router.url", "must be an http:// or https:// URL, got %q", api.RedactURL(ru))
		}
	}
	if r.BatchSize < 1 {
		bad("outputs.router.batch_size", "must be at least 1, got %d", r.BatchSize)
	}
	if r.BatchInterval < 0 {
		bad("outputs.router.batch_interval", "must not be negative, got %s", r.BatchInterval)
	}
	if r.Timeout <= 0 {
		bad("outputs.router.timeout", "must be a positive duration, got %s", r.Timeout)
	}
	if r.RetryFor < 0 {
		bad("outputs.router.retry_for", "must not be negative, got %s", r.RetryFor)
	}
	if r.URL == "" && !c.Outputs.Stdout.Enabled && c.Outputs.File.Path == "" {
		bad("outputs", "no output enabled: set --router URL (outputs.router.url), --stdout (outputs.stdout.enabled) or outputs.file.path")
	}
	c.validateSources(bad)
	if c.Hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			bad("hostname", "not set and os.Hostname failed: %v", err)
		}
		c.Hostname = h
	}
	return errors.Join(errs...)
}

// parseLevel parses a slog level name.
func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.TrimSpace(s))); err != nil {
		return 0, fmt.Errorf("must be debug, info, warn or error, got %q", s)
	}
	return l, nil
}
