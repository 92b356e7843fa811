package api

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// stdDecode is the careful path alone: encoding/json, raw output_fields.
func stdDecode(b []byte) (Alert, error) {
	var raw fieldsIn
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return Alert{}, err
	}
	if dec.More() || dec.InputOffset() != int64(len(b)) {
		return Alert{}, &FieldError{Problem: "trailing data"}
	}
	out, err := raw.alert()
	out.OutputFields = raw.OutputFields
	return out, err
}

func stdEncode(t testing.TB, a *Alert) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(a.wire()); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// checkCodec: whatever the fast path accepts, encoding/json accepts with the
// same result, and both encoders write the same bytes.
func checkCodec(t testing.TB, b []byte) {
	b = bytes.TrimSpace(b)
	if len(b) > MaxFieldsBytes || jsonDepth(b) > MaxFieldsDepth+1 {
		return
	}
	var fast fieldsIn
	if fastDecode(b, &fast) != nil {
		return // refused: the std path decides
	}
	fa, ferr := fast.alert()
	fa.OutputFields = fast.OutputFields
	sa, serr := stdDecode(b)
	if serr != nil {
		if ferr == nil {
			t.Fatalf("fast path accepted what encoding/json refuses (%v): %q", serr, b)
		}
		return
	}
	if ferr != nil {
		return
	}
	if len(sa.OutputFields) == 0 {
		sa.OutputFields = nil // the fast path's {} (as the router treats both)
	}
	if !reflect.DeepEqual(fa, sa) {
		t.Fatalf("paths disagree on %q:\nfast %#v\nstd  %#v", b, fa, sa)
	}
	if sa.Validate() != nil {
		return // the router encodes valid alerts only
	}
	fe, err := fa.Encode()
	if err != nil {
		t.Fatal(err)
	}
	// Compared token by token (keys in order, values decoded), since the
	// encoders may escape a character differently (U+2028, \b) within the
	// same JSON string.
	if ft, st := tokens(t, fe), tokens(t, stdEncode(t, &sa)); !reflect.DeepEqual(ft, st) {
		t.Fatalf("encoders disagree on %q:\nfast %s\nstd  %s", b, fe, stdEncode(t, &sa))
	}
}

func tokens(t testing.TB, b []byte) []any {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out []any
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("invalid JSON %q: %v", b, err)
		}
		out = append(out, tok)
	}
}

func TestCodecAgrees(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checkCodec(t, b)
	}
	for _, s := range codecSeeds {
		checkCodec(t, []byte(s))
	}
	// Trailing data must not pass the fast path.
	for _, s := range []string{`{"rule":"r"} x`, `{"rule":"r"}{"rule":"s"}`, `{"rule":"r"},`} {
		if _, err := DecodeAlert([]byte(s)); err == nil {
			t.Errorf("DecodeAlert(%q) accepted trailing data", s)
		}
	}
}

var codecSeeds = []string{
	`{"rule":"r","priority":"Warning","time":"2026-11-23T10:00:00.5Z","output_fields":{"n":1470327477881781397,"f":-0.5,"e":1e400,"s":"<&>\u2028","b":true,"z":null,"d":{"x":[1,{"y":null}]}},"tags":["a"]}`,
	"{\"rule\":\"bad \xff utf8 \\ud800\",\"priority\":\"info\",\"time\":\"2026-11-23T10:00:00Z\"}",
	`{"rule":"r","rule":"dup","priority":"info","time":"2026-11-23T10:00:00Z","uuid":"00000000-0000-4000-8000-000000000001"}`,
	`{"RULE":"case","Priority":"INFO","time":"2026-11-23T10:00:00+02:00","output_fields":null,"tags":null}`,
	`{"rule":"r","priority":"info","time":"2026-11-23T10:00:00Z","lookout":{"finding":{"id":"f1","status":"new"}}}`,
	`{"rule":5}`, `{"tags":[1]}`, `{"output_fields":[]}`, `{"output_fields":{"a":01}}`, `{"time":"x"}`,
}

func FuzzCodec(f *testing.F) {
	for _, s := range codecSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(codecSeeds[0] + "\n\n" + codecSeeds[2] + "\n"))
	f.Add([]byte(codecSeeds[0] + codecSeeds[2]))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkCodec(t, b)
		checkLines(t, b)
	})
}

// checkLines: what the NDJSON fast path accepts, the stream decoder accepts
// with the same alerts.
func checkLines(t *testing.T, b []byte) {
	fast, ok := decodeLines(b)
	if !ok {
		return
	}
	slow, err := decodeStream(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decodeLines accepted what decodeStream refuses (%v): %q", err, b)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("batch paths disagree on %q", b)
	}
}
