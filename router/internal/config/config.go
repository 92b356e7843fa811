// Package config loads the router's YAML configuration with viper:
// LOOKOUT_-prefixed environment variables override file values
// (LOOKOUT_LISTEN, LOOKOUT_AUTH_TOKENS="a b", LOOKOUT_ADMIN_TOKENS,
// LOOKOUT_BODY_LIMIT, LOOKOUT_QUEUE_DIR, LOOKOUT_QUEUE_MAX_BYTES), unknown
// keys and bad values fail naming the key path and what was expected, and
// secrets redact themselves when printed.
package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/viper"

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

// Config is the router's configuration.
type Config struct {
	Listen          string        // address to listen on, default 127.0.0.1:2801
	Tokens          []Secret      // bearer tokens; empty disables auth
	AdminTokens     []Secret      // bearer tokens for /admin; empty disables the admin API
	BodyLimit       int64         // maximum request body in bytes, default 1 MiB
	ShutdownTimeout time.Duration // how long shutdown may take, default 10s
	Queue           Queue
	Noise           Noise
	State           State  // where the noise stage's state lives (state.go)
	Server          Server // HTTP limits (server.go)
	Outputs         []Output
}

// Output is one configured destination.
type Output struct {
	Name        string
	Type        string
	MinPriority api.Priority
	Rules       Match
	Tags        Match
	Sources     Match
	Fields      FieldMatch
	Raw         map[string]any // the block under the key named like Type
	Delivery    Delivery
	Noise       NoisePolicy
}

// FieldMatch selects alerts by matchers (router/internal/match) on any
// field: an alert passes when Include is empty or any entry holds (an
// entry is a list of matchers that must all hold), and is dropped when
// any Exclude entry holds.
type FieldMatch struct {
	Include []match.All
	Exclude []match.All
}

// Match is an include/exclude pair of Falco globs (e.g. "Terminal*"; '*'
// crosses '/'). An empty include list includes everything; exclude wins
// over include.
type Match struct {
	Include []string
	Exclude []string
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

var topKeys = map[string]bool{"listen": true, "auth": true, "body_limit": true, "shutdown_timeout": true, "queue": true, "admin": true, "outputs": true, "noise": true, "server": true, "state": true}

var outputKeys = map[string]bool{
	"name": true, "type": true, "min_priority": true, "filters": true,
	"retry": true, "concurrency": true, "timeout": true, "batch_size": true, "overflow": true,
	"record": true, "notify": true, "repeat_interval": true, "group_by": true, "group_wait": true, "group_interval": true,
}

// Load reads file, applies LOOKOUT_ environment overrides and validates the
// result against reg (the output types it knows).
func Load(file string, reg registry.Registry) (*Config, error) {
	v := viper.New()
	v.SetConfigFile(file)
	v.SetConfigType("yaml")
	v.SetEnvPrefix("LOOKOUT")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	v.SetDefault("listen", "127.0.0.1:2801")
	v.SetDefault("body_limit", 1<<20)
	v.SetDefault("shutdown_timeout", "10s")
	v.SetDefault("queue.dir", DefaultQueueDir)
	v.SetDefault("queue.max_bytes", DefaultQueueMaxBytes)
	for _, k := range []string{"auth.tokens", "admin.tokens"} {
		_ = v.BindEnv(k)
	}
	if err := v.ReadInConfig(); err != nil {
		return nil, fmt.Errorf("read config %s: %w", file, err)
	}
	c, err := parse(v, reg)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", file, err)
	}
	return c, nil
}

