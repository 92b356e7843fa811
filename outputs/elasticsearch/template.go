package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/lookout-sec/lookout/outputs"
)

// Template returns the index template body: keyword mappings for rule,
// priority, hostname, source, tags, uuid and string output fields, a date
// for time and text for the output line.
func (o *Output) Template() map[string]any {
	pattern := o.cfg.Index
	if o.cfg.IndexSuffix != SuffixNone {
		pattern += "-*"
	}
	kw := map[string]any{"type": "keyword"}
	return map[string]any{
		"index_patterns": []string{pattern},
		"template": map[string]any{
			"mappings": map[string]any{
				"dynamic_templates": []any{
					map[string]any{"output_fields_strings": map[string]any{
						"path_match": "output_fields.*", "match_mapping_type": "string", "mapping": kw,
					}},
				},
				"properties": map[string]any{
					"rule": kw, "priority": kw, "hostname": kw, "source": kw, "tags": kw, "uuid": kw,
					"time":   map[string]any{"type": "date"},
					"output": map[string]any{"type": "text"},
				},
			},
		},
	}
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
