package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/lookout-sec/lookout/outputs"
)

// managedBy marks the templates this output creates, in their _meta.
const managedBy = "lookout"

// Template returns the index template body. Default: keyword mappings for
// rule, priority, hostname, source, tags, uuid, the keyword_fields and
// (through a dynamic template) every string output field, dates for
// @timestamp and time, text for the output line. In compat mode:
// Falcosidekick's mapping, text with a .keyword multi-field for every string.
// Either carries _meta.managed_by: lookout in its mappings (ZincSearch
// rejects a top-level _meta).
func (o *Output) Template() map[string]any {
	pattern := o.cfg.IndexPattern()
	var mappings map[string]any
	if o.cfg.Compat == CompatFalcosidekick {
		mappings = sidekickMappings()
	} else {
		mappings = o.lookoutMappings()
	}
	mappings["_meta"] = map[string]any{"managed_by": managedBy}
	tmpl := map[string]any{"mappings": mappings}
	settings := map[string]any{}
	if o.cfg.Shards > 0 {
		settings["number_of_shards"] = o.cfg.Shards
	}
	if o.cfg.Replicas > 0 {
		settings["number_of_replicas"] = o.cfg.Replicas
	}
	if len(settings) > 0 {
		tmpl["settings"] = settings
	}
	body := map[string]any{
		"index_patterns": []string{pattern},
		"template":       tmpl,
	}
	if o.cfg.TemplatePriority > 0 {
		body["priority"] = o.cfg.TemplatePriority
	}
	return body
}

func (o *Output) lookoutMappings() map[string]any {
	kw := map[string]any{"type": "keyword"}
	date := map[string]any{"type": "date"}
	props := map[string]any{
		"rule": kw, "priority": kw, "hostname": kw, "source": kw, "tags": kw, "uuid": kw,
		"time": date, "@timestamp": date,
		"output": map[string]any{"type": "text"},
		// The router's noise annotation (docs/noise.md): exact search on
		// why an alert was held back, and on its finding.
		"lookout": map[string]any{"properties": map[string]any{
			"finding": map[string]any{"properties": map[string]any{
				"id": kw, "status": kw, "first_seen": date, "count": map[string]any{"type": "long"},
			}},
			"notified": kw, "silences": kw,
			"held": map[string]any{"type": "object", "dynamic": true},
		}},
	}
	if len(o.cfg.KeywordFields) > 0 {
		names := o.cfg.KeywordFields
		if *o.cfg.FlattenFields {
			names = make([]string, len(o.cfg.KeywordFields))
			for i, f := range o.cfg.KeywordFields {
				names[i] = strings.ReplaceAll(f, ".", "_")
			}
		}
		props["output_fields"] = map[string]any{"properties": keywordTree(names)}
	}
	match := "output_fields.*"
	if o.cfg.Document == DocumentECS {
		props = map[string]any{"@timestamp": date, "message": map[string]any{"type": "text"}}
		match = "falco.output_fields.*"
	}
	return map[string]any{
		"dynamic_templates": []any{
			map[string]any{"output_fields_strings": map[string]any{
				"path_match": match, "match_mapping_type": "string", "mapping": kw,
			}},
			map[string]any{"lookout_held": map[string]any{
				"path_match": "lookout.held.*", "match_mapping_type": "string", "mapping": kw,
			}},
		},
		"properties": props,
	}
}

// textKeyword is Falcosidekick's mapping of a string: text, with a keyword
// multi-field (rule.keyword) of at most ignoreAbove characters.
func textKeyword(ignoreAbove int) map[string]any {
	return map[string]any{"type": "text", "fields": map[string]any{
		"keyword": map[string]any{"type": "keyword", "ignore_above": ignoreAbove},
	}}
}

// sidekickMappings is the mapping of Falcosidekick's index template
// (outputs/elasticsearch_mapping.go in its repository): dates for
// @timestamp and time, text + .keyword (ignore_above 256; 2048 for output)
// for every string. Falcosidekick lists ~80 flattened output fields one by
// one with that same mapping; a dynamic template gives every string output
// field the same, listed or not.
func sidekickMappings() map[string]any {
	date := map[string]any{"type": "date"}
	return map[string]any{
		"dynamic_templates": []any{
			map[string]any{"output_fields_strings": map[string]any{
				"path_match": "output_fields.*", "match_mapping_type": "string", "mapping": textKeyword(256),
			}},
		},
		"properties": map[string]any{
			"@timestamp": date, "time": date,
			"hostname": textKeyword(256), "output": textKeyword(2048), "priority": textKeyword(256),
			"rule": textKeyword(256), "source": textKeyword(256), "tags": textKeyword(256), "uuid": textKeyword(256),
		},
	}
}

