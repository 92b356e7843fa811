package elasticsearch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lookout-sec/lookout/router/api"
)

// document returns what is indexed for a: the alert in Falco's shape with
// @timestamp (document: falco), Elastic Common Schema fields (document:
// ecs), or Falcosidekick's document (compat: falcosidekick).
func (o *Output) document(a *api.Alert) any {
	fields := a.OutputFields
	if *o.cfg.FlattenFields {
		fields = flatten(fields)
	}
	if o.cfg.Compat == CompatFalcosidekick {
		return sidekickDocument(a, fields)
	}
	if o.cfg.Document == DocumentECS {
		return ecsDocument(a, fields)
	}
	return falcoDocument{wire: wire(a, fields), Timestamp: a.Time.UTC().Format(time.RFC3339Nano)}
}

// wire is a copy of a with fields as its output_fields.
func wire(a *api.Alert, fields map[string]any) *api.Alert {
	c := *a
	c.OutputFields = fields
	return &c
}

// falcoDocument is the alert in Falco's shape plus @timestamp.
type falcoDocument struct {
	wire      *api.Alert
	Timestamp string
}

// MarshalJSON writes {"@timestamp":…, then the alert's own keys}.
func (d falcoDocument) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(d.wire)
	if err != nil {
		return nil, err
	}
	ts, _ := json.Marshal(d.Timestamp)
	out := make([]byte, 0, len(b)+len(ts)+16)
	out = append(out, `{"@timestamp":`...)
	out = append(out, ts...)
	if len(b) > 2 {
		out = append(out, ',')
	}
	return append(out, b[1:]...), nil
}

// flatten replaces the dots of every key with underscores, as Falcosidekick
// does: proc.name → proc_name, k8s.ns.name → k8s_ns_name.
func flatten(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[strings.ReplaceAll(k, ".", "_")] = v
	}
	return out
}

// sidekickDocument is Falcosidekick's document: its FalcoPayload (uuid,
// output, priority, rule, time, output_fields, source, tags sorted and
// hostname when set) plus @timestamp, the alert's time. Unlike Falcosidekick, the
// uuid is the alert's own, not a new one per hop.
func sidekickDocument(a *api.Alert, fields map[string]any) map[string]any {
	ts := a.Time.UTC().Format(time.RFC3339Nano)
	d := map[string]any{
		"output": a.Output, "priority": a.Priority.String(), "rule": a.Rule,
		"time": ts, "@timestamp": ts, "output_fields": fields, "source": a.Source,
	}
	if a.UUID != "" {
		d["uuid"] = a.UUID
	}
	if len(a.Tags) > 0 {
		tags := slices.Clone(a.Tags)
		slices.Sort(tags) // Falcosidekick sorts them on receipt (handlers.go)
		d["tags"] = tags
	}
	if a.Hostname != "" {
		d["hostname"] = a.Hostname
	}
	return d
}

// addExtra renders extra_fields for a and sets them at the top level of
// the document d (JSON), replacing a key of the same name.
func (o *Output) addExtra(d []byte, a *api.Alert) ([]byte, error) {
	vals, err := o.extra.Execute(a)
	if err != nil {
		return nil, fmt.Errorf("elasticsearch.extra_fields: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(d))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	for k, v := range vals {
		doc[k] = v
	}
	return json.Marshal(doc)
}
