// Package registry maps an output type name (as written in the router's
// config, e.g. "webhook") to that output's config decoder and constructor.
// The map is explicit: there is no init() registration. To add an output,
// add one entry to Builtin:
//
//	"slack": Entry(slack.DefaultConfig, func(c slack.Config, e Env) (outputs.Output, error) {
//		return slack.New(c, slack.Options{Logger: e.Logger})
//	}),
//
// The output's Config needs mapstructure tags and a Validate method. Check
// (decode + Validate, no I/O) is what the router's config loader runs, so
// `lookout-router --check` and the real start accept exactly the same
// blocks; Build turns the checked settings into an Output.
package registry

import (
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"

	"github.com/lookout-sec/lookout/outputs"
	"github.com/lookout-sec/lookout/outputs/elasticsearch"
	"github.com/lookout-sec/lookout/outputs/pagerduty"
	"github.com/lookout-sec/lookout/outputs/slack"
	"github.com/lookout-sec/lookout/outputs/stdout"
	"github.com/lookout-sec/lookout/outputs/webhook"
)

// Env is what constructors may need from the router process.
type Env struct {
	Logger *slog.Logger
	Stdout io.Writer // where the stdout output writes
}

// Settings is an output's decoded and validated config (its Config type).
type Settings any

// Type is one output type: how to check its config block and how to build
// it from the checked settings.
type Type struct {
	// Check decodes the raw block (nil when absent) strictly over the
	// defaults and validates it. It does no I/O besides reading *_file
	// secrets. Errors name the key relative to the block.
	Check func(raw map[string]any) (Settings, error)
	// Build constructs the output from what Check returned.
	Build func(s Settings, env Env) (outputs.Output, error)
}

// Registry maps type names to output types.
type Registry map[string]Type

// Builtin returns the registry of every output shipped with Lookout.
func Builtin() Registry {
	return Registry{
		"webhook": Entry(webhook.DefaultConfig, func(c webhook.Config, _ Env) (outputs.Output, error) {
			return webhook.New(c)
		}),
		"stdout": Entry(stdout.DefaultConfig, func(c stdout.Config, e Env) (outputs.Output, error) {
			return stdout.New(c, e.Stdout)
		}),
		"slack": Entry(slack.DefaultConfig, func(c slack.Config, e Env) (outputs.Output, error) {
			return slack.New(c, slack.Options{Logger: e.Logger})
		}),
		"pagerduty": Entry(pagerduty.DefaultConfig, func(c pagerduty.Config, e Env) (outputs.Output, error) {
			return pagerduty.New(c, pagerduty.Options{Logger: e.Logger})
		}),
		"elasticsearch": Entry(elasticsearch.DefaultConfig, func(c elasticsearch.Config, e Env) (outputs.Output, error) {
			return elasticsearch.New(c, elasticsearch.Options{Logger: e.Logger})
		}),
	}
}

// Types lists the registered type names, sorted.
func (r Registry) Types() []string {
	ts := make([]string, 0, len(r))
	for t := range r {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	return ts
}

// Check decodes and validates a block of type typ. The error's key path
// always starts with the type ("slack.webhook_url: ...", "slack: ..."), so
// a caller prefixes only its own position (outputs[1].).
func (r Registry) Check(typ string, raw map[string]any) (Settings, error) {
	t, ok := r[typ]
	if !ok {
		return nil, fmt.Errorf("type: %q is not a known output type (allowed: %s)", typ, strings.Join(r.Types(), ", "))
	}
	s, err := t.Check(raw)
	if err != nil {
		return nil, withType(typ, err)
	}
	return s, nil
}

// New checks raw and builds the output (Check then Build).
func (r Registry) New(typ string, raw map[string]any, env Env) (outputs.Output, error) {
	s, err := r.Check(typ, raw)
	if err != nil {
		return nil, err
	}
	return r[typ].Build(s, env)
}

// withType puts typ in front of a relative key path unless the output's own
// message already starts with it (outputs word their errors either way).
func withType(typ string, err error) error {
	msg := err.Error()
	if strings.HasPrefix(msg, typ+".") || strings.HasPrefix(msg, typ+":") || strings.HasPrefix(msg, typ+"[") {
		return err
	}
	return fmt.Errorf("%s.%w", typ, err)
}

// Validatable is a config that checks itself.
type Validatable interface{ Validate() error }

// Entry makes a Type from a defaults function and a typed constructor: the
// raw block is decoded strictly (unknown keys fail, with their names) over
// the defaults, then validated.
func Entry[C Validatable](defaults func() C, build func(C, Env) (outputs.Output, error)) Type {
	return Type{
		Check: func(raw map[string]any) (Settings, error) {
			cfg := defaults()
			if err := Decode(raw, &cfg); err != nil {
				return nil, err
			}
			if err := cfg.Validate(); err != nil {
				return nil, err
			}
			return cfg, nil
		},
		Build: func(s Settings, env Env) (outputs.Output, error) {
			c, ok := s.(C)
			if !ok {
				return nil, fmt.Errorf("settings of type %T, want %T (not from this type's Check)", s, c)
			}
			return build(c, env)
		},
	}
}
