package elasticsearch

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/outputs"
	"github.com/lookout-sec/lookout/outputs/outputtest"
	"github.com/lookout-sec/lookout/router/api"
)

const password = "pa55w0rd-secret-zz"

func bulkOK(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"took":1,"errors":false,"items":[{"index":{"status":201}}]}`)
}

func TestConformance(t *testing.T) {
	outputtest.Run(t, outputtest.Kit{
		New: func(t testing.TB, base string, log *slog.Logger) outputs.Output {
			o, err := New(Config{Addresses: []string{base}, Username: "elastic", Password: password}, Options{Logger: log})
			if err != nil {
				t.Fatal(err)
			}
			return o
		},
		OK:      bulkOK,
		Secrets: []string{password},
	})
}

// fakeES records the bulk lines it receives and answers with items built by
// status(i) for the i-th document.
func fakeES(t *testing.T, status func(i int) int) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var lines []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/_index_template/") {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":{"type":"resource_not_found_exception"},"status":404}`)
			return
		}
		if r.URL.Path != "/_bulk" {
			mu.Lock()
			b, _ := io.ReadAll(r.Body)
			lines = append(lines, r.Method+" "+r.URL.Path+" "+string(b))
			mu.Unlock()
			_, _ = io.WriteString(w, `{"acknowledged":true}`)
			return
		}
		var items []string
		sc := bufio.NewScanner(r.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		n := 0
		for sc.Scan() {
			mu.Lock()
			lines = append(lines, sc.Text())
			mu.Unlock()
			if n%2 == 1 {
				s := status(n / 2)
				if s < 300 {
					items = append(items, fmt.Sprintf(`{"index":{"status":%d}}`, s))
				} else {
					items = append(items, fmt.Sprintf(`{"index":{"status":%d,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [output_fields.proc.pid]"}}}`, s))
				}
			}
			n++
		}
		errs := strings.Contains(strings.Join(items, ""), `"error"`)
		fmt.Fprintf(w, `{"took":1,"errors":%v,"items":[%s]}`, errs, strings.Join(items, ","))
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), lines...) }
}

