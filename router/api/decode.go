package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// FieldError says which field of an alert is wrong and why.
type FieldError struct {
	Index   int    // position in a batch (from 0); meaningful only for batches
	Field   string // JSON key, e.g. "priority"; empty for syntax errors
	Problem string // what is wrong and what was expected

	batch bool
}

func (e *FieldError) Error() string {
	msg := e.Problem
	if e.Field != "" {
		msg = e.Field + ": " + e.Problem
	}
	if e.batch {
		return fmt.Sprintf("alert %d: %s", e.Index, msg)
	}
	return msg
}

// ErrEmpty is returned for a body with no alert in it.
var ErrEmpty = errors.New("body holds no alert")

func wrapJSONError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return &FieldError{Index: -1, Problem: fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se)}
	case errors.As(err, &te):
		f := te.Field
		if f == "" {
			f = "alert"
		}
		return &FieldError{Index: -1, Field: f, Problem: fmt.Sprintf("must be %s, not JSON %s", jsonKind(te.Type.Kind().String()), te.Value)}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &FieldError{Index: -1, Problem: "malformed JSON: unexpected end of input"}
	}
	return &FieldError{Index: -1, Problem: "malformed JSON: " + err.Error()}
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	}
	return "a " + k
}

// DecodeAlert decodes and validates exactly one alert (what Falco's
// http_output posts). Trailing data after the object is an error.
func DecodeAlert(b []byte) (*Alert, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, ErrEmpty
	}
	if b[0] != '{' {
		return nil, &FieldError{Index: -1, Problem: "malformed JSON: expected an object"}
	}
	var a Alert
	end, err := a.decode(b)
	if err != nil {
		return nil, asFieldError(err, -1, false)
	}
	if end != int64(len(b)) {
		return nil, &FieldError{Index: -1, Problem: "malformed JSON: data after the alert object"}
	}
	if err := a.Validate(); err != nil {
		return nil, asFieldError(err, -1, false)
	}
	return &a, nil
}

// DecodeBatch decodes and validates a batch: either a JSON array of alerts or
// NDJSON (one alert object per line; blank lines are ignored). The whole batch
// is rejected if any alert is bad, and the error names its index.
func DecodeBatch(r io.Reader) ([]*Alert, error) {
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if out, ok := decodeLines(body); ok {
		return out, nil
	}
	return decodeStream(bytes.NewReader(body))
}

// decodeLines is DecodeBatch's fast path for NDJSON as the sensor and
// Falco write it: one alert per line. It declines (false) anything else,
// including any bad alert, and decodeStream decides then, with its errors.
func decodeLines(body []byte) ([]*Alert, bool) {
	var out []*Alert
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if line[0] != '{' {
			return nil, false
		}
		a := new(Alert)
		if end, err := a.decode(line); err != nil || end != int64(len(line)) || a.Validate() != nil {
			return nil, false
		}
		out = append(out, a)
	}
	if len(out) == 0 || checkBatchUUIDs(out) != nil {
		return nil, false
	}
	return out, true
}

// decodeStream decodes a JSON array of alerts or a stream of alert objects.
func decodeStream(r io.Reader) ([]*Alert, error) {
	br := bufio.NewReader(r)
	first, err := peekNonSpace(br)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, ErrEmpty
		}
		return nil, err
	}
	var out []*Alert
	dec := json.NewDecoder(br)
	switch first {
	case '[':
		var raws []json.RawMessage
		if err := dec.Decode(&raws); err != nil {
			return nil, asFieldError(wrapJSONError(err), -1, false)
		}
		if err := dec.Decode(new(json.RawMessage)); !errors.Is(err, io.EOF) {
			return nil, &FieldError{Index: -1, Problem: "malformed JSON: data after the array"}
		}
		for i, raw := range raws {
			a, err := decodeOne(raw, i)
			if err != nil {
				return nil, err
			}
			out = append(out, a)
		}
	case '{':
		for i := 0; ; i++ {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return nil, asFieldError(wrapJSONError(err), i, true)
			}
			a, err := decodeOne(raw, i)
			if err != nil {
				return nil, err
			}
			out = append(out, a)
		}
	default:
		return nil, &FieldError{Index: -1, Problem: "malformed JSON: expected an object, an array or NDJSON"}
	}
	if len(out) == 0 {
		return nil, ErrEmpty
	}
	if err := checkBatchUUIDs(out); err != nil {
		return nil, err
	}
	return out, nil
}

func decodeOne(raw json.RawMessage, i int) (*Alert, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, &FieldError{Index: i, batch: true, Problem: "malformed JSON: expected an object"}
	}
	var a Alert
	end, err := a.decode(raw)
	if err != nil {
		return nil, asFieldError(err, i, true)
	}
	if end != int64(len(raw)) {
		return nil, &FieldError{Index: i, batch: true, Problem: "malformed JSON: data after the alert object"}
	}
	if err := a.Validate(); err != nil {
		return nil, asFieldError(err, i, true)
	}
	return &a, nil
}

func asFieldError(err error, index int, batch bool) error {
	var fe *FieldError
	if !errors.As(err, &fe) {
		if !errors.As(wrapJSONError(err), &fe) {
			fe = &FieldError{Problem: err.Error()}
		}
	}
	c := *fe
	c.Index, c.batch = index, batch
	return &c
}

func peekNonSpace(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		switch b {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return b, br.UnreadByte()
	}
}