func parse(v *viper.Viper, reg registry.Registry) (*Config, error) {
	for _, k := range sortedKeys(v.AllSettings()) {
		if !topKeys[k] {
			return nil, fmt.Errorf("%s: unknown key (allowed: %s)", k, keyList(topKeys))
		}
	}
	if auth, ok := v.Get("auth").(map[string]any); ok {
		for k := range auth {
			if k != "tokens" {
				return nil, fmt.Errorf("auth.%s: unknown key (allowed: tokens)", k)
			}
		}
	}
	c := &Config{Listen: v.GetString("listen")}
	if admin, ok := v.Get("admin").(map[string]any); ok {
		for k := range admin {
			if k != "tokens" {
				return nil, fmt.Errorf("admin.%s: unknown key (allowed: tokens)", k)
			}
		}
	}
	for _, t := range v.GetStringSlice("admin.tokens") {
		if t == "" {
			return nil, errors.New("admin.tokens: an empty token is not allowed")
		}
		c.AdminTokens = append(c.AdminTokens, Secret(t))
	}
	for _, t := range v.GetStringSlice("auth.tokens") {
		if t == "" {
			return nil, errors.New("auth.tokens: an empty token is not allowed")
		}
		c.Tokens = append(c.Tokens, Secret(t))
	}
	var err error
	if c.BodyLimit, err = positiveInt(v, "body_limit"); err != nil {
		return nil, err
	}
	if c.Queue, err = parseQueue(v); err != nil {
		return nil, err
	}
	if c.Server, err = parseServer(v); err != nil {
		return nil, err
	}
	if c.ShutdownTimeout, err = time.ParseDuration(v.GetString("shutdown_timeout")); err != nil || c.ShutdownTimeout <= 0 {
		return nil, fmt.Errorf("shutdown_timeout: %q is not a positive duration such as 10s", v.GetString("shutdown_timeout"))
	}
	if c.Noise, err = parseNoise(v.Get("noise")); err != nil {
		return nil, err
	}
	if c.State, err = parseState(v); err != nil {
		return nil, err
	}
	raw, ok := v.Get("outputs").([]any)
	if !ok || len(raw) == 0 {
		return nil, fmt.Errorf("outputs: at least one output is required (types: %s)", strings.Join(reg.Types(), ", "))
	}
	seen := map[string]bool{}
	for i, r := range raw {
		o, err := parseOutput(r, reg)
		if err != nil {
			return nil, fmt.Errorf("outputs[%d].%w", i, err)
		}
		if seen[o.Name] {
			return nil, fmt.Errorf("outputs[%d].name: %q is used twice", i, o.Name)
		}
		seen[o.Name] = true
		c.Outputs = append(c.Outputs, o)
	}
	return c, nil
}

func positiveInt(v *viper.Viper, key string) (int64, error) {
	switch n := v.Get(key).(type) {
	case int:
		if n > 0 {
			return int64(n), nil
		}
	case int64:
		if n > 0 {
			return n, nil
		}
	case string:
		var x int64
		if _, err := fmt.Sscan(n, &x); err == nil && x > 0 && fmt.Sprint(x) == n {
			return x, nil
		}
	}
	return 0, fmt.Errorf("%s: %v is not a positive integer", key, v.Get(key))
}

func parseOutput(r any, reg registry.Registry) (Output, error) {
	m, ok := r.(map[string]any)
	if !ok {
		return Output{}, fmt.Errorf("%s", "<item>: must be a mapping with name and type")
	}
	var o Output
	o.Name, _ = m["name"].(string)
	o.Type, _ = m["type"].(string)
	if o.Name == "" {
		return o, errors.New("name: is required (a string)")
	}
	if _, ok := reg[o.Type]; !ok {
		return o, fmt.Errorf("type: %q is not a known output type (allowed: %s)", m["type"], strings.Join(reg.Types(), ", "))
	}
	for _, k := range sortedKeys(m) {
		if !outputKeys[k] && k != o.Type {
			return o, fmt.Errorf("%s: unknown key (allowed: %s, %s)", k, keyList(outputKeys), o.Type)
		}
	}
	o.MinPriority = api.PriorityDebug
	if p, ok := m["min_priority"]; ok {
		s, _ := p.(string)
		pr, err := api.ParsePriority(s)
		if err != nil {
			return o, fmt.Errorf("min_priority: %q is not a priority (allowed: %s)", fmt.Sprint(p), api.AllowedPriorities)
		}
		o.MinPriority = pr
	}
	if f, ok := m["filters"]; ok {
		if err := parseFilters(f, &o); err != nil {
			return o, fmt.Errorf("filters.%w", err)
		}
	}
	var err error
	if o.Delivery, err = parseDelivery(m); err != nil {
		return o, err
	}
	if o.Noise, err = parseNoisePolicy(m, o.Type); err != nil {
		return o, err
	}
	if b, ok := m[o.Type]; ok && b != nil {
		if o.Raw, ok = b.(map[string]any); !ok {
			return o, fmt.Errorf("%s: must be a mapping", o.Type)
		}
	}
	return o, nil
}

