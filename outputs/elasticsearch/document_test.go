package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/outputs/outputtest"
	"github.com/lookout-sec/lookout/router/api"
)

// decodeDoc decodes a JSON document keeping numbers exact.
func decodeDoc(t *testing.T, b []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return m
}

// docLine returns the document line of a's bulk action.
func docLine(t *testing.T, o *Output, a *api.Alert) (meta, doc map[string]any) {
	t.Helper()
	b, err := o.action(a)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) != 2 {
		t.Fatalf("action has %d lines", len(lines))
	}
	return decodeDoc(t, lines[0]), decodeDoc(t, lines[1])
}

func TestDefaultDocumentHasTimestamp(t *testing.T) {
	o, err := New(Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := outputtest.Alert()
	_, doc := docLine(t, o, a)
	if doc["@timestamp"] != "2026-11-23T10:00:00.123456789Z" || doc["time"] != "2026-11-23T10:00:00.123456789Z" {
		t.Errorf("@timestamp %v time %v, want the alert's time with nanoseconds", doc["@timestamp"], doc["time"])
	}
	fields := doc["output_fields"].(map[string]any)
	if fields["proc.pid"] != json.Number("4242") || fields["fd.name"] != "/etc/shadow" {
		t.Errorf("output_fields changed: %v", fields)
	}
	if doc["uuid"] != a.UUID || doc["priority"] != "Warning" {
		t.Errorf("document %v", doc)
	}
}

// TestCompatFalcosidekickDocuments compares compat documents with the
// documents Falcosidekick writes for the same alerts (testdata/falcosidekick,
// see its README for how they were derived), key by key; only uuid differs:
// Falcosidekick replaces it with a new one, Lookout keeps the alert's.
func TestCompatFalcosidekickDocuments(t *testing.T) {
	ingest := time.Date(2026, 12, 3, 9, 30, 0, 0, time.UTC)
	o, err := New(Config{Compat: CompatFalcosidekick}, Options{Now: func() time.Time { return ingest }})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"terminal_shell_in_container", "open_from_cat"} {
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", "falcosidekick", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			a, err := api.DecodeAlert(in)
			if err != nil {
				t.Fatal(err)
			}
			a.UUID = "4b0a8c55-2f7e-4d1a-9a39-6a1d2f0e9c11"
			slices.Reverse(a.Tags) // Falcosidekick sorts tags; so must compat
			wantB, err := os.ReadFile(filepath.Join("testdata", "falcosidekick", name+".es.json"))
			if err != nil {
				t.Fatal(err)
			}
			want := decodeDoc(t, wantB)
			meta, got := docLine(t, o, a)
			if got["uuid"] != a.UUID {
				t.Errorf("uuid %v, want the alert's own %s", got["uuid"], a.UUID)
			}
			delete(got, "uuid")
			delete(want, "uuid")
			if !reflect.DeepEqual(got, want) {
				g, _ := json.MarshalIndent(got, "", "  ")
				w, _ := json.MarshalIndent(want, "", "  ")
				t.Errorf("document differs from Falcosidekick's:\n got %s\nwant %s", g, w)
			}
			if idx := meta["index"].(map[string]any)["_index"]; idx != "falco-2026.12.03" {
				t.Errorf("index %v, want falco-2026.12.03 (ingest date, as Falcosidekick)", idx)
			}
		})
	}
}

func TestIndexDates(t *testing.T) {
	now := time.Date(2026, 12, 3, 0, 30, 0, 0, time.UTC)
	alertAt := func(d time.Duration) *api.Alert {
		a := outputtest.Alert()
		a.Time = now.Add(-d)
		return a
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		age  time.Duration
		want string
	}{
		{"alert date", Config{}, 48 * time.Hour, "falco-2026.12.01"},
		{"ingest date", Config{IndexDate: IndexDateIngest}, 48 * time.Hour, "falco-2026.12.03"},
		{"late bound not reached", Config{LateAfter: 72 * time.Hour}, 48 * time.Hour, "falco-2026.12.01"},
		{"late bound passed", Config{LateAfter: 24 * time.Hour}, 48 * time.Hour, "falco-2026.12.03"},
		{"annually", Config{IndexSuffix: SuffixAnnually}, 400 * 24 * time.Hour, "falco-2025"},
		{"monthly", Config{IndexSuffix: SuffixMonthly}, 48 * time.Hour, "falco-2026.12"},
		{"none", Config{IndexSuffix: SuffixNone, IndexDate: IndexDateIngest}, 0, "falco"},
		{"compat defaults to ingest", Config{Compat: CompatFalcosidekick}, 48 * time.Hour, "falco-2026.12.03"},
		{"compat with alert date", Config{Compat: CompatFalcosidekick, IndexDate: IndexDateAlert}, 48 * time.Hour, "falco-2026.12.01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := New(tc.cfg, Options{Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			a := alertAt(tc.age)
			if got := o.IndexName(a); got != tc.want {
				t.Errorf("index %s, want %s", got, tc.want)
			}
			_, doc := docLine(t, o, a)
			if doc["@timestamp"] != a.Time.UTC().Format(time.RFC3339Nano) {
				t.Errorf("@timestamp %v must stay the alert's own time", doc["@timestamp"])
			}
		})
	}
}

