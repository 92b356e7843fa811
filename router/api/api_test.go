package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParsePriority(t *testing.T) {
	cases := map[string]Priority{
		"emergency": PriorityEmergency, "ALERT": PriorityAlert, "Critical": PriorityCritical,
		"error": PriorityError, "WARNING": PriorityWarning, "notice": PriorityNotice,
		"info": PriorityInformational, "INFORMATIONAL": PriorityInformational, "debug": PriorityDebug,
		" Warning ": PriorityWarning,
	}
	for in, want := range cases {
		got, err := ParsePriority(in)
		if err != nil || got != want {
			t.Errorf("ParsePriority(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "warn", "crit", "informative", "5"} {
		_, err := ParsePriority(bad)
		if err == nil {
			t.Errorf("ParsePriority(%q) accepted", bad)
			continue
		}
		if !strings.Contains(err.Error(), "allowed: emergency") {
			t.Errorf("error for %q does not list allowed values: %v", bad, err)
		}
	}
	if !PriorityCritical.AtLeast(PriorityWarning) || PriorityNotice.AtLeast(PriorityWarning) || !PriorityWarning.AtLeast(PriorityWarning) {
		t.Error("AtLeast is wrong")
	}
}

func TestFixturesRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.json")
	if len(files) < 2 {
		t.Fatalf("fixtures missing: %v", files)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		a, err := DecodeAlert(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		// Compare as generic JSON with numbers kept exact.
		var want, got map[string]any
		mustNumbers(t, b, &want)
		mustNumbers(t, out, &got)
		delete(got, "uuid")
		wj, _ := json.Marshal(want)
		gj, _ := json.Marshal(got)
		if string(wj) != string(gj) {
			t.Errorf("%s: round trip changed the alert\nwant %s\ngot  %s", f, wj, gj)
		}
	}
}

func mustNumbers(t *testing.T, b []byte, v any) {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		t.Fatal(err)
	}
}

func TestOutputFieldsKeepTypes(t *testing.T) {
	a, err := DecodeAlert([]byte(`{"rule":"r","priority":"info","time":"2026-11-23T10:00:00.5Z","output_fields":{"n":1470327477881781397,"s":"x","b":true,"z":null,"neg":-1}}`))
	if err != nil {
		t.Fatal(err)
	}
	if a.OutputFields["n"] != json.Number("1470327477881781397") || a.OutputFields["neg"] != json.Number("-1") {
		t.Errorf("numbers not exact: %#v", a.OutputFields)
	}
	if v, ok := a.OutputFields["z"]; !ok || v != nil {
		t.Errorf("null lost: %#v", a.OutputFields)
	}
	if a.OutputFields["b"] != true || a.OutputFields["s"] != "x" {
		t.Errorf("types lost: %#v", a.OutputFields)
	}
	out, _ := json.Marshal(a)
	for _, want := range []string{`"n":1470327477881781397`, `"z":null`, `"time":"2026-11-23T10:00:00.500000000Z"`, `"priority":"Informational"`, `"tags":[]`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("marshalled alert lacks %s: %s", want, out)
		}
	}
}

func TestDecodeAlertErrors(t *testing.T) {
	cases := []struct{ name, body, want string }{
		{"empty", ``, "body holds no alert"},
		{"not object", `[1]`, "malformed JSON: expected an object"},
		{"syntax", `{"rule":`, "malformed JSON"},
		{"trailing", `{"rule":"r","priority":"info","time":"2026-11-23T10:00:00Z"} {}`, "data after the alert object"},
		{"missing rule", `{"priority":"info","time":"2026-11-23T10:00:00Z"}`, "rule: is required"},
		{"missing priority", `{"rule":"r","time":"2026-11-23T10:00:00Z"}`, "priority: is required"},
		{"missing time", `{"rule":"r","priority":"info"}`, "time: is required"},
		{"bad priority", `{"rule":"r","priority":"warn","time":"2026-11-23T10:00:00Z"}`, `priority: unknown priority "warn"`},
		{"bad time", `{"rule":"r","priority":"info","time":"yesterday"}`, `time: "yesterday" is not an RFC 3339 time`},
		{"rule type", `{"rule":5,"priority":"info","time":"2026-11-23T10:00:00Z"}`, "rule: must be a string"},
		{"fields type", `{"rule":"r","priority":"info","time":"2026-11-23T10:00:00Z","output_fields":[1]}`, "output_fields: must be an object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeAlert([]byte(c.body))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestDecodeBatch(t *testing.T) {
	one := `{"rule":"r","priority":"warning","time":"2026-11-23T10:00:00Z"}`
	for name, body := range map[string]string{
		"array":  "[" + one + "," + one + "]",
		"ndjson": one + "\n\n" + one + "\n",
	} {
		as, err := DecodeBatch(strings.NewReader(body))
		if err != nil || len(as) != 2 {
			t.Errorf("%s: %d alerts, %v", name, len(as), err)
		}
	}
	_, err := DecodeBatch(strings.NewReader("[" + one + `,{"rule":"r","priority":"nope","time":"2026-11-23T10:00:00Z"}]`))
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Index != 1 || fe.Field != "priority" || !strings.HasPrefix(err.Error(), "alert 1: priority:") {
		t.Errorf("bad batch error: %v", err)
	}
	_, err = DecodeBatch(strings.NewReader(one + "\n{"))
	if err == nil || !strings.HasPrefix(err.Error(), "alert 1: malformed JSON") {
		t.Errorf("bad ndjson error: %v", err)
	}
	if _, err := DecodeBatch(strings.NewReader("  ")); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty: %v", err)
	}
	if _, err := DecodeBatch(strings.NewReader("[]")); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty array: %v", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	if d := ParseRetryAfter("3", now); d != 3*time.Second {
		t.Error(d)
	}
	if d := ParseRetryAfter(now.Add(10*time.Second).Format(http.TimeFormat), now); d != 10*time.Second {
		t.Error(d)
	}
	if d := ParseRetryAfter("soon", now); d != 0 {
		t.Error(d)
	}
}

func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Add([]byte(`[{"rule":"r","priority":"info","time":"2026-11-23T10:00:00Z"}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if a, err := DecodeAlert(b); err == nil {
			out, err := json.Marshal(a)
			if err != nil {
				t.Fatalf("accepted alert does not marshal: %v", err)
			}
			if _, err := DecodeAlert(out); err != nil {
				t.Fatalf("re-decode of %s: %v", out, err)
			}
		}
		_, _ = DecodeBatch(strings.NewReader(string(b)))
	})
}
