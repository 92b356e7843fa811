package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/lookout-sec/lookout/outputs"
)

// Template returns the index template body: keyword mappings for rule,
// priority, hostname, source, tags, uuid, the keyword_fields and (through a
// dynamic template) every string output field, a date for time and text
// for the output line.
func (o *Output) Template() map[string]any {
	pattern := o.cfg.Index
	if o.cfg.IndexSuffix != SuffixNone {
		pattern += "-*"
	}
	kw := map[string]any{"type": "keyword"}
	props := map[string]any{
		"rule": kw, "priority": kw, "hostname": kw, "source": kw, "tags": kw, "uuid": kw,
		"time":   map[string]any{"type": "date"},
		"output": map[string]any{"type": "text"},
	}
	if len(o.cfg.KeywordFields) > 0 {
		props["output_fields"] = map[string]any{"properties": keywordTree(o.cfg.KeywordFields)}
	}
	return map[string]any{
		"index_patterns": []string{pattern},
		"template": map[string]any{
			"mappings": map[string]any{
				"dynamic_templates": []any{
					map[string]any{"output_fields_strings": map[string]any{
						"path_match": "output_fields.*", "match_mapping_type": "string", "mapping": kw,
					}},
				},
				"properties": props,
			},
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
// request, when index_template is set.
func (o *Output) ensureTemplate(ctx context.Context) error {
	if !o.cfg.IndexTemplate {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.templateSet {
		return nil
	}
	b, err := json.Marshal(o.Template())
	if err != nil {
		return outputs.Permanent(fmt.Errorf("elasticsearch: encode index template: %w", err))
	}
	res, err := o.client.Indices.PutIndexTemplate(o.cfg.Index, bytes.NewReader(b), o.client.Indices.PutIndexTemplate.WithContext(ctx))
	if err != nil {
		return o.transportError(ctx, err)
	}
	defer res.Body.Close()
	if res.IsError() {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return outputs.ClassifyStatus(res.StatusCode, retryAfter(res.Header),
			fmt.Errorf("elasticsearch: put index template %q: %s", o.cfg.Index, bytes.TrimSpace(msg)))
	}
	o.templateSet = true
	return nil
}
