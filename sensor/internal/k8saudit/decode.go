package k8saudit

import (
	"errors"
	"fmt"
	"time"

	"github.com/valyala/fastjson"
)

// APIVersion is the audit event API version accepted.
const APIVersion = "audit.k8s.io/v1"

// DecodeError is a body or line that is not an audit.k8s.io/v1 Event or
// EventList. Reason is a short label for the metric.
type DecodeError struct {
	Reason string // "json", "api_version", "kind", "event"
	Msg    string
}

func (e *DecodeError) Error() string { return e.Msg }

func decodeErr(reason, format string, a ...any) error {
	return &DecodeError{Reason: reason, Msg: fmt.Sprintf(format, a...)}
}

// Decode parses data (an EventList or one Event) with p and calls fn for
// each event in order. The values passed to fn belong to p: they are valid
// until p parses again. Nothing is passed to fn unless the whole body is
// valid, so a bad batch is rejected whole (the API server then logs the
// failure; nothing was half-processed).
func Decode(p *fastjson.Parser, data []byte, fn func(ev *fastjson.Value)) (int, error) {
	v, err := p.ParseBytes(data)
	if err != nil {
		return 0, decodeErr("json", "malformed JSON: %v", err)
	}
	if v.Type() != fastjson.TypeObject {
		return 0, decodeErr("json", "expected a JSON object (an audit.k8s.io/v1 EventList or Event), got %s", v.Type())
	}
	if av := string(v.GetStringBytes("apiVersion")); av != APIVersion {
		return 0, decodeErr("api_version", "apiVersion %q: expected %q", av, APIVersion)
	}
	var items []*fastjson.Value
	switch kind := string(v.GetStringBytes("kind")); kind {
	case "EventList":
		iv := v.Get("items")
		if iv != nil && iv.Type() != fastjson.TypeArray && iv.Type() != fastjson.TypeNull {
			return 0, decodeErr("kind", "EventList items: expected an array, got %s", iv.Type())
		}
		items = v.GetArray("items")
		for i, it := range items {
			if err := checkEvent(it); err != nil {
				return 0, decodeErr("event", "items[%d]: %v", i, err)
			}
		}
	case "Event":
		if err := checkEvent(v); err != nil {
			return 0, decodeErr("event", "%v", err)
		}
		items = []*fastjson.Value{v}
	default:
		return 0, decodeErr("kind", "kind %q: expected EventList or Event", kind)
	}
	for _, it := range items {
		fn(it)
	}
	return len(items), nil
}

// checkEvent checks what the source itself relies on: an object with a
// string auditID and stage, and a known apiVersion when one is given.
func checkEvent(v *fastjson.Value) error {
	if v.Type() != fastjson.TypeObject {
		return fmt.Errorf("expected an Event object, got %s", v.Type())
	}
	if av := v.Get("apiVersion"); av != nil && string(av.GetStringBytes()) != APIVersion {
		return fmt.Errorf("apiVersion %s: expected %q", av, APIVersion)
	}
	for _, k := range []string{"auditID", "stage"} {
		f := v.Get(k)
		if f == nil || f.Type() != fastjson.TypeString || len(f.GetStringBytes()) == 0 {
			return fmt.Errorf("missing or empty %s", k)
		}
	}
	return nil
}

// eventTime is the event's stageTimestamp, else its
// requestReceivedTimestamp, else now.
func eventTime(v *fastjson.Value, now time.Time) time.Time {
	for _, k := range []string{"stageTimestamp", "requestReceivedTimestamp"} {
		if b := v.GetStringBytes(k); len(b) > 0 {
			if t, err := time.Parse(time.RFC3339Nano, string(b)); err == nil {
				return t
			}
		}
	}
	return now
}

// errTooLarge is returned for a log line over the size limit.
var errTooLarge = errors.New("line too long")
