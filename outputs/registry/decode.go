package registry

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"

	"github.com/lookout-sec/lookout/outputs"
)

// durationsFromStringsOnly rejects a number where a duration is expected:
// `timeout: 5` would otherwise silently mean 5 nanoseconds.
func durationsFromStringsOnly(from, to reflect.Type, data any) (any, error) {
	if to == reflect.TypeFor[time.Duration]() && from.Kind() != reflect.String && from != to {
		return nil, fmt.Errorf("expected a duration string such as \"5s\" or \"500ms\", got %v", data)
	}
	return data, nil
}

// trimSecrets drops trailing newlines from a Secret: a value from a file or
// from a Kubernetes Secret made with --from-file often ends with one, and no
// URL, key or password does.
func trimSecrets(from, to reflect.Type, data any) (any, error) {
	if s, ok := data.(string); ok && to == reflect.TypeFor[outputs.Secret]() {
		return strings.TrimRight(s, "\r\n"), nil
	}
	return data, nil
}

// Decode decodes raw into out (a pointer to a struct) strictly: unknown
// keys are errors naming the allowed ones, durations are parsed from
// strings such as "5s" (a bare number is an error), and a string field (a
// Secret too) accepts only a string.
//
// Every Secret field K may instead be given as K_file, the path of a file
// holding the secret (Alertmanager's convention; trailing newlines are
// dropped, as from any Secret): `routing_key_file: /run/secrets/pd`.
func Decode(raw map[string]any, out any) error {
	if raw == nil {
		return nil
	}
	raw, err := readSecretFiles(raw, reflect.TypeOf(out).Elem())
	if err != nil {
		return err
	}
	var md mapstructure.Metadata
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result:           out,
		Metadata:         &md,
		WeaklyTypedInput: false,
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			trimSecrets,
			durationsFromStringsOnly,
			mapstructure.StringToTimeDurationHookFunc(),
			mapstructure.TextUnmarshallerHookFunc(),
		),
	})
	if err != nil {
		return fmt.Errorf("build decoder for %s: %w", reflect.TypeOf(out), err)
	}
	if err := dec.Decode(raw); err != nil {
		var de *mapstructure.DecodeError
		if errors.As(err, &de) {
			return fmt.Errorf("%s: %w", de.Name(), de.Unwrap())
		}
		return fmt.Errorf("%s", strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "decoding failed due to the following error(s):", "")), " "))
	}
	if len(md.Unused) > 0 {
		sort.Strings(md.Unused)
		return fmt.Errorf("%s: unknown key (allowed: %s)", md.Unused[0], strings.Join(keysOf(reflect.TypeOf(out).Elem()), ", "))
	}
	return nil
}

// keysOf lists the mapstructure keys of struct type t, with K_file for
// every Secret K.
func keysOf(t reflect.Type) []string {
	var ks []string
	for f := range structFields(t) {
		ks = append(ks, f.key)
		if f.typ == reflect.TypeFor[outputs.Secret]() {
			ks = append(ks, f.key+"_file")
		}
	}
	sort.Strings(ks)
	return ks
}

type field struct {
	key string
	typ reflect.Type
}

func structFields(t reflect.Type) func(func(field) bool) {
	return func(yield func(field) bool) {
		if t.Kind() != reflect.Struct {
			return
		}
		for i := range t.NumField() {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
			if !f.IsExported() || tag == "-" || tag == "" {
				continue
			}
			if !yield(field{tag, f.Type}) {
				return
			}
		}
	}
}

// readSecretFiles replaces every K_file key naming a Secret field K by K
// holding the file's content. raw itself is not modified.
func readSecretFiles(raw map[string]any, t reflect.Type) (map[string]any, error) {
	secrets := map[string]bool{}
	known := map[string]bool{}
	for f := range structFields(t) {
		known[f.key] = true
		if f.typ == reflect.TypeFor[outputs.Secret]() {
			secrets[f.key] = true
		}
	}
	var out map[string]any
	for k, v := range raw {
		base, ok := strings.CutSuffix(k, "_file")
		if !ok || known[k] || !secrets[base] {
			continue
		}
		if out == nil {
			out = make(map[string]any, len(raw))
			for k2, v2 := range raw {
				out[k2] = v2
			}
		}
		if _, both := raw[base]; both {
			return nil, fmt.Errorf("%s: set %s or %s, not both", k, base, k)
		}
		path, isStr := v.(string)
		if !isStr || path == "" {
			return nil, fmt.Errorf("%s: must be the path of a file holding %s", k, base)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		s := strings.TrimRight(string(b), "\r\n")
		if s == "" {
			return nil, fmt.Errorf("%s: %s is empty", k, path)
		}
		delete(out, k)
		out[base] = s
	}
	if out == nil {
		return raw, nil
	}
	return out, nil
}
