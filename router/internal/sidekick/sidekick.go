// Package sidekick converts a Falcosidekick configuration (its YAML file or
// its environment variables) into a Lookout router configuration, for
// `lookout-router config import`. Slack, Elasticsearch, PagerDuty and
// webhook outputs are converted key by key (Slack and Elasticsearch in
// compat: falcosidekick mode, so messages and documents keep their shape);
// every other key that is set is reported as a Warning naming it, never
// dropped silently. See docs/migrating-from-falcosidekick.md.
package sidekick

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Warning is one Falcosidekick key that was not converted, or converted
// with a change of behaviour.
type Warning struct {
	Key     string // Falcosidekick's key, e.g. "slack.mutualtls"
	Message string
}

func (w Warning) String() string { return w.Key + ": " + w.Message }

// Result is a converted configuration.
type Result struct {
	Config   Config
	Warnings []Warning
}

// Config is the Lookout router configuration written by YAML; field order
// is the order of docs/router-config.md.
type Config struct {
	Listen  string   `yaml:"listen,omitempty"`
	Outputs []Output `yaml:"outputs"`
}

// Output is one output block.
type Output struct {
	Name          string         `yaml:"name"`
	Type          string         `yaml:"type"`
	MinPriority   string         `yaml:"min_priority"`
	Concurrency   int            `yaml:"concurrency,omitempty"`
	BatchSize     int            `yaml:"batch_size,omitempty"`
	Webhook       map[string]any `yaml:"webhook,omitempty"`
	Slack         map[string]any `yaml:"slack,omitempty"`
	PagerDuty     map[string]any `yaml:"pagerduty,omitempty"`
	Elasticsearch map[string]any `yaml:"elasticsearch,omitempty"`
}

// YAML renders the configuration with a header comment listing the
// warnings, so they stay next to the converted file.
func (r *Result) YAML(source string) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Converted from Falcosidekick's %s by `lookout-router config import`.\n", source)
	fmt.Fprintf(&b, "# Check it with `lookout-router --check --config FILE`; see docs/migrating-from-falcosidekick.md.\n")
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "# warning: %s\n", w)
	}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(r.Config); err != nil {
		return nil, fmt.Errorf("encode lookout config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode lookout config: %w", err)
	}
	return b.Bytes(), nil
}

// FromYAML converts a Falcosidekick config file's contents. Keys are
// matched case-insensitively, as Falcosidekick (viper) does.
func FromYAML(data []byte) (*Result, error) {
	var root map[string]any
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("falcosidekick config: %w", err)
	}
	s := settings{}
	s.flatten("", root)
	return convert(s)
}

// FromEnv converts Falcosidekick's environment variables (KEY=value, as in
// os.Environ): SLACK_WEBHOOKURL is slack.webhookurl, AWS_SNS_TOPICARN is
// aws.sns.topicarn. Variables whose first part is not a Falcosidekick key
// (PATH, HOME, …) are not Falcosidekick's and are ignored. Map values
// (customheaders, customfields) are "key:value,key:value" as Falcosidekick
// reads them.
func FromEnv(env []string) (*Result, error) {
	s := settings{}
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		key := strings.ToLower(strings.ReplaceAll(k, "_", "."))
		top, _, _ := strings.Cut(key, ".")
		if !knownTop[top] {
			continue
		}
		if mapKeys[lastPart(key)] {
			m := map[string]any{}
			for _, pair := range strings.Split(v, ",") {
				if mk, mv, ok := strings.Cut(pair, ":"); ok {
					m[strings.TrimSpace(mk)] = strings.TrimSpace(mv)
				}
			}
			s[key] = m
			continue
		}
		s[key] = v
	}
	return convert(s)
}

func lastPart(key string) string {
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		return key[i+1:]
	}
	return key
}

// settings are Falcosidekick's keys, dotted and lower-case, with their
// values; map-valued keys (customheaders, customfields) hold a map.
type settings map[string]any

func (s settings) flatten(prefix string, m map[string]any) {
	for k, v := range m {
		key := strings.ToLower(k)
		if prefix != "" {
			key = prefix + "." + key
		}
		if sub, ok := v.(map[string]any); ok && !mapKeys[strings.ToLower(k)] {
			s.flatten(key, sub)
			continue
		}
		s[key] = v
	}
}

// str returns the value of key as a string ("" when unset or null).
func (s settings) str(key string) string {
	switch v := s[key].(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(v)
	default:
		return fmt.Sprint(v)
	}
}

// boolean returns the value of key as a bool and whether it was set.
func (s settings) boolean(key string) (bool, bool, error) {
	switch v := s[key].(type) {
	case nil:
		return false, false, nil
	case bool:
		return v, true, nil
	case string:
		if v == "" {
			return false, false, nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, false, fmt.Errorf("%s: %q is not true or false", key, v)
		}
		return b, true, nil
	default:
		return false, false, fmt.Errorf("%s: %v is not true or false", key, v)
	}
}

// integer returns the value of key as an int (0 when unset).
func (s settings) integer(key string) (int, error) {
	switch v := s[key].(type) {
	case nil:
		return 0, nil
	case int:
		return v, nil
	case string:
		if v == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("%s: %q is not an integer", key, v)
		}
		return n, nil
	default:
		return 0, fmt.Errorf("%s: %v is not an integer", key, v)
	}
}

// headers returns a map-valued key as map[string]any of strings.
func (s settings) headers(key string) map[string]any {
	m, ok := s[key].(map[string]any)
	if !ok || len(m) == 0 {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = fmt.Sprint(v)
	}
	return out
}

// isSet reports whether a value means something (not "", null or empty).
func isSet(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case string:
		return strings.TrimSpace(v) != ""
	case map[string]any:
		return len(v) > 0
	case []any:
		return len(v) > 0
	}
	return true
}

func sortedKeys(s settings) []string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