func TestECSDocument(t *testing.T) {
	o, err := New(Config{Document: DocumentECS}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := outputtest.Alert()
	a.OutputFields["proc.name"] = "cat"
	a.OutputFields["container.id"] = "ee97d9c4186f"
	a.OutputFields["k8s.ns.name"] = "default"
	_, doc := docLine(t, o, a)
	get := func(path string) any {
		var v any = doc
		for _, p := range strings.Split(path, ".") {
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[p]
		}
		return v
	}
	for path, want := range map[string]any{
		"@timestamp": "2026-11-23T10:00:00.123456789Z", "message": a.Output,
		"event.kind": "alert", "event.module": "falco", "event.id": a.UUID, "event.severity": json.Number("4"),
		"rule.name": a.Rule, "host.name": "node-1", "process.name": "cat", "process.pid": json.Number("4242"),
		"file.path": "/etc/shadow", "user.name": "root", "user.id": json.Number("0"),
		"container.id": "ee97d9c4186f", "orchestrator.namespace": "default",
		"falco.time": "2026-11-23T10:00:00.123456789Z", "falco.priority": "Warning",
	} {
		if got := get(path); !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", path, got, want)
		}
	}
	if _, ok := get("falco.output_fields").(map[string]any)["proc.tty"]; !ok {
		t.Error("falco.output_fields must keep every field, nulls included")
	}
	if _, err := New(Config{Document: DocumentECS, Compat: CompatFalcosidekick}, Options{}); err == nil {
		t.Error("ecs with compat must be rejected")
	}
}

// templateServer fakes the index template API: existing holds the
// templates by name (the GET answer is Elasticsearch's shape) and puts
// records every PUT.
func templateServer(t *testing.T, existing map[string]map[string]any) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var puts []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Content-Type", "application/json")
		name := strings.TrimPrefix(r.URL.Path, "/_index_template/")
		switch {
		case r.URL.Path == "/_bulk":
			_, _ = io.WriteString(w, `{"errors":false,"items":[{"index":{"status":201}}]}`)
		case r.Method == http.MethodGet:
			mu.Lock()
			tmpl, ok := existing[name]
			mu.Unlock()
			if !ok {
				w.WriteHeader(http.StatusNotFound)
				_, _ = io.WriteString(w, `{"error":{"type":"resource_not_found_exception"},"status":404}`)
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"index_templates": []any{map[string]any{"name": name, "index_template": tmpl}}})
		case r.Method == http.MethodPut:
			var body map[string]any
			_ = json.NewDecoder(r.Body).Decode(&body)
			mu.Lock()
			existing[name] = body
			puts = append(puts, name)
			mu.Unlock()
			_, _ = io.WriteString(w, `{"acknowledged":true}`)
		default:
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), puts...) }
}

