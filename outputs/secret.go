package outputs

import (
	"fmt"
	"log/slog"
)

// Secret is a configuration string that must never be printed: a webhook
// URL, a token, a routing key, a password. Formatting it (%v, %s, %+v, %#v),
// logging it with slog or marshalling it to JSON, YAML or text yields
// "[redacted]" (or "" when empty); code that needs the value converts it
// explicitly with string(s) at the one place it is used.
//
// Config decoding is strict: only a string decodes into a Secret, so a
// number or a list given by mistake fails at start-up naming the key.
type Secret string

// Redacted is what a non-empty Secret prints as.
const Redacted = "[redacted]"

// String returns a fixed placeholder, never the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return Redacted
}

// GoString keeps %#v from printing the secret.
func (s Secret) GoString() string { return `"` + s.String() + `"` }

// Format keeps every fmt verb (%v, %s, %q, %x, ...) from printing the secret.
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", s.String())
	case 'v':
		if f.Flag('#') {
			_, _ = f.Write([]byte(s.GoString()))
			return
		}
		_, _ = f.Write([]byte(s.String()))
	default:
		_, _ = f.Write([]byte(s.String()))
	}
}

// LogValue keeps slog from printing the secret.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText keeps encoders from writing the secret.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
