package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lookout-sec/lookout/router/internal/match"
)

// Noise is the noise-control block (docs/noise.md).
type Noise struct {
	// Enabled turns the noise stage on (default): with false, alerts that
	// pass an output's filters all go to it, unannotated, and no findings
	// are kept.
	Enabled      *bool             `mapstructure:"enabled"`
	Fingerprints []FingerprintRule `mapstructure:"fingerprints"`
	Baseline     struct {
		LearnFor time.Duration `mapstructure:"learn_for"`
	} `mapstructure:"baseline"`
	Retention struct {
		MaxAge      time.Duration `mapstructure:"max_age"`
		MaxFindings int           `mapstructure:"max_findings"`
	} `mapstructure:"retention"`
	Silences []ConfigSilence `mapstructure:"silences"`
	// FlushInterval is how often group digests, learning windows and
	// retention are looked at; default 1s.
	FlushInterval time.Duration `mapstructure:"flush_interval"`
}

// On reports whether the noise stage runs.
func (n Noise) On() bool { return n.Enabled == nil || *n.Enabled }

// FingerprintRule overrides the fingerprint fields for rules matching any
// of Rules (Falco globs).
type FingerprintRule struct {
	Rules  []string `mapstructure:"rules"`
	Fields []string `mapstructure:"fields"`
}

// ConfigSilence is a silence kept in the config file (an automation rule).
type ConfigSilence struct {
	Matchers     []string  `mapstructure:"matchers"`
	Comment      string    `mapstructure:"comment"`
	CreatedBy    string    `mapstructure:"created_by"`
	StartsAt     time.Time `mapstructure:"starts_at"`
	EndsAt       time.Time `mapstructure:"ends_at"`
	MarkExpected bool      `mapstructure:"mark_expected"`
	Parsed       match.All `mapstructure:"-"`
}

// NoisePolicy is one output's notification policy (keys at the output's
// top level).
type NoisePolicy struct {
	Record         bool          `mapstructure:"record"`
	Notify         string        `mapstructure:"notify"` // all (default) or new
	RepeatInterval time.Duration `mapstructure:"repeat_interval"`
	GroupBy        []string      `mapstructure:"group_by"`
	GroupWait      time.Duration `mapstructure:"group_wait"`
	GroupInterval  time.Duration `mapstructure:"group_interval"`
}

// ParseDuration is time.ParseDuration plus whole days ("7d", "90d").
func ParseDuration(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err == nil && n >= 0 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as 30s, 5m, 24h or 7d", s)
	}
	return d, nil
}

// Validate checks the noise block and parses the silences' matchers.
func (n *Noise) Validate() error {
	if n.Baseline.LearnFor < 0 || n.Retention.MaxAge < 0 || n.Retention.MaxFindings < 0 || n.FlushInterval < 0 {
		return Errorf("", "durations and counts must not be negative")
	}
	for i, f := range n.Fingerprints {
		if len(f.Rules) == 0 || len(f.Fields) == 0 {
			return Errorf(fmt.Sprintf("fingerprints[%d]", i), "rules and fields are both required")
		}
	}
	for i := range n.Silences {
		s := &n.Silences[i]
		key := fmt.Sprintf("silences[%d]", i)
		ms, err := match.ParseAll(s.Matchers)
		if err != nil {
			return Errorf(key+".matchers", "%w", err)
		}
		if len(ms) == 0 {
			return Errorf(key+".matchers", "at least one matcher is required")
		}
		if s.Comment == "" {
			return Errorf(key+".comment", "is required (say why)")
		}
		if s.CreatedBy == "" {
			s.CreatedBy = "config"
		}
		if !s.EndsAt.IsZero() && !s.StartsAt.IsZero() && !s.EndsAt.After(s.StartsAt) {
			return Errorf(key+".ends_at", "is not after starts_at")
		}
		s.Parsed = ms
	}
	return nil
}

// Validate checks an output's notification policy.
func (p NoisePolicy) Validate() error {
	switch p.Notify {
	case "all", "new":
	default:
		return Errorf("notify", "%q is not allowed (allowed: all, new)", p.Notify)
	}
	if p.Record && (p.Notify == "new" || len(p.GroupBy) > 0) {
		return Errorf("record", "an output that records everything cannot also use notify: new or group_by (set record: false)")
	}
	if p.RepeatInterval < 0 || p.GroupWait < 0 || p.GroupInterval < 0 {
		return Errorf("", "repeat_interval, group_wait and group_interval must not be negative")
	}
	if len(p.GroupBy) == 0 && (p.GroupWait > 0 || p.GroupInterval > 0) {
		return Errorf("group_wait/group_interval", "need group_by")
	}
	return nil
}
