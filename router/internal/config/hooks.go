package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/match"
)

// decoderConfig is the one decoder setup of the whole file: strict types,
// unknown keys collected in md, hooks for the config's value syntaxes.
func decoderConfig(out any, md *mapstructure.Metadata) *mapstructure.DecoderConfig {
	return &mapstructure.DecoderConfig{
		Result: out, Metadata: md, WeaklyTypedInput: false,
		DecodeHook: mapstructure.ComposeDecodeHookFunc(durationHook, timeHook, priorityHook, matchersHook, sizeHook, intHook, boolHook),
	}
}

// durationHook: Go durations plus days ("7d"); a bare 0 is zero; another
// bare number is an error (it would silently mean nanoseconds).
func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeFor[time.Duration]() {
		return data, nil
	}
	switch v := data.(type) {
	case string:
		return ParseDuration(strings.TrimSpace(v))
	case int:
		if v == 0 {
			return time.Duration(0), nil
		}
		return nil, fmt.Errorf("%d is not a duration: a duration needs a unit, e.g. 30s, 5m, 24h, 7d", v)
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

func priorityHook(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeFor[api.Priority]() {
		return data, nil
	}
	s, _ := data.(string)
	p, err := api.ParsePriority(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a priority (allowed: %s)", fmt.Sprint(data), api.AllowedPriorities)
	}
	return p, nil
}

// matchersHook reads one filters.fields entry: a matcher string or a list
// of them (all must hold).
func matchersHook(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeFor[match.All]() {
		return data, nil
	}
	var strs []string
	switch x := data.(type) {
	case string:
		strs = []string{x}
	case []any:
		for _, y := range x {
			s, ok := y.(string)
			if !ok {
				return nil, fmt.Errorf("a matcher must be a string such as 'k8s.ns.name glob \"dev-*\"', got %v", y)
			}
			strs = append(strs, s)
		}
	default:
		return nil, fmt.Errorf("must be a matcher string such as 'k8s.ns.name glob \"dev-*\"' or a list of them")
	}
	return match.ParseAll(strs)
}

// sizeHook: every int64 in the config is a size in bytes (body_limit,
// queue.max_bytes, server.max_header_bytes): an integer or "512MiB".
func sizeHook(from, to reflect.Type, data any) (any, error) {
	if to.Kind() != reflect.Int64 || to != reflect.TypeFor[int64]() {
		return data, nil
	}
	n, err := ParseBytes(data)
	if err != nil {
		return nil, fmt.Errorf("%v is not a size such as 1GiB, 512MiB or 1048576", data)
	}
	return n, nil
}

// intHook accepts a string holding an integer (from ${VAR} or LOOKOUT_*).
func intHook(from, to reflect.Type, data any) (any, error) {
	s, ok := data.(string)
	if !ok || to.Kind() != reflect.Int {
		return data, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("%s is not an integer", s)
	}
	return n, nil
}

// boolHook accepts "true"/"false" strings (from ${VAR} or LOOKOUT_*).
func boolHook(from, to reflect.Type, data any) (any, error) {
	s, ok := data.(string)
	if !ok || to.Kind() != reflect.Bool {
		return data, nil
	}
	switch strings.TrimSpace(s) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return nil, fmt.Errorf("%q is not true or false", s)
}
