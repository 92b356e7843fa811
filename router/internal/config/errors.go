package config

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/go-viper/mapstructure/v2"
)

// KeyError is a configuration error at a key path ("outputs[1].slack.channel").
type KeyError struct {
	Key string // dotted path; "" for the file as a whole
	Err error
}

func (e *KeyError) Error() string {
	if e.Key == "" {
		return e.Err.Error()
	}
	return e.Key + ": " + e.Err.Error()
}

func (e *KeyError) Unwrap() error { return e.Err }

// Errorf returns a KeyError at key (relative to the section being
// validated) with a formatted message.
func Errorf(key, format string, a ...any) error {
	return &KeyError{Key: key, Err: fmt.Errorf(format, a...)}
}

// under puts prefix in front of err's key path (a KeyError's, or the whole
// message as the value of prefix).
func under(prefix string, err error) error {
	if err == nil {
		return nil
	}
	var ke *KeyError
	if errors.As(err, &ke) {
		return &KeyError{Key: joinKey(prefix, ke.Key), Err: ke.Err}
	}
	return &KeyError{Key: prefix, Err: err}
}

func joinKey(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	case strings.HasPrefix(b, "["):
		return a + b
	}
	return a + "." + b
}

// decodeErrors turns mapstructure's error tree into one KeyError per
// problem, sorted by key, worded as the rest of the config's errors.
func decodeErrors(err error) []error {
	var out []*KeyError
	var walk func(error)
	walk = func(e error) {
		var de *mapstructure.DecodeError
		switch {
		case errors.As(e, &de) && !isJoin(e):
			out = append(out, &KeyError{Key: de.Name(), Err: errors.New(reword(de.Unwrap()))})
		case isJoin(e):
			for _, x := range e.(interface{ Unwrap() []error }).Unwrap() {
				walk(x)
			}
		default:
			out = append(out, &KeyError{Err: errors.New(reword(e))})
		}
	}
	walk(err)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	errs := make([]error, len(out))
	for i, e := range out {
		errs[i] = e
	}
	return errs
}

func isJoin(e error) bool {
	_, ok := e.(interface{ Unwrap() []error })
	return ok
}

var unconvertible = regexp.MustCompile(`^expected type '([^']+)', got unconvertible type '([^']+)'(?:, value: '(.*)')?$`)

// reword replaces mapstructure's Go-type wording with the YAML's.
func reword(err error) string {
	msg := err.Error()
	if m := unconvertible.FindStringSubmatch(msg); m != nil {
		want := m[1]
		switch {
		case strings.HasPrefix(want, "[]"):
			want = "a list"
		case strings.HasPrefix(want, "map["), strings.HasPrefix(want, "struct"):
			want = "a mapping"
		case strings.HasPrefix(want, "int"), strings.HasPrefix(want, "uint"):
			want = "an integer"
		case want == "bool":
			want = "true or false"
		case strings.HasSuffix(want, "Secret"), want == "string":
			want = "a string"
		}
		if m[3] != "" {
			return fmt.Sprintf("%s is not %s", m[3], want)
		}
		return fmt.Sprintf("must be %s (got a %s)", want, yamlKind(m[2]))
	}
	if strings.HasPrefix(msg, "expected a map") {
		return "must be a mapping"
	}
	if strings.HasPrefix(msg, "source data must be an array or slice") {
		return "must be a list"
	}
	return msg
}

func yamlKind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "list"
	case strings.HasPrefix(goType, "map"):
		return "mapping"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "float"):
		return "number"
	}
	return goType
}
