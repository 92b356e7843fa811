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
// booleans and lists included; nulls as nulls says).
func (o *Output) attachment(a *api.Alert) slack.Attachment {
	fields := []slack.AttachmentField{
		{Title: "priority", Value: a.Priority.String(), Short: true},
		{Title: "hostname", Value: trim(a.Hostname, maxFieldValue), Short: true},
		{Title: "source", Value: trim(a.Source, maxFieldValue), Short: true},
		{Title: "time", Value: readableTime(a.Time), Short: true},
	}
	if len(a.Tags) > 0 {
		fields = append(fields, slack.AttachmentField{Title: "tags", Value: trim(strings.Join(a.Tags, ", "), maxFieldValue)})
	}
	keys := make([]string, 0, len(a.OutputFields))
	for k, v := range a.OutputFields {
		if v == nil && o.cfg.Nulls == NullsOmit {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if len(fields) >= maxFields {
			fields = append(fields, slack.AttachmentField{Title: "…", Value: fmt.Sprintf("%d more fields", len(keys)-i)})
			break
		}
		v := value(a.OutputFields[k])
		_, list := a.OutputFields[k].([]any)
		fields = append(fields, slack.AttachmentField{Title: k, Value: trim(v, maxFieldValue), Short: !list && len([]rune(v)) < 40})
	}
	return slack.Attachment{
		Color: colours[a.Priority], Title: trim(a.Rule, 250), Text: trim(a.Output, maxText),
		Fallback: fallback(a), Fields: fields, Footer: "lookout", Ts: json.Number(fmt.Sprint(a.Time.Unix())),
	}
}

// readableTime shows t in the reader's own time zone through Slack's date
// formatting, with UTC (to the second) as the fallback text, e.g.
// <!date^1795428000^{date_short_pretty} {time_secs}|2026-11-23 10:00:00 UTC>.
func readableTime(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time_secs}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04:05 MST"))
}

// value renders one output field: strings as they are, numbers exactly, a
// list as one "• item" line per element, null as Falco's <NA>, anything
// else (an object) as JSON.
func value(v any) string {
	switch v := v.(type) {
	case nil:
		return "<NA>"
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return fmt.Sprint(v)
	case []any:
		lines := make([]string, len(v))
		for i, e := range v {
			lines[i] = "• " + value(e)
		}
		return strings.Join(lines, "\n")
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(b)
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
