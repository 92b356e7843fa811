package slack

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/outputs/outputtest"
	"github.com/lookout-sec/lookout/router/api"
	"github.com/slack-go/slack"
)

func fieldMap(att slack.Attachment) map[string]slack.AttachmentField {
	m := map[string]slack.AttachmentField{}
	for _, f := range att.Fields {
		m[f.Title] = f
	}
	return m
}

func TestListsAndNulls(t *testing.T) {
	a := outputtest.Alert()
	a.OutputFields["proc.aname"] = []any{"bash", "sshd", nil}
	a.OutputFields["k8s.labels"] = map[string]any{"app": "web"}
	for _, tc := range []struct {
		nulls, tty string
		shown      bool
	}{{"", "", false}, {NullsOmit, "", false}, {NullsShow, "<NA>", true}} {
		msg := capture(t, Config{Nulls: tc.nulls}, a)
		f := fieldMap(msg.Attachments[0])
		if got := f["proc.aname"]; got.Value != "• bash\n• sshd\n• <NA>" || got.Short {
			t.Errorf("list rendered as %q (short %v), want one bullet line per element, long field", got.Value, got.Short)
		}
		if got := f["k8s.labels"].Value; got != `{"app":"web"}` {
			t.Errorf("object rendered as %q, want JSON", got)
		}
		if got, ok := f["proc.tty"]; ok != tc.shown || got.Value != tc.tty {
			t.Errorf("nulls %q: proc.tty present=%v value %q", tc.nulls, ok, got.Value)
		}
	}
	if _, err := New(Config{WebhookURL: "https://hooks.slack.com/x", Nulls: "hide"}, Options{}); err == nil || !strings.Contains(err.Error(), "slack.nulls") {
		t.Errorf("bad nulls: %v", err)
	}
}

// TestCompatFalcosidekickLayout decodes the posted payload and checks it
// against Falcosidekick's layout (outputs/slack.go in its repository).
func TestCompatFalcosidekickLayout(t *testing.T) {
	a := outputtest.Alert()
	a.Tags = []string{"mitre_credential_access", "filesystem"}
	a.OutputFields["proc.cmdline"] = "cat /etc/shadow --with-a-rather-long-argument"
	a.Time = time.Date(2026, 11, 23, 10, 0, 0, 123456789, time.UTC)
	msg := capture(t, Config{Compat: CompatFalcosidekick, Username: "Falcosidekick",
		MessageFormat: `Alert: rule *{{ .Rule }}* by *{{ index .OutputFields "user.name" }}*`}, a)
	if msg.Text != "Alert: rule *Read sensitive file untrusted* by *root*" || msg.Username != "Falcosidekick" {
		t.Errorf("text %q username %q", msg.Text, msg.Username)
	}
	att := msg.Attachments[0]
	if att.Color != "#ffc700" || att.Text != a.Output || att.Fallback != a.Output || att.Title != "" ||
		att.Footer != "https://github.com/falcosecurity/falcosidekick" || att.Ts != "" {
		t.Errorf("attachment %+v", att)
	}
	var titles []string
	for _, f := range att.Fields {
		titles = append(titles, f.Title)
	}
	// String output fields only, sorted; numbers, booleans and nulls are left out as Falcosidekick does.
	want := "rule priority source hostname tags fd.name proc.cmdline user.name time"
	if got := strings.Join(titles, " "); got != want {
		t.Errorf("fields %q, want %q", got, want)
	}
	f := fieldMap(att)
	if f["tags"].Value != "filesystem, mitre_credential_access" || f["priority"].Value != "Warning" ||
		f["time"].Value != "2026-11-23 10:00:00.123456789 +0000 UTC" || f["time"].Short ||
		!f["fd.name"].Short || f["proc.cmdline"].Short {
		b, _ := json.Marshal(att.Fields)
		t.Errorf("fields %s", b)
	}
	text := capture(t, Config{Compat: CompatFalcosidekick, OutputFormat: FormatText, Footer: "mine"}, a).Attachments[0]
	if text.Text != a.Output || len(text.Fields) != 0 || text.Footer != "" {
		t.Errorf("output_format text: %+v", text)
	}
	fields := capture(t, Config{Compat: CompatFalcosidekick, OutputFormat: FormatFields, Footer: "mine"}, a).Attachments[0]
	if fields.Text != "" || len(fields.Fields) == 0 || fields.Footer != "mine" {
		t.Errorf("output_format fields: %+v", fields)
	}
	if c := sidekickColours[api.PriorityCritical]; c != "#ff5400" {
		t.Errorf("critical colour %s", c)
	}
	if _, err := New(Config{WebhookURL: "https://hooks.slack.com/x", Footer: "x"}, Options{}); err == nil {
		t.Error("footer without compat must be rejected")
	}
}
