package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"go.yaml.in/yaml/v3"

	"github.com/lookout-sec/lookout/outputs/registry"
	"github.com/lookout-sec/lookout/router/api"
)

// Load reads file, expands ${VAR} references, applies LOOKOUT_ environment
// overrides, decodes it strictly and validates every section and every
// output block against reg. Every error names the file and the key path;
// several problems are reported together, one per line.
func Load(file string, reg registry.Registry) (*Config, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", file, err)
	}
	c, errs := parse(b, reg, os.LookupEnv)
	if len(errs) > 0 {
		for i, e := range errs {
			errs[i] = fmt.Errorf("config %s: %w", file, e)
		}
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// parse is Load without the file system; lookup reads the environment.
func parse(b []byte, reg registry.Registry, lookup func(string) (string, bool)) (*Config, []error) {
	var raw map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, []error{fmt.Errorf("not valid YAML: %w", err)}
	}
	if raw == nil {
		raw = map[string]any{}
	}
	if err := expandTree(raw, "", lookup); err != nil {
		return nil, []error{err}
	}
	if err := applyEnv(raw, lookup); err != nil {
		return nil, []error{err}
	}
	c := Defaults()
	// Outputs decode over their defaults (mapstructure fills existing
	// slice elements), so an absent key keeps its default and an explicit
	// zero is checked.
	if list, ok := raw["outputs"].([]any); ok {
		for _, item := range list {
			m, _ := item.(map[string]any)
			typ, _ := m["type"].(string)
			c.Outputs = append(c.Outputs, DefaultOutput(typ))
		}
	}
	var md mapstructure.Metadata
	dec, err := mapstructure.NewDecoder(decoderConfig(&c, &md))
	if err != nil {
		return nil, []error{err}
	}
	if err := dec.Decode(raw); err != nil {
		return nil, decodeErrors(err)
	}
	if len(md.Unused) > 0 {
		sort.Strings(md.Unused)
		var errs []error
		for _, k := range md.Unused {
			errs = append(errs, Errorf(k, "unknown key (allowed: %s)", strings.Join(allowedAt(k), ", ")))
		}
		return nil, errs
	}
	if qb, _ := raw["queue"].(map[string]any); c.Queue.Dir == "" && qb["max_bytes"] == nil {
		c.Queue.MaxBytes = DefaultMemoryQueueMaxBytes // in memory, the bound is the heap's
	}
	if errs := c.validate(reg); len(errs) > 0 {
		return nil, errs
	}
	c.Tokens, c.AdminTokens = c.Auth.Tokens, c.Admin.Tokens
	return &c, nil
}

// validator is a section that checks itself.
type validator interface{ Validate() error }

// validate runs every section's Validate (each top-level field whose type
// has one) and checks the outputs.
func (c *Config) validate(reg registry.Registry) []error {
	var errs []error
	v := reflect.ValueOf(c).Elem()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		fv := v.Field(i).Addr().Interface()
		if s, ok := fv.(validator); ok {
			if err := s.Validate(); err != nil {
				errs = append(errs, under(tag, err))
			}
		}
	}
	if c.BodyLimit <= 0 {
		errs = append(errs, Errorf("body_limit", "%d is not a positive integer", c.BodyLimit))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, Errorf("shutdown_timeout", "%s is not a positive duration such as 10s", c.ShutdownTimeout))
	}
	if len(c.Outputs) == 0 {
		errs = append(errs, Errorf("outputs", "at least one output is required (types: %s)", strings.Join(reg.Types(), ", ")))
	}
	seen := map[string]bool{}
	for i := range c.Outputs {
		o := &c.Outputs[i]
		key := fmt.Sprintf("outputs[%d]", i)
		if err := o.check(reg); err != nil {
			errs = append(errs, under(key, err))
			continue
		}
		if seen[o.Name] {
			errs = append(errs, Errorf(key+".name", "%q is used twice", o.Name))
		}
		seen[o.Name] = true
	}
	if err := c.UI.checkSearch(c.Outputs); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// DefaultOutput is an output block's defaults; outputs of type
// elasticsearch record every alert unless they say otherwise.
func DefaultOutput(typ string) Output {
	return Output{
		MinPriority: api.PriorityDebug, Delivery: DefaultDelivery(),
		Noise: NoisePolicy{Record: typ == "elasticsearch", Notify: "all"},
	}
}

// check validates the block's own keys and has the output's package check
// the block named like its type.
func (o *Output) check(reg registry.Registry) error {
	if o.Name == "" {
		return Errorf("name", "is required (a string)")
	}
	if o.Type == "" {
		return Errorf("type", "is required (one of: %s)", strings.Join(reg.Types(), ", "))
	}
	if _, ok := reg[o.Type]; !ok {
		return Errorf("type", "%q is not a known output type (allowed: %s)", o.Type, strings.Join(reg.Types(), ", "))
	}
	for _, k := range sortedKeys(o.Block) {
		if k != o.Type {
			return Errorf(k, "unknown key (allowed: %s, %s)", strings.Join(keysOf(reflect.TypeFor[Output]()), ", "), o.Type)
		}
	}
	if err := o.Delivery.Validate(); err != nil {
		return err
	}
	if err := o.Noise.Validate(); err != nil {
		return err
	}
	var block map[string]any
	if b, ok := o.Block[o.Type]; ok && b != nil {
		if block, ok = b.(map[string]any); !ok {
			return Errorf(o.Type, "must be a mapping")
		}
	}
	s, err := reg.Check(o.Type, block)
	if err != nil {
		// registry.Check names keys from the type on ("slack.channel: ...").
		return keyed(err)
	}
	o.Settings = s
	if ar, ok := s.(interface{ AllowedRules() []string }); ok {
		o.Filters.AllowRules = ar.AllowedRules()
	}
	return nil
}

var keyPrefix = regexp.MustCompile(`^([A-Za-z0-9_]+(?:[.\[][A-Za-z0-9_\]]*)*): `)

// keyed turns a message of the form "key.path: what" into a KeyError.
func keyed(err error) error {
	m := keyPrefix.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	return &KeyError{Key: m[1], Err: errors.New(strings.TrimPrefix(err.Error(), m[0]))}
}

// allowedAt lists the keys allowed next to the unknown key at path
// ("outputs[0].retry.attempts" → the keys of Retry).
func allowedAt(path string) []string {
	t := reflect.TypeFor[Config]()
	segs := strings.Split(path, ".")
	for _, s := range segs[:len(segs)-1] {
		s, _, _ = strings.Cut(s, "[")
		ft, ok := fieldType(t, s)
		if !ok {
			return nil
		}
		for ft.Kind() == reflect.Slice || ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		t = ft
	}
	return keysOf(t)
}

// fieldType finds the field tagged key in struct t (through squashed ones).
func fieldType(t reflect.Type, key string) (reflect.Type, bool) {
	if t.Kind() != reflect.Struct {
		return nil, false
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, opts, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		if tag == key && tag != "" {
			return f.Type, true
		}
		if tag == "" && opts == "squash" {
			if ft, ok := fieldType(f.Type, key); ok {
				return ft, true
			}
		}
	}
	return nil, false
}

// keysOf lists the YAML keys of struct t, sorted (squashed fields
// included, remain and "-" fields not).
func keysOf(t reflect.Type) []string {
	var ks []string
	if t.Kind() != reflect.Struct {
		return nil
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, opts, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		switch {
		case tag == "" && opts == "squash":
			ks = append(ks, keysOf(f.Type)...)
		case tag != "" && tag != "-" && f.IsExported():
			ks = append(ks, tag)
		}
	}
	sort.Strings(ks)
	return ks
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
