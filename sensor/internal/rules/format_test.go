package rules

import (
	"slices"
	"strings"
	"testing"
)

// TestOutputFormat checks %token parsing and rendering: longest known
// prefix, [arg], width, transformers (rendered, not in output_fields),
// %container.info and <NA>.
func TestOutputFormat(t *testing.T) {
	tests := []struct {
		output string
		text   string // after "HH:MM:SS.nnnnnnnnn: Informational ", before the suggested fields
		keys   []string
	}{
		{"file=%fd.name)", "file=/etc/shadow)", []string{"fd.name"}},
		{"%proc.name.", "cat.", []string{"proc.name"}},
		{"gp=%proc.aname[2] x", "gp=sshd x", []string{"proc.aname[2]"}},
		{"[%6proc.name] [%2user.name]", "[cat   ] [ro]", []string{"proc.name", "user.name"}},
		{"u=%toupper(user.name) f=%basename(fd.name)", "u=ROOT f=shadow", nil},
		{"c=%container.info|", "c=|", nil},
		{"pid=%proc.pid sip=%fd.sip", "pid=1100 sip=<NA>", []string{"proc.pid", "fd.sip"}},
		{"flags=%evt.arg.flags 100%", "", nil},
	}
	for _, tc := range tests {
		y := "- rule: R\n  desc: d\n  condition: evt.type = openat\n  output: '" + tc.output + "'\n  priority: INFO\n"
		e, rep, err := loadFiles(t, y)
		if tc.text == "" {
			if err == nil {
				t.Errorf("%q: no error", tc.output)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.output, err)
			continue
		}
		as := evalAll(e, goldenCases()[0].fire)
		if len(as) != 1 {
			t.Fatalf("%q: %d alerts", tc.output, len(as))
		}
		want := "12:34:56.123456789: Informational " + tc.text + " container_id=host container_name=host"
		if as[0].Output != want {
			t.Errorf("%q:\n got %q\nwant %q", tc.output, as[0].Output, want)
		}
		var keys []string
		for k := range as[0].OutputFields {
			if k != "evt.time" && k != "container.id" && k != "container.name" {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		wantKeys := slices.Clone(tc.keys)
		slices.Sort(wantKeys)
		if !slices.Equal(keys, wantKeys) {
			t.Errorf("%q: output_fields keys %q, want %q", tc.output, keys, wantKeys)
		}
		if strings.Contains(tc.output, "container.info") && len(rep.Warnings) != 1 {
			t.Errorf("%q: warnings %q", tc.output, rep.Warnings)
		}
	}
}
