package api

import (
	"strings"
	"testing"
)

func alertJSON(fields, tm, uuid string) string {
	s := `{"rule":"r","priority":"Warning","time":"` + tm + `","output":"o","output_fields":` + fields
	if uuid != "" {
		s += `,"uuid":"` + uuid + `"`
	}
	return s + "}"
}

func nested(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }

// TestIngestRefusesWhatStorageCannotRead covers issue 16 items 1, 2 and 9:
// every input here was accepted before and then stopped a worker or was
// delivered wrongly.
func TestIngestRefusesWhatStorageCannotRead(t *testing.T) {
	const ok = "2026-11-23T10:00:00.000000000Z"
	bad := map[string]struct{ body, want string }{
		"depth near Go's limit": {alertJSON(nested(9997), ok, ""), "nests 9997 levels"},
		"depth just past ours":  {alertJSON(nested(MaxFieldsDepth+1), ok, ""), "nests 33 levels"},
		"fields too large":      {alertJSON(`{"a":"`+strings.Repeat("x", MaxFieldsBytes)+`"}`, ok, ""), "more than the limit"},
		"year 9999 west":        {alertJSON(`{}`, "9999-12-31T23:59:59-23:59", ""), "outside the years"},
		"year 0000 east":        {alertJSON(`{}`, "0000-01-01T00:00:00+01:00", ""), "outside the years"},
		"year 1969":             {alertJSON(`{}`, "1969-12-31T23:59:59Z", ""), "outside the years"},
		"year 2201":             {alertJSON(`{}`, "2201-01-01T00:00:00Z", ""), "outside the years"},
		"uuid with CRLF":        {alertJSON(`{}`, ok, `3f2504e0-4f89-41d3-9a0c-0305e82c3301\r\n`), "uuid"},
		"uuid in braces":        {alertJSON(`{}`, ok, `{3f2504e0-4f89-41d3-9a0c-0305e82c3301}`), "RFC 4122"},
		"uuid short":            {alertJSON(`{}`, ok, `abc`), "RFC 4122"},
		"uuid non-hex":          {alertJSON(`{}`, ok, `3f2504e0-4f89-41d3-9a0c-0305e82c330g`), "RFC 4122"},
	}
	for name, c := range bad {
		if _, err := DecodeAlert([]byte(c.body)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: DecodeAlert error = %v, want one containing %q", name, err, c.want)
		}
		_, err := DecodeBatch(strings.NewReader("[" + alertJSON(`{}`, ok, "") + "," + c.body + "]"))
		if err == nil || !strings.HasPrefix(err.Error(), "alert 1: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: DecodeBatch error = %v, want alert 1 and %q", name, err, c.want)
		}
	}
	good := []string{
		alertJSON(nested(MaxFieldsDepth-1), ok, ""), // output_fields itself + 31 levels
		alertJSON(`{}`, "1970-01-01T00:00:00Z", ""),
		alertJSON(`{}`, "2200-12-31T23:59:59.999999999Z", ""),
		alertJSON(`{"s":"{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\"["}`, ok, ""), // braces in strings do not count
		alertJSON(`{}`, ok, "3F2504E0-4F89-41D3-9A0C-0305E82C3301"),
	}
	for i, b := range good {
		if _, err := DecodeAlert([]byte(b)); err != nil {
			t.Errorf("good[%d] refused: %v", i, err)
		}
	}
}

func TestBatchStrayBracketAndDuplicates(t *testing.T) {
	const ok = "2026-11-23T10:00:00.000000000Z"
	a := alertJSON(`{}`, ok, "")
	for _, body := range []string{"[" + a + "]]", "[" + a + "] ]", "[" + a + "]{}", "[" + a + "]x"} {
		if _, err := DecodeBatch(strings.NewReader(body)); err == nil || !strings.Contains(err.Error(), "data after the array") {
			t.Errorf("%q: error = %v, want data after the array", body, err)
		}
	}
	if as, err := DecodeBatch(strings.NewReader("[" + a + "] \n")); err != nil || len(as) != 1 {
		t.Errorf("trailing space refused: %v", err)
	}
	u1 := alertJSON(`{}`, ok, "3f2504e0-4f89-41d3-9a0c-0305e82c3301")
	u1upper := alertJSON(`{}`, ok, "3F2504E0-4F89-41D3-9A0C-0305E82C3301")
	for _, body := range []string{"[" + u1 + "," + a + "," + u1 + "]", u1 + "\n" + a + "\n" + u1upper + "\n"} {
		_, err := DecodeBatch(strings.NewReader(body))
		if err == nil || err.Error() != `alert 2: uuid: "`+uuidOf(body)+`" is also the uuid of alert 0 (uuids must be unique)` {
			t.Errorf("duplicate uuid: error = %v", err)
		}
	}
	if as, err := DecodeBatch(strings.NewReader("[" + a + "," + a + "]")); err != nil || len(as) != 2 {
		t.Errorf("two alerts without uuid refused: %v", err)
	}
}

// uuidOf returns the last uuid in body (the duplicate the error names).
func uuidOf(body string) string {
	i := strings.LastIndex(body, `"uuid":"`)
	return body[i+8 : i+8+36]
}
