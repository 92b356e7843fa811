package config

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"

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

var noisePolicyKeys = []string{"record", "notify", "repeat_interval", "group_by", "group_wait", "group_interval"}

// decodeStrict decodes in into out: unknown keys and wrong types fail
// naming the key; durations take Go syntax plus a "d" (days) suffix, times
// RFC 3339.
func decodeStrict(in any, out any) error {
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		ErrorUnused: true, Result: out, WeaklyTypedInput: false,
		DecodeHook: mapstructure.ComposeDecodeHookFunc(durationHook, timeHook),
	})
	if err != nil {
		return err
	}
	return dec.Decode(in)
}

func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeFor[time.Duration]() {
		return data, nil
	}
	switch v := data.(type) {
	case string:
		return ParseDuration(v)
	case int:
		if v == 0 {
			return time.Duration(0), nil
		}
		return nil, fmt.Errorf("%d: a duration needs a unit, e.g. 30s, 5m, 24h, 7d", v)
	}
	return data, nil
}

func timeHook(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeFor[time.Time]() {
		return data, nil
	}
	switch v := data.(type) {
	case string:
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return nil, fmt.Errorf("%q is not an RFC 3339 time such as 2027-01-01T00:00:00Z", v)
		}
		return t, nil
	case time.Time:
		return v, nil
	}
	return data, nil
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

func parseNoise(raw any) (Noise, error) {
	var n Noise
	if raw == nil {
		return n, nil
	}
	if err := decodeStrict(raw, &n); err != nil {
		return n, cleanDecodeError("noise", err)
	}
	if n.Baseline.LearnFor < 0 || n.Retention.MaxAge < 0 || n.Retention.MaxFindings < 0 || n.FlushInterval < 0 {
		return n, errors.New("noise: durations and counts must not be negative")
	}
	for i, f := range n.Fingerprints {
		if len(f.Rules) == 0 || len(f.Fields) == 0 {
			return n, fmt.Errorf("noise.fingerprints[%d]: rules and fields are both required", i)
		}
	}
	for i := range n.Silences {
		s := &n.Silences[i]
		ms, err := match.ParseAll(s.Matchers)
		if err != nil {
			return n, fmt.Errorf("noise.silences[%d].matchers: %w", i, err)
		}
		if len(ms) == 0 {
			return n, fmt.Errorf("noise.silences[%d].matchers: at least one matcher is required", i)
		}
		if s.Comment == "" {
			return n, fmt.Errorf("noise.silences[%d].comment: is required (say why)", i)
		}
		if s.CreatedBy == "" {
			s.CreatedBy = "config"
		}
		if !s.EndsAt.IsZero() && !s.StartsAt.IsZero() && !s.EndsAt.After(s.StartsAt) {
			return n, fmt.Errorf("noise.silences[%d].ends_at: is not after starts_at", i)
		}
		s.Parsed = ms
	}
	return n, nil
}

func parseNoisePolicy(m map[string]any, outType string) (NoisePolicy, error) {
	sub := map[string]any{}
	for _, k := range noisePolicyKeys {
		if v, ok := m[k]; ok {
			sub[k] = v
		}
	}
	p := NoisePolicy{Record: outType == "elasticsearch", Notify: "all"}
	if err := decodeStrict(sub, &p); err != nil {
		return p, cleanDecodeError("", err)
	}
	switch p.Notify {
	case "all", "new":
	default:
		return p, fmt.Errorf("notify: %q is not allowed (allowed: all, new)", p.Notify)
	}
	if p.Record && (p.Notify == "new" || len(p.GroupBy) > 0) {
		return p, errors.New("record: an output that records everything cannot also use notify: new or group_by (set record: false)")
	}
	if p.RepeatInterval < 0 || p.GroupWait < 0 || p.GroupInterval < 0 {
		return p, errors.New("repeat_interval, group_wait and group_interval must not be negative")
	}
	if len(p.GroupBy) == 0 && (p.GroupWait > 0 || p.GroupInterval > 0) {
		return p, errors.New("group_wait/group_interval: need group_by")
	}
	return p, nil
}

// cleanDecodeError turns mapstructure's wording into the config's: key
// paths under prefix with dots ("noise.baseline: unknown key(s): learn").
func cleanDecodeError(prefix string, err error) error {
	var lines []string
	for _, l := range strings.Split(err.Error(), "\n") {
		l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "* "))
		if l == "" || strings.HasPrefix(l, "decoding failed") {
			continue
		}
		path, rest := "", l
		if strings.HasPrefix(l, "'") {
			if i := strings.Index(l[1:], "'"); i >= 0 {
				path, rest = l[1:i+1], strings.TrimSpace(l[i+2:])
			}
		}
		rest = strings.Replace(rest, "has invalid keys:", "unknown key(s):", 1)
		rest = strings.TrimPrefix(rest, "error decoding: ")
		key := prefix
		if path != "" {
			key = strings.Trim(prefix+"."+path, ".")
		}
		if key == "" {
			lines = append(lines, rest)
		} else {
			lines = append(lines, key+": "+rest)
		}
	}
	if prefix == "" && len(lines) > 1 {
		// the caller prefixes the first line only (outputs[N].): one at a time
		return fmt.Errorf("%s (and %d more)", lines[0], len(lines)-1)
	}
	return errors.New(strings.Join(lines, "; "))
}
