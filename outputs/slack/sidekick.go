package slack

import (
	"sort"
	"strings"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/slack-go/slack"
)

// Falcosidekick's layout (its outputs/slack.go and outputs/constants.go).
const (
	sidekickFooter = "https://github.com/falcosecurity/falcosidekick"
	sidekickShort  = 36 // a string field shorter than this (in runes) is a short field
)

// sidekickColours are Falcosidekick's colours by priority.
var sidekickColours = map[api.Priority]string{
	api.PriorityEmergency: "#e20b0b", api.PriorityAlert: "#ff5400", api.PriorityCritical: "#ff5400",
	api.PriorityError: "#e20b0b", api.PriorityWarning: "#ffc700", api.PriorityNotice: "#5bffb5",
	api.PriorityInformational: "#68c2ff", api.PriorityDebug: "#ccfff2",
}

// sidekickAttachment lays a out as Falcosidekick does: with output_format
// all or fields, the fields rule, priority, source, hostname (when set),
// tags (sorted, comma-separated), every string output field (sorted; other
// types are left out, as Falcosidekick does) and time (Go's time.String
// form), plus the footer; with all or text, the output line as text. The
// fallback is the output line; there is no title and no timestamp.
func (o *Output) sidekickAttachment(a *api.Alert) slack.Attachment {
	att := slack.Attachment{Fallback: trim(a.Output, maxText), Color: sidekickColours[a.Priority]}
	format := o.cfg.OutputFormat
	if format == FormatAll || format == FormatFields {
		fields := []slack.AttachmentField{
			{Title: "rule", Value: a.Rule, Short: true},
			{Title: "priority", Value: a.Priority.String(), Short: true},
			{Title: "source", Value: a.Source, Short: true},
		}
		if a.Hostname != "" {
			fields = append(fields, slack.AttachmentField{Title: "hostname", Value: a.Hostname, Short: true})
		}
		if len(a.Tags) > 0 {
			tags := append([]string(nil), a.Tags...)
			sort.Strings(tags)
			fields = append(fields, slack.AttachmentField{Title: "tags", Value: strings.Join(tags, ", "), Short: true})
		}
		keys := make([]string, 0, len(a.OutputFields))
		for k, v := range a.OutputFields {
			if _, ok := v.(string); ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := a.OutputFields[k].(string)
			fields = append(fields, slack.AttachmentField{Title: k, Value: trim(v, maxFieldValue), Short: len([]rune(v)) < sidekickShort})
		}
		fields = append(fields, slack.AttachmentField{Title: "time", Value: a.Time.String()})
		att.Fields = fields
		att.Footer = sidekickFooter
		if o.cfg.Footer != "" {
			att.Footer = o.cfg.Footer
		}
	}
	if format == FormatAll || format == FormatText {
		att.Text = trim(a.Output, maxText)
	}
	return att
}
