package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// TimeLayout is the layout of Falco's "time" field: RFC 3339 in UTC with
// exactly nine fractional digits.
const TimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// Alert is one Falco alert as Falco's json_output writes it, plus a uuid.
//
// OutputFields keeps the JSON types of its values: numbers are json.Number
// (so 64-bit values survive exactly), strings are strings, booleans are
// booleans and unavailable fields are nil (JSON null).
type Alert struct {
	Hostname     string         `json:"hostname"`
	Output       string         `json:"output"`
	OutputFields map[string]any `json:"output_fields"`
	Priority     Priority       `json:"priority"`
	Rule         string         `json:"rule"`
	Source       string         `json:"source"`
	Tags         []string       `json:"tags"`
	Time         time.Time      `json:"time"`
	UUID         string         `json:"uuid,omitempty"`
	// Lookout is the router's noise-control annotation (what finding the
	// alert belongs to, and why it was held back from which outputs). It is
	// set by the router, never by the sensor, and omitted when empty.
	Lookout *Annotation `json:"lookout,omitempty"`
}

// wireAlert is the JSON shape; its field order is Falco's (sorted keys).
type wireAlert struct {
	Hostname     string         `json:"hostname"`
	Output       string         `json:"output"`
	OutputFields map[string]any `json:"output_fields"`
	Priority     Priority       `json:"priority"`
	Rule         string         `json:"rule"`
	Source       string         `json:"source"`
	Tags         []string       `json:"tags"`
	Time         string         `json:"time"`
	UUID         string         `json:"uuid,omitempty"`
	Lookout      *Annotation    `json:"lookout,omitempty"`
}

// MarshalJSON writes the alert in Falco's shape: keys in Falco's order, time
// with nine fractional digits in UTC, tags as [] rather than null.
func (a Alert) MarshalJSON() ([]byte, error) {
	return a.Encode()
}

// wire is the alert in its JSON shape.
func (a *Alert) wire() *wireAlert {
	w := &wireAlert{
		Hostname: a.Hostname, Output: a.Output, OutputFields: a.OutputFields,
		Priority: a.Priority, Rule: a.Rule, Source: a.Source, Tags: a.Tags,
		Time: a.Time.UTC().Format(TimeLayout), UUID: a.UUID, Lookout: a.Lookout,
	}
	if w.Tags == nil {
		w.Tags = []string{}
	}
	if w.OutputFields == nil {
		w.OutputFields = map[string]any{}
	}
	return w
}

// UnmarshalJSON decodes leniently about unknown keys (Falco may add some) and
// strictly about the known ones. It does not check required fields; use
// DecodeAlert or Validate for that.
func (a *Alert) UnmarshalJSON(b []byte) error {
	_, err := a.decode(b)
	return err
}

// wireIn is what decode reads. OutputFields is decoded in the same pass
// when the whole alert is within output_fields' limits (fieldsIn), and
// kept raw to be checked first otherwise (rawIn).
type wireIn[F any] struct {
	Hostname     *string     `json:"hostname"`
	Output       *string     `json:"output"`
	OutputFields F           `json:"output_fields"`
	Priority     *string     `json:"priority"`
	Rule         *string     `json:"rule"`
	Source       *string     `json:"source"`
	Tags         []string    `json:"tags"`
	Time         *string     `json:"time"`
	UUID         *string     `json:"uuid"`
	Lookout      *Annotation `json:"lookout"`
}

type (
	fieldsIn = wireIn[map[string]any]
	rawIn    = wireIn[*json.RawMessage]
)