func parseFilters(f any, o *Output) error {
	fm, ok := f.(map[string]any)
	if !ok {
		return errors.New("<filters>: must be a mapping of rules, tags, sources")
	}
	targets := map[string]*Match{"rules": &o.Rules, "tags": &o.Tags, "sources": &o.Sources}
	for _, k := range sortedKeys(fm) {
		if k == "fields" {
			if err := parseFieldMatch(fm[k], &o.Fields); err != nil {
				return fmt.Errorf("fields.%w", err)
			}
			continue
		}
		t, ok := targets[k]
		if !ok {
			return fmt.Errorf("%s: unknown key (allowed: rules, tags, sources, fields)", k)
		}
		mm, ok := fm[k].(map[string]any)
		if !ok {
			return fmt.Errorf("%s: must be a mapping with include and/or exclude", k)
		}
		for _, ik := range sortedKeys(mm) {
			var dst *[]string
			switch ik {
			case "include":
				dst = &t.Include
			case "exclude":
				dst = &t.Exclude
			default:
				return fmt.Errorf("%s.%s: unknown key (allowed: include, exclude)", k, ik)
			}
			list, ok := mm[ik].([]any)
			if !ok {
				return fmt.Errorf("%s.%s: must be a list of patterns", k, ik)
			}
			for j, p := range list {
				s, ok := p.(string)
				if !ok {
					return fmt.Errorf("%s.%s[%d]: must be a string", k, ik, j)
				}
				*dst = append(*dst, s)
			}
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func keyList(m map[string]bool) string { return strings.Join(sortedKeys(m), ", ") }

// parseFieldMatch reads filters.fields: {include: [...], exclude: [...]},
// each entry a matcher string or a list of them (all must hold).
func parseFieldMatch(f any, dst *FieldMatch) error {
	fm, ok := f.(map[string]any)
	if !ok {
		return errors.New("<fields>: must be a mapping with include and/or exclude")
	}
	for _, k := range sortedKeys(fm) {
		var list *[]match.All
		switch k {
		case "include":
			list = &dst.Include
		case "exclude":
			list = &dst.Exclude
		default:
			return fmt.Errorf("%s: unknown key (allowed: include, exclude)", k)
		}
		entries, ok := fm[k].([]any)
		if !ok {
			return fmt.Errorf("%s: must be a list of matchers such as 'k8s.ns.name glob \"dev-*\"'", k)
		}
		for j, e := range entries {
			var strs []string
			switch x := e.(type) {
			case string:
				strs = []string{x}
			case []any:
				for _, y := range x {
					s, ok := y.(string)
					if !ok {
						return fmt.Errorf("%s[%d]: a matcher must be a string", k, j)
					}
					strs = append(strs, s)
				}
			default:
				return fmt.Errorf("%s[%d]: must be a matcher string or a list of them", k, j)
			}
			all, err := match.ParseAll(strs)
			if err != nil {
				return fmt.Errorf("%s[%d]: %w", k, j, err)
			}
			*list = append(*list, all)
		}
	}
	return nil
}