func TestTemplateNeverReplacesForeign(t *testing.T) {
	foreign := map[string]any{"index_patterns": []any{"falco-*"}, "template": map[string]any{"mappings": map[string]any{}}}
	for _, tc := range []struct {
		name      string
		existing  map[string]any
		overwrite bool
		wantPut   bool
	}{
		{"absent", nil, false, true},
		{"foreign", foreign, false, false},
		{"foreign with overwrite", foreign, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			existing := map[string]map[string]any{}
			if tc.existing != nil {
				existing["falco"] = tc.existing
			}
			srv, puts := templateServer(t, existing)
			o, err := New(Config{Addresses: []string{srv.URL}, IndexTemplate: true, TemplateName: "falco", TemplateOverwrite: tc.overwrite}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := o.Send(context.Background(), []*api.Alert{outputtest.Alert()}); err != nil {
				t.Fatal(err)
			}
			if got := len(puts()) == 1; got != tc.wantPut {
				t.Fatalf("PUT requests %v, want a PUT: %v", puts(), tc.wantPut)
			}
		})
	}
	t.Run("ours is updated", func(t *testing.T) {
		existing := map[string]map[string]any{}
		srv, puts := templateServer(t, existing)
		for range 2 { // two router runs: the second finds the template the first made
			o, err := New(Config{Addresses: []string{srv.URL}, IndexTemplate: true}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := o.Send(context.Background(), []*api.Alert{outputtest.Alert()}); err != nil {
				t.Fatal(err)
			}
		}
		if got := strings.Join(puts(), ","); got != "lookout,lookout" {
			t.Fatalf("PUTs %s, want lookout twice (the default name, and ours to update)", got)
		}
	})
}

func TestCompatTemplate(t *testing.T) {
	o, err := New(Config{Compat: CompatFalcosidekick, Index: "falco", Shards: 3, Replicas: 1}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if o.cfg.TemplateName != "falco" {
		t.Errorf("compat template name %q, want the index name as Falcosidekick", o.cfg.TemplateName)
	}
	b, _ := json.Marshal(o.Template())
	for _, want := range []string{
		`"index_patterns":["falco-*"]`,
		`"rule":{"fields":{"keyword":{"ignore_above":256,"type":"keyword"}},"type":"text"}`,
		`"output":{"fields":{"keyword":{"ignore_above":2048,"type":"keyword"}},"type":"text"}`,
		`"@timestamp":{"type":"date"}`, `"number_of_shards":3`, `"number_of_replicas":1`,
		`"_meta":{"managed_by":"lookout"}`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("template lacks %s:\n%s", want, b)
		}
	}
}

// TestRegistryDecodeCompat decodes a block the way the router does (over
// DefaultConfig) and checks that compat's own defaults still apply.
func TestRegistryDecodeCompat(t *testing.T) {
	c := DefaultConfig()
	c.Compat = CompatFalcosidekick
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	o, err := New(c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if o.cfg.IndexDate != IndexDateIngest || !*o.cfg.FlattenFields || o.cfg.TemplateName != "falco" {
		t.Errorf("compat defaults lost: index_date %s flatten %v template %s", o.cfg.IndexDate, *o.cfg.FlattenFields, o.cfg.TemplateName)
	}
}

// TestTemplateOverlapDoesNotBlock: Elasticsearch refuses a second template
// for the same pattern at the same priority (Falcosidekick's "falco" and
// our "lookout" both for falco-*); the output leaves the other in charge
// and still delivers.
func TestTemplateOverlapDoesNotBlock(t *testing.T) {
	var bulks int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/_bulk":
			mu.Lock()
			bulks++
			mu.Unlock()
			_, _ = io.WriteString(w, `{"errors":false,"items":[{"index":{"status":201}}]}`)
		case r.Method == http.MethodGet:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":{"type":"resource_not_found_exception"},"status":404}`)
		default:
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":{"type":"illegal_argument_exception","reason":"index template [lookout] has index patterns [falco-*] matching patterns from existing templates [falco] with patterns (falco => [falco-*]) that have the same priority [0], multiple index templates may not match during index creation, please use a different priority"},"status":400}`)
		}
	}))
	defer srv.Close()
	o, err := New(Config{Addresses: []string{srv.URL}, IndexTemplate: true}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Send(context.Background(), []*api.Alert{outputtest.Alert()}); err != nil {
		t.Fatalf("an overlapping template must not block delivery: %v", err)
	}
	if bulks != 1 {
		t.Errorf("bulk requests %d, want 1", bulks)
	}
	p, _ := New(Config{TemplatePriority: 200}, Options{})
	if p.Template()["priority"] != 200 {
		t.Errorf("template_priority not in the template: %v", p.Template())
	}
}

// TestExtraFields: extra_fields adds rendered message templates to every
// document, numbers of the alert stay exact; a bad template fails Validate.
func TestExtraFields(t *testing.T) {
	o, err := New(Config{ExtraFields: map[string]string{"cluster": "prod-eu-1", "runbook": "https://runbooks.example/{{ .Rule | lower | replace \" \" \"-\" }}"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, doc := docLine(t, o, outputtest.Alert())
	if doc["cluster"] != "prod-eu-1" || doc["runbook"] != "https://runbooks.example/read-sensitive-file-untrusted" {
		t.Errorf("extra fields: %v", doc)
	}
	if doc["output_fields"].(map[string]any)["proc.pid"] != json.Number("4242") || doc["@timestamp"] == nil {
		t.Errorf("document changed: %v", doc)
	}
	c := DefaultConfig()
	c.Addresses = []string{"http://127.0.0.1:9200"}
	c.ExtraFields = map[string]string{"x": "{{ .Nope }}"}
	if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), "elasticsearch.extra_fields.x: with a sample alert: template: elasticsearch.extra_fields.x:1:3") {
		t.Errorf("Validate: %v", err)
	}
}