// decode decodes one alert from the start of b in one pass and returns the
// offset where its JSON value ends.
//
// An alert no bigger than MaxFieldsBytes cannot break output_fields' size
// limit, so its fields are decoded with the rest (numbers as json.Number)
// and their nesting checked on the decoded values. Any other alert, and
// any the fast decoder refuses, takes the careful path: output_fields is
// kept raw, checked, then decoded, and its errors are the ones returned.
func (a *Alert) decode(b []byte) (int64, error) {
	if len(b) <= MaxFieldsBytes {
		var raw fieldsIn
		if fastDecode(b, &raw) == nil && depth(raw.OutputFields, 1) <= MaxFieldsDepth {
			if out, err := raw.alert(); err == nil {
				out.OutputFields = raw.OutputFields
				*a = out
				return int64(len(b)), nil
			}
		}
	}
	if len(b) <= MaxFieldsBytes && jsonDepth(b) <= MaxFieldsDepth+1 {
		// Refused, within output_fields' limits: decode again with
		// encoding/json for its precise error.
		var raw fieldsIn
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&raw); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) && te.Field == "output_fields" {
				return 0, &FieldError{Field: "output_fields", Problem: "must be an object, not JSON " + te.Value}
			}
			return 0, wrapJSONError(err)
		}
		out, err := raw.alert()
		if err != nil {
			return 0, err
		}
		out.OutputFields = raw.OutputFields
		*a = out
		return dec.InputOffset(), nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var raw rawIn
	if err := dec.Decode(&raw); err != nil {
		return 0, wrapJSONError(err)
	}
	out, err := raw.alert()
	if err != nil {
		return 0, err
	}
	if raw.OutputFields != nil && !bytes.Equal(bytes.TrimSpace(*raw.OutputFields), []byte("null")) {
		if err := checkFields(*raw.OutputFields); err != nil {
			return 0, err
		}
		d := json.NewDecoder(bytes.NewReader(*raw.OutputFields))
		d.UseNumber()
		if err := d.Decode(&out.OutputFields); err != nil {
			return 0, &FieldError{Field: "output_fields", Problem: "must be an object: " + err.Error()}
		}
	}
	*a = out
	return dec.InputOffset(), nil
}

// depth is how deep v nests, v itself at level d (output_fields' object is
// level 1, as for jsonDepth); it stops counting past MaxFieldsDepth.
func depth(v any, d int) int {
	if d > MaxFieldsDepth {
		return d
	}
	deepest := d
	visit := func(e any) {
		switch e.(type) {
		case map[string]any, []any:
			deepest = max(deepest, depth(e, d+1))
		}
	}
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			visit(e)
		}
	case []any:
		for _, e := range x {
			visit(e)
		}
	}
	return deepest
}

// alert checks and converts everything but output_fields.
func (raw *wireIn[F]) alert() (Alert, error) {
	out := Alert{Tags: raw.Tags, Lookout: raw.Lookout}
	if raw.Hostname != nil {
		out.Hostname = *raw.Hostname
	}
	if raw.Output != nil {
		out.Output = *raw.Output
	}
	if raw.Rule != nil {
		out.Rule = *raw.Rule
	}
	if raw.Source != nil {
		out.Source = *raw.Source
	}
	if raw.UUID != nil {
		if err := checkUUID(*raw.UUID); err != nil {
			return out, err
		}
		out.UUID = *raw.UUID
	}
	out.Priority = -1
	if raw.Priority != nil {
		p, err := ParsePriority(*raw.Priority)
		if err != nil {
			return out, &FieldError{Field: "priority", Problem: err.Error()}
		}
		out.Priority = p
	}
	if raw.Time != nil {
		t, err := time.Parse(time.RFC3339Nano, *raw.Time)
		if err != nil {
			return out, &FieldError{Field: "time", Problem: fmt.Sprintf("%q is not an RFC 3339 time", *raw.Time)}
		}
		if err := checkTime(*raw.Time, t); err != nil {
			return out, err
		}
		out.Time = t.UTC()
	}
	return out, nil
}

// Validate checks what the router requires of an alert: a rule, a valid
// priority, a time within [MinTime, MaxTime) and a uuid, if any, in RFC 4122
// form (validate.go).
func (a *Alert) Validate() error {
	switch {
	case a.Rule == "":
		return &FieldError{Field: "rule", Problem: "is required"}
	case !a.Priority.Valid():
		return &FieldError{Field: "priority", Problem: "is required (allowed: " + AllowedPriorities + ")"}
	case a.Time.IsZero():
		return &FieldError{Field: "time", Problem: "is required (RFC 3339, e.g. 2026-11-23T10:00:00.000000000Z)"}
	}
	return a.checkBounds()
}