func TestBulkBody(t *testing.T) {
	srv, lines := fakeES(t, func(int) int { return 201 })
	o, err := New(Config{Addresses: []string{srv.URL}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := outputtest.Alert()
	b := outputtest.Alert()
	b.UUID = "b2"
	b.Time = time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC)
	if err := o.Send(context.Background(), []*api.Alert{a, b}); err != nil {
		t.Fatal(err)
	}
	got := lines()
	if len(got) != 4 {
		t.Fatalf("want 4 bulk lines, got %d: %q", len(got), got)
	}
	if got[0] != `{"index":{"_id":"3f1c1b9e-7d0a-4f6e-9a51-2b9f0c6d1e77","_index":"falco-2026.11.23"}}` ||
		got[2] != `{"index":{"_id":"b2","_index":"falco-2026.12.31"}}` {
		t.Errorf("action lines: %q / %q", got[0], got[2])
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(got[1]), &doc); err != nil || doc["rule"] != a.Rule || doc["output_fields"].(map[string]any)["proc.pid"] != 4242.0 {
		t.Errorf("document: %s (%v)", got[1], err)
	}
}

func TestIndexName(t *testing.T) {
	a := outputtest.Alert()
	for suffix, want := range map[string]string{SuffixDaily: "sec-2026.11.23", SuffixMonthly: "sec-2026.11", SuffixNone: "sec"} {
		o, err := New(Config{Index: "sec", IndexSuffix: suffix}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := o.IndexName(a); got != want {
			t.Errorf("%s: %q, want %q", suffix, got, want)
		}
	}
}

func TestPartialItems(t *testing.T) {
	srv, _ := fakeES(t, func(i int) int { return []int{201, 400, 429, 503}[i] })
	o, _ := New(Config{Addresses: []string{srv.URL}}, Options{})
	alerts := []*api.Alert{outputtest.Alert(), outputtest.Alert(), outputtest.Alert(), outputtest.Alert()}
	err := o.Send(context.Background(), alerts)
	pe, ok := err.(*outputs.PartialError)
	if !ok {
		t.Fatalf("want *outputs.PartialError, got %v", err)
	}
	if len(pe.Failed) != 3 || pe.Failed[0] != nil {
		t.Fatalf("failed items: %v", pe.Failed)
	}
	if outputs.IsRetryable(pe.Failed[1]) || !strings.Contains(pe.Failed[1].Error(), "mapper_parsing_exception") {
		t.Errorf("mapping error must be permanent with the reason: %v", pe.Failed[1])
	}
	if !outputs.IsRetryable(pe.Failed[2]) || !outputs.IsRetryable(pe.Failed[3]) {
		t.Errorf("429/503 items must be retryable: %v %v", pe.Failed[2], pe.Failed[3])
	}
}

func TestTemplateInstalledOnce(t *testing.T) {
	srv, lines := fakeES(t, func(int) int { return 201 })
	o, _ := New(Config{Addresses: []string{srv.URL}, IndexTemplate: true}, Options{})
	for range 2 {
		if err := o.Send(context.Background(), []*api.Alert{outputtest.Alert()}); err != nil {
			t.Fatal(err)
		}
	}
	var puts []string
	for _, l := range lines() {
		if strings.HasPrefix(l, "PUT /_index_template/lookout ") {
			puts = append(puts, l)
		}
	}
	if len(puts) != 1 || !strings.Contains(puts[0], `"index_patterns":["falco-*"]`) || !strings.Contains(puts[0], `"path_match":"output_fields.*"`) {
		t.Fatalf("template requests: %q", puts)
	}
}

func TestValidate(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg  Config
		want string
	}{
		"bad address": {Config{Addresses: []string{"localhost:9200"}}, "elasticsearch.addresses[0]"},
		"userinfo":    {Config{Addresses: []string{"http://u:p@h:9200"}}, "not in the URL"},
		"bad suffix":  {Config{IndexSuffix: "weekly"}, "elasticsearch.index_suffix"},
		"two auths":   {Config{APIKey: "k", Username: "u"}, "not both"},
		"no username": {Config{Password: "p"}, "elasticsearch.username"},
		"flush docs":  {Config{FlushDocuments: -1}, "elasticsearch.flush_documents"},
		"flush bytes": {Config{FlushBytes: 10}, "elasticsearch.flush_bytes"},
		"missing ca":  {Config{CAFile: "/nonexistent/ca.pem"}, "elasticsearch.ca_file"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := New(tc.cfg, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err=%v, want %q", err, tc.want)
			}
		})
	}
	c := Config{Password: password, APIKey: "apikey-secret-1"}
	if s := fmt.Sprintf("%v %+v %#v", c, c, c); strings.Contains(s, password) || strings.Contains(s, "apikey-secret-1") {
		t.Errorf("printed config leaks a secret: %s", s)
	}
}

func TestKeywordFields(t *testing.T) {
	o, err := New(Config{KeywordFields: []string{"proc.name", "proc.aname[2]", "fd.name", "container.image.repository"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(o.Template()["template"].(map[string]any)["mappings"].(map[string]any)["properties"].(map[string]any)["output_fields"])
	want := `{"properties":{"container":{"properties":{"image":{"properties":{"repository":{"type":"keyword"}}}}},` +
		`"fd":{"properties":{"name":{"type":"keyword"}}},"proc":{"properties":{"aname[2]":{"type":"keyword"},"name":{"type":"keyword"}}}}}`
	if string(b) != want {
		t.Errorf("output_fields mapping:\n got %s\nwant %s", b, want)
	}
	for name, fields := range map[string][]string{
		"empty":          {""},
		"leading dot":    {".proc"},
		"double dot":     {"proc..name"},
		"parent and kid": {"k8s.ns", "k8s.ns.name"},
	} {
		if _, err := New(Config{KeywordFields: fields}, Options{}); err == nil || !strings.Contains(err.Error(), "elasticsearch.keyword_fields[0]") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}
