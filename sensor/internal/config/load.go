package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cast"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/lookout-sec/lookout/router/api"
)

// EnvPrefix is the prefix of environment variables: LOOKOUT_MIN_PRIORITY
// sets min_priority, LOOKOUT_OUTPUTS_ROUTER_URL sets outputs.router.url.
const EnvPrefix = "LOOKOUT"

// Flag names.
const (
	FlagConfig      = "config"
	FlagRules       = "rules"
	FlagRouter      = "router"
	FlagRouterToken = "router-token"
	FlagStdout      = "stdout"
	FlagMinPriority = "min-priority"
	FlagNoDefault   = "no-default-rules"
	FlagStrict      = "strict"
)

// keySpec is one configuration key: its dotted path and how to store a value.
type keySpec struct {
	path string
	set  func(c *Config, v any) error
}

func str(dst func(*Config) *string) func(*Config, any) error {
	return func(c *Config, v any) error {
		s, err := cast.ToStringE(v)
		if err != nil {
			return fmt.Errorf("expected a string, got %v", v)
		}
		*dst(c) = s
		return nil
	}
}

func integer(dst func(*Config) *int) func(*Config, any) error {
	return func(c *Config, v any) error {
		n, err := cast.ToIntE(v)
		if err != nil {
			return fmt.Errorf("expected an integer, got %q", fmt.Sprint(v))
		}
		*dst(c) = n
		return nil
	}
}

func boolean(dst func(*Config) *bool) func(*Config, any) error {
	return func(c *Config, v any) error {
		b, err := cast.ToBoolE(v)
		if err != nil {
			return fmt.Errorf("expected true or false, got %q", fmt.Sprint(v))
		}
		*dst(c) = b
		return nil
	}
}

func duration(dst func(*Config) *time.Duration) func(*Config, any) error {
	return func(c *Config, v any) error {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("expected a duration such as 500ms or 30s, got %q", fmt.Sprint(v))
		}
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("expected a duration such as 500ms or 30s, got %q", s)
		}
		*dst(c) = d
		return nil
	}
}

// keys lists every configuration key. The file may hold only these.
var keys = []keySpec{
	{"rules", func(c *Config, v any) error {
		switch x := v.(type) {
		case string:
			c.Rules = splitList(x)
		case []any, []string:
			s, err := cast.ToStringSliceE(x)
			if err != nil {
				return fmt.Errorf("expected a list of paths: %v", err)
			}
			c.Rules = s
		default:
			return fmt.Errorf("expected a list of rules files or directories, got %v", v)
		}
		return nil
	}},
	{"min_priority", func(c *Config, v any) error {
		p, err := api.ParsePriority(fmt.Sprint(v))
		if err != nil {
			return err
		}
		c.MinPriority = p
		return nil
	}},
	{"default_rules", boolean(func(c *Config) *bool { return &c.DefaultRules })},
	{"rules_strict", boolean(func(c *Config) *bool { return &c.RulesStrict })},
	{"rules_max_expanded_bytes", integer(func(c *Config) *int { return &c.RulesMaxExpandedBytes })},
	{"rule_matching", str(func(c *Config) *string { return &c.RuleMatching })},
	{"hostname", str(func(c *Config) *string { return &c.Hostname })},
	{"time_format_iso_8601", boolean(func(c *Config) *bool { return &c.TimeISO8601 })},
	{"suggested_output", boolean(func(c *Config) *bool { return &c.SuggestedOutput })},
	{"ring_size", integer(func(c *Config) *int { return &c.RingSize })},
	{"metrics.listen", str(func(c *Config) *string { return &c.MetricsListen })},
	{"log_level", func(c *Config, v any) error {
		l, err := parseLevel(fmt.Sprint(v))
		if err != nil {
			return err
		}
		c.LogLevel = l
		return nil
	}},
	{"queue_size", integer(func(c *Config) *int { return &c.QueueSize })},
	{"spool.dir", str(func(c *Config) *string { return &c.Spool.Dir })},
	{"spool.max_bytes", func(c *Config, v any) error {
		n, err := cast.ToInt64E(v)
		if err != nil {
			return fmt.Errorf("expected an integer number of bytes, got %q", fmt.Sprint(v))
		}
		c.Spool.MaxBytes = n
		return nil
	}},
	{"drop_alert_interval", duration(func(c *Config) *time.Duration { return &c.DropAlertInterval })},
	{"outputs.router.url", str(func(c *Config) *string { return &c.Outputs.Router.URL })},
	{"outputs.router.token", func(c *Config, v any) error {
		s, err := cast.ToStringE(v)
		if err != nil {
			return errors.New("expected a string")
		}
		c.Outputs.Router.Token = Secret(s)
		return nil
	}},
	{"outputs.router.gzip", boolean(func(c *Config) *bool { return &c.Outputs.Router.Gzip })},
	{"outputs.router.batch_size", integer(func(c *Config) *int { return &c.Outputs.Router.BatchSize })},
	{"outputs.router.batch_interval", duration(func(c *Config) *time.Duration { return &c.Outputs.Router.BatchInterval })},
	{"outputs.router.timeout", duration(func(c *Config) *time.Duration { return &c.Outputs.Router.Timeout })},
	{"outputs.router.retry_for", duration(func(c *Config) *time.Duration { return &c.Outputs.Router.RetryFor })},
	{"outputs.stdout.enabled", boolean(func(c *Config) *bool { return &c.Outputs.Stdout.Enabled })},
	{"outputs.file.path", str(func(c *Config) *string { return &c.Outputs.File.Path })},
	{"container_runtimes.docker_socket", str(func(c *Config) *string { return &c.Runtimes.Docker })},
	{"container_runtimes.podman_socket", str(func(c *Config) *string { return &c.Runtimes.Podman })},
	{"container_runtimes.containerd_socket", str(func(c *Config) *string { return &c.Runtimes.Containerd })},
	{"container_runtimes.crio_socket", str(func(c *Config) *string { return &c.Runtimes.CRIO })},
}

