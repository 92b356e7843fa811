// Package registry maps an output type name (as written in the router's
// config, e.g. "webhook") to the constructor of that output. The map is
// explicit: there is no init() registration. To add an output, add one entry
// to Builtin:
//
//	"slack": Entry(slack.DefaultConfig, func(c slack.Config, e Env) (outputs.Output, error) {
//		return slack.New(c)
//	}),
//
// The output's Config needs mapstructure tags and a Validate method.
package registry

import (
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"

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

// Constructor builds an output from its raw config block (nil when the
// block is absent). Errors name the offending key relative to the block.
type Constructor func(raw map[string]any, env Env) (outputs.Output, error)

// Registry maps type names to constructors.
type Registry map[string]Constructor

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

// Validatable is a config that checks itself.
type Validatable interface{ Validate() error }

// Entry makes a Constructor from a defaults function and a typed
// constructor: the raw block is decoded strictly (unknown keys fail, with
// their names) over the defaults, then validated.
func Entry[C Validatable](defaults func() C, build func(C, Env) (outputs.Output, error)) Constructor {
	return func(raw map[string]any, env Env) (outputs.Output, error) {
		cfg := defaults()
		if err := Decode(raw, &cfg); err != nil {
			return nil, err
		}
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
		return build(cfg, env)
	}
}

// durationsFromStringsOnly rejects a number where a duration is expected:
// `timeout: 5` would otherwise silently mean 5 nanoseconds.
func durationsFromStringsOnly(from, to reflect.Type, data any) (any, error) {
	if to == reflect.TypeFor[time.Duration]() && from.Kind() != reflect.String && from != to {
		return nil, fmt.Errorf("expected a duration string such as \"5s\" or \"500ms\", got %v", data)
	}
	return data, nil
}

// Decode decodes raw into out strictly: unknown keys are errors, durations
// are parsed from strings such as "5s" (a bare number is an error), and a
// string field (a Secret too) accepts only a string.
func Decode(raw map[string]any, out any) error {
	if raw == nil {
		return nil
	}
	var md mapstructure.Metadata
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result:           out,
		Metadata:         &md,
		WeaklyTypedInput: false,
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			durationsFromStringsOnly,
			mapstructure.StringToTimeDurationHookFunc(),
			mapstructure.TextUnmarshallerHookFunc(),
		),
	})
	if err != nil {
		return fmt.Errorf("build decoder for %s: %w", reflect.TypeOf(out), err)
	}
	if err := dec.Decode(raw); err != nil {
		return fmt.Errorf("%s", strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "decoding failed due to the following error(s):", "")), " "))
	}
	if len(md.Unused) > 0 {
		sort.Strings(md.Unused)
		return fmt.Errorf("%s: unknown key", md.Unused[0])
	}
	return nil
}
