package slack

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/slack-go/slack"
)

// Slack's limits: message text is truncated past 40,000 characters and
// attachment fields are best kept short; long values are trimmed, never
// rejected.
const (
	maxText       = 3000
	maxFieldValue = 1000
	maxFields     = 50
)

// colours by priority, from purple (emergency) to grey (debug).
var colours = map[api.Priority]string{
	api.PriorityEmergency: "#6a0dad", api.PriorityAlert: "#8b0000", api.PriorityCritical: "#d00000",
	api.PriorityError: "#e8590c", api.PriorityWarning: "#f2c744", api.PriorityNotice: "#3aa3e3",
	api.PriorityInformational: "#5bc0de", api.PriorityDebug: "#a0a0a0",
}

// fallback is the plain text shown in notifications.
func fallback(a *api.Alert) string {
	return trim(fmt.Sprintf("[%s] %s on %s", a.Priority, a.Rule, a.Hostname), maxText)
}

// attachment renders the alert: rule as title, output line as text, then
// priority, host, source, tags, time and every output field (numbers,
// booleans and nulls included).
func attachment(a *api.Alert) slack.Attachment {
	fields := []slack.AttachmentField{
		{Title: "priority", Value: a.Priority.String(), Short: true},
		{Title: "hostname", Value: trim(a.Hostname, maxFieldValue), Short: true},
		{Title: "source", Value: trim(a.Source, maxFieldValue), Short: true},
		{Title: "time", Value: a.Time.UTC().Format(time.RFC3339Nano), Short: true},
	}
	if len(a.Tags) > 0 {
		fields = append(fields, slack.AttachmentField{Title: "tags", Value: trim(strings.Join(a.Tags, ", "), maxFieldValue)})
	}
	keys := make([]string, 0, len(a.OutputFields))
	for k := range a.OutputFields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if len(fields) >= maxFields {
			fields = append(fields, slack.AttachmentField{Title: "…", Value: fmt.Sprintf("%d more fields", len(keys)-i)})
			break
		}
		fields = append(fields, slack.AttachmentField{Title: k, Value: trim(value(a.OutputFields[k]), maxFieldValue), Short: true})
	}
	return slack.Attachment{
		Color: colours[a.Priority], Title: trim(a.Rule, 250), Text: trim(a.Output, maxText),
		Fallback: fallback(a), Fields: fields, Footer: "lookout", Ts: json.Number(fmt.Sprint(a.Time.Unix())),
	}
}

// value renders one output field the way Falco prints it.
func value(v any) string {
	switch v := v.(type) {
	case nil:
		return "<NA>"
	case string:
		return v
	case json.Number:
		return v.String()
	default:
		return fmt.Sprint(v)
	}
}

// trim shortens s to at most n runes, marking the cut with an ellipsis.
func trim(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