// keywordTree maps dotted field names to nested object properties, as
// Elasticsearch expands "proc.name" in a document into {"proc":{"name":…}}:
// ["proc.name", "proc.pid"] → {"proc":{"properties":{"name":kw,"pid":kw}}}.
func keywordTree(fields []string) map[string]any {
	root := map[string]any{}
	for _, f := range fields {
		parts := strings.Split(f, ".")
		m := root
		for _, p := range parts[:len(parts)-1] {
			obj, ok := m[p].(map[string]any)
			if !ok {
				obj = map[string]any{"properties": map[string]any{}}
				m[p] = obj
			}
			m = obj["properties"].(map[string]any)
		}
		m[parts[len(parts)-1]] = map[string]any{"type": "keyword"}
	}
	return root
}

// ensureTemplate installs the index template once, before the first bulk
// request, when index_template is set. An existing template of that name
// that Lookout did not create (no mappings._meta.managed_by: lookout, or an
// answer in a shape other than Elasticsearch's) is left alone,
// with a warning, unless template_overwrite is set.
func (o *Output) ensureTemplate(ctx context.Context) error {
	if !o.cfg.IndexTemplate {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.templateSet {
		return nil
	}
	name := o.cfg.TemplateName
	foreign, err := o.foreignTemplate(ctx, name)
	if err != nil {
		return err
	}
	if foreign && !o.cfg.TemplateOverwrite {
		o.log.LogAttrs(ctx, slog.LevelWarn, "elasticsearch: an index template of that name exists and was not created by lookout; leaving it (set template_overwrite: true to replace it)",
			slog.String("template", name))
		o.templateSet = true
		return nil
	}
	b, err := json.Marshal(o.Template())
	if err != nil {
		return outputs.Permanent(fmt.Errorf("elasticsearch: encode index template: %w", err))
	}
	res, err := o.client.Indices.PutIndexTemplate(name, bytes.NewReader(b), o.client.Indices.PutIndexTemplate.WithContext(ctx))
	if err != nil {
		return o.transportError(ctx, err)
	}
	defer res.Body.Close()
	if res.IsError() {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 2048))
		if res.StatusCode == http.StatusBadRequest && overlaps(msg) {
			// Another template (Falcosidekick's "falco", say) already governs
			// these indices at the same priority: it stays in charge, and
			// alerts still go out.
			o.log.LogAttrs(ctx, slog.LevelWarn, "elasticsearch: another index template has the same index pattern and priority; leaving it in charge (set template_priority above it to use lookout's, or template_name to its name)",
				slog.String("template", name), slog.String("reason", string(bytes.TrimSpace(msg))))
			o.templateSet = true
			return nil
		}
		return outputs.ClassifyStatus(res.StatusCode, retryAfter(res.Header),
			fmt.Errorf("elasticsearch: put index template %q: %s", name, bytes.TrimSpace(msg)))
	}
	o.templateSet = true
	return nil
}

// overlaps reports whether a 400 to a template PUT is Elasticsearch's
// refusal of two templates with overlapping patterns and the same priority
// ("… has index patterns [falco-*] matching patterns from existing templates
// [falco] … that have the same priority [0] …").
func overlaps(msg []byte) bool {
	return bytes.Contains(msg, []byte("matching patterns from existing templates")) ||
		bytes.Contains(msg, []byte("same priority"))
}

// foreignTemplate reports whether an index template named name exists
// without Lookout's _meta mark.
func (o *Output) foreignTemplate(ctx context.Context, name string) (bool, error) {
	res, err := o.client.Indices.GetIndexTemplate(o.client.Indices.GetIndexTemplate.WithName(name),
		o.client.Indices.GetIndexTemplate.WithContext(ctx))
	if err != nil {
		return false, o.transportError(ctx, err)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusNotFound {
		return false, nil
	}
	if res.IsError() {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return false, outputs.ClassifyStatus(res.StatusCode, retryAfter(res.Header),
			fmt.Errorf("elasticsearch: get index template %q: %s", name, bytes.TrimSpace(msg)))
	}
	var got struct {
		IndexTemplates []struct {
			Name          string `json:"name"`
			IndexTemplate struct {
				Template struct {
					Mappings struct {
						Meta map[string]any `json:"_meta"`
					} `json:"mappings"`
				} `json:"template"`
			} `json:"index_template"`
		} `json:"index_templates"`
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return false, o.transportError(ctx, err)
	}
	if json.Unmarshal(body, &got) != nil {
		return true, nil // an answer we cannot read: assume someone else's
	}
	for _, t := range got.IndexTemplates {
		if t.Name == name {
			return t.IndexTemplate.Template.Mappings.Meta["managed_by"] != managedBy, nil
		}
	}
	return true, nil // found, but not in Elasticsearch's shape: assume someone else's
}