// Keys returns every configuration key's dotted path, for documentation.
func Keys() []string {
	all := allKeys()
	out := make([]string, len(all))
	for i, k := range all {
		out[i] = k.path
	}
	return out
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// AddFlags registers the sensor's flags on fs.
func AddFlags(fs *pflag.FlagSet) {
	fs.String(FlagConfig, "", "config file (YAML); see docs/sensor-config.md")
	fs.StringArrayP(FlagRules, "r", nil, "rules file or directory loaded after the embedded upstream stable rules (repeatable; replaces the config file's rules list)")
	fs.Bool(FlagNoDefault, false, "do not load the embedded upstream stable rules: only -r/rules (default_rules: false)")
	fs.Bool(FlagStrict, false, "unknown keys in rules files are errors, not warnings (rules_strict)")
	fs.String(FlagRouter, "", "router base URL to post alerts to, e.g. http://127.0.0.1:2801 (outputs.router.url)")
	fs.String(FlagRouterToken, "", "bearer token for the router (outputs.router.token)")
	fs.Bool(FlagStdout, false, "also write alerts to stdout as JSON lines (outputs.stdout.enabled)")
	fs.String(FlagMinPriority, "", "least severe rule priority to load: "+api.AllowedPriorities+" (min_priority)")
}

// Load builds the configuration: defaults, then the file named by --config
// (if set), then LOOKOUT_* environment variables, then the flags that were
// given. The result is validated.
func Load(fs *pflag.FlagSet) (Config, error) {
	cfg := Default()
	file, _ := fs.GetString(FlagConfig)
	v := viper.New()
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	where := "environment"
	if file != "" {
		cfg.File = file
		where = "config " + file
		v.SetConfigFile(file)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			return cfg, fmt.Errorf("config %s: %w", file, err)
		}
		known := Keys()
		for _, k := range v.AllKeys() {
			if !slices.Contains(known, k) {
				return cfg, fmt.Errorf("config %s: unknown key %q (known keys: %s)", file, k, strings.Join(known, ", "))
			}
		}
	}
	var errs []error
	for _, k := range allKeys() {
		if !v.IsSet(k.path) {
			continue
		}
		if err := k.set(&cfg, v.Get(k.path)); err != nil {
			errs = append(errs, fmt.Errorf("%s: key %s (env %s_%s): %w", where, k.path, EnvPrefix,
				strings.ToUpper(strings.ReplaceAll(k.path, ".", "_")), err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, err
	}
	if err := applyFlags(fs, &cfg); err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}

func applyFlags(fs *pflag.FlagSet, cfg *Config) error {
	if fs.Changed(FlagRules) {
		cfg.Rules, _ = fs.GetStringArray(FlagRules)
	}
	if fs.Changed(FlagNoDefault) {
		no, _ := fs.GetBool(FlagNoDefault)
		cfg.DefaultRules = !no
	}
	if fs.Changed(FlagStrict) {
		cfg.RulesStrict, _ = fs.GetBool(FlagStrict)
	}
	if fs.Changed(FlagRouter) {
		cfg.Outputs.Router.URL, _ = fs.GetString(FlagRouter)
	}
	if fs.Changed(FlagRouterToken) {
		t, _ := fs.GetString(FlagRouterToken)
		cfg.Outputs.Router.Token = Secret(t)
	}
	if fs.Changed(FlagStdout) {
		cfg.Outputs.Stdout.Enabled, _ = fs.GetBool(FlagStdout)
	}
	if fs.Changed(FlagMinPriority) {
		s, _ := fs.GetString(FlagMinPriority)
		p, err := api.ParsePriority(s)
		if err != nil {
			return fmt.Errorf("flag --%s: %w", FlagMinPriority, err)
		}
		cfg.MinPriority = p
	}
	return nil
}
