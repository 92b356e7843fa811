package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/outputs"
	"github.com/lookout-sec/lookout/outputs/elasticsearch/zinctest"
	"github.com/lookout-sec/lookout/outputs/outputtest"
	"github.com/lookout-sec/lookout/router/api"
)

// The integration tests run against ZincSearch (zinctest: how it is found
// and started, and its quirks).

const (
	zincUser     = zinctest.User
	zincPassword = zinctest.Password
	// visible bounds how long a search waits for documents to appear.
	visible = 30 * time.Second
)

func startZinc(t *testing.T) string { return zinctest.Start(t) }

// search runs query over index and returns the _id of every hit, sorted.
func search(t *testing.T, base, index string, query map[string]any) []string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "size": 100})
	req, _ := http.NewRequest(http.MethodPost, base+"/"+index+"/_search", bytes.NewReader(body))
	req.SetBasicAuth(zincUser, zincPassword)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	defer res.Body.Close()
	var out struct {
		Hits struct {
			Hits []struct {
				ID     string         `json:"_id"`
				Source map[string]any `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("search %v: status %d, %v", query, res.StatusCode, err)
	}
	ids := make([]string, 0, len(out.Hits.Hits))
	for _, h := range out.Hits.Hits {
		ids = append(ids, h.ID)
	}
	sort.Strings(ids)
	return ids
}

// eventually polls search until it returns want (Zinc indexes
// asynchronously) and fails with the last answer after `visible`.
func eventually(t *testing.T, base, index string, query map[string]any, want []string) {
	t.Helper()
	deadline := time.Now().Add(visible)
	for {
		got := search(t, base, index, query)
		if fmt.Sprint(got) == fmt.Sprint(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("query %v on %s: ids %v, want %v", query, index, got, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func zincAlerts() []*api.Alert {
	mk := func(id, rule, host string, tm time.Time, pid int) *api.Alert {
		a := outputtest.Alert()
		a.UUID, a.Rule, a.Hostname, a.Time = id, rule, host, tm
		a.OutputFields["proc.pid"] = json.Number(strconv.Itoa(pid))
		if pid%2 == 0 {
			a.OutputFields["fd.name"] = "/etc/passwd"
		}
		return a
	}
	day := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 123456789, time.UTC) }
	return []*api.Alert{
		mk("a1", "Read sensitive file untrusted", "node-1", day(20, 10), 101),
		mk("a2", "Read sensitive file untrusted", "node-2", day(20, 23), 102),
		mk("a3", "Terminal shell in container", "node-1", day(21, 3), 103),
		mk("a4", "Terminal shell in container", "node-3", day(22, 12), 104),
	}
}

// TestZinc runs the integration tests against one ZincSearch process (a
// start costs a second or two); each subtest uses its own index.
func TestZinc(t *testing.T) {
	base := startZinc(t)
	t.Run("index and search", func(t *testing.T) { testZincIndexAndSearch(t, base) })
	t.Run("retry does not duplicate", func(t *testing.T) { testZincRetryDoesNotDuplicate(t, base) })
	t.Run("wrong password is permanent", func(t *testing.T) { testZincWrongPassword(t, base) })
	t.Run("compat falcosidekick", func(t *testing.T) { testZincCompat(t, base) })
	t.Run("noise annotation is searchable", func(t *testing.T) { testZincNoiseAnnotation(t, base) })
}

// testZincNoiseAnnotation: what the router's noise stage held back from a
// notifying output is found in Elasticsearch by its reason and finding
// (docs/noise.md), months later.
func testZincNoiseAnnotation(t *testing.T, base string) {
	o, err := New(Config{Addresses: []string{base}, Username: zincUser, Password: zincPassword, Index: "noise", IndexSuffix: SuffixNone}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	alerts := zincAlerts()
	first := alerts[0].Time
	for i, a := range alerts {
		id := map[string]string{"Read sensitive file untrusted": "9b1f0c2d4e6a8b3c", "Terminal shell in container": "0c1d2e3f4a5b6c7d"}[a.Rule]
		a.Lookout = &api.Annotation{Finding: &api.FindingRef{ID: id, Status: "expected", FirstSeen: first, Count: int64(i + 1)}}
		switch i {
		case 0:
			a.Lookout.Notified = []string{"slack"}
		case 1:
			a.Lookout.Held = map[string]string{"slack": "expected"}
		case 2, 3:
			a.Lookout.Held = map[string]string{"slack": "silenced", "pagerduty": "repeat"}
			a.Lookout.Silences = []string{"cfg-0123456789ab"}
		}
	}
	if err := o.Send(context.Background(), alerts); err != nil {
		t.Fatalf("send: %v", err)
	}
	eventually(t, base, "noise", map[string]any{"term": map[string]any{"lookout.held.slack": "silenced"}}, []string{"a3", "a4"})
	eventually(t, base, "noise", map[string]any{"term": map[string]any{"lookout.held.slack": "expected"}}, []string{"a2"})
	eventually(t, base, "noise", map[string]any{"term": map[string]any{"lookout.finding.id": "9b1f0c2d4e6a8b3c"}}, []string{"a1", "a2"})
	// Ids with a dash are analysed text here (and in Elasticsearch's
	// dynamic mapping): a match query (Kibana's KQL) finds them.
	eventually(t, base, "noise", map[string]any{"match": map[string]any{"lookout.silences": "cfg-0123456789ab"}}, []string{"a3", "a4"})
}

// zincDo sends one request with the admin credentials and returns the
// status and body.
func zincDo(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.SetBasicAuth(zincUser, zincPassword)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// testZincCompat: Falcosidekick's template already exists under the
// index's name (as Falcosidekick creates it); the compat output must leave
// it alone, index into the ingest-dated index with flattened keys and
// @timestamp, searchable by time.
func testZincCompat(t *testing.T, base string) {
	foreign := `{"index_patterns":["sidekick-*"],"template":{"mappings":{"properties":{"sidekick_marker":{"type":"keyword"}}}}}`
	if st, body := zincDo(t, http.MethodPut, base+"/_index_template/sidekick", foreign); st != http.StatusOK {
		t.Fatalf("create the foreign template: %d %s", st, body)
	}
	ingest := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	o, err := New(Config{
		Addresses: []string{base}, Username: zincUser, Password: zincPassword,
		Index: "sidekick", IndexTemplate: true, Compat: CompatFalcosidekick,
	}, Options{Now: func() time.Time { return ingest }})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := o.Send(context.Background(), zincAlerts()); err != nil {
		t.Fatalf("send: %v", err)
	}
	all := map[string]any{"match_all": map[string]any{}}
	eventually(t, base, "sidekick-2026.12.03", all, []string{"a1", "a2", "a3", "a4"})
	eventually(t, base, "sidekick-*", map[string]any{"range": map[string]any{"@timestamp": map[string]any{
		"gte": "2026-11-20T12:00:00Z", "lt": "2026-11-22T00:00:00Z"}}}, []string{"a2", "a3"})
	eventually(t, base, "sidekick-*", map[string]any{"range": map[string]any{"output_fields.proc_pid": map[string]any{
		"gte": 103, "lte": 200}}}, []string{"a3", "a4"})
	st, body := zincDo(t, http.MethodGet, base+"/_index_template/sidekick", "")
	if st != http.StatusOK || !strings.Contains(body, "sidekick_marker") || strings.Contains(body, `"rule"`) {
		t.Errorf("the existing template was replaced: %d %s", st, body)
	}
}

func testZincIndexAndSearch(t *testing.T, base string) {
	o, err := New(Config{
		Addresses: []string{base}, Username: zincUser, Password: zincPassword,
		Index: "falco", IndexSuffix: SuffixDaily, IndexTemplate: true,
		KeywordFields: []string{"fd.name", "user.name"},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	ctx := context.Background()
	alerts := zincAlerts()
	if err := o.Send(ctx, alerts); err != nil {
		t.Fatalf("send: %v", err)
	}
	cases := []struct {
		name, index string
		query       map[string]any
		want        []string
	}{
		{"by rule", "falco-*", map[string]any{"term": map[string]any{"rule": "Terminal shell in container"}}, []string{"a3", "a4"}},
		{"by hostname", "falco-*", map[string]any{"term": map[string]any{"hostname": "node-1"}}, []string{"a1", "a3"}},
		{"by time range", "falco-*", map[string]any{"range": map[string]any{"time": map[string]any{
			"gte": "2026-11-20T12:00:00Z", "lt": "2026-11-22T00:00:00Z"}}}, []string{"a2", "a3"}},
		{"dated index from the alert's time", "falco-2026.11.20", map[string]any{"match_all": map[string]any{}}, []string{"a1", "a2"}},
		{"keyword output field", "falco-*", map[string]any{"term": map[string]any{"output_fields.fd.name": "/etc/passwd"}}, []string{"a2", "a4"}},
		{"numeric output field", "falco-*", map[string]any{"range": map[string]any{"output_fields.proc.pid": map[string]any{
			"gte": 103, "lte": 200}}}, []string{"a3", "a4"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { eventually(t, base, c.index, c.query, c.want) })
	}
}

func testZincRetryDoesNotDuplicate(t *testing.T, base string) {
	o, err := New(Config{Addresses: []string{base}, Username: zincUser, Password: zincPassword, Index: "retry", IndexTemplate: true}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	ctx := context.Background()
	alerts := zincAlerts()
	all := map[string]any{"match_all": map[string]any{}}
	if err := o.Send(ctx, alerts); err != nil {
		t.Fatalf("first send: %v", err)
	}
	eventually(t, base, "retry-*", all, []string{"a1", "a2", "a3", "a4"})
	// The router retries a batch whose outcome it did not see: the same
	// alerts again (same uuids), plus a marker alert in the same bulk request
	// so that seeing the marker proves the retried items were applied too.
	marker := outputtest.Alert()
	marker.UUID, marker.Time = "marker", time.Date(2026, 11, 22, 13, 0, 0, 0, time.UTC)
	for range 2 {
		if err := o.Send(ctx, append(zincAlerts(), marker)); err != nil {
			t.Fatalf("retried send: %v", err)
		}
	}
	eventually(t, base, "retry-*", all, []string{"a1", "a2", "a3", "a4", "marker"})
}

func testZincWrongPassword(t *testing.T, base string) {
	o, err := New(Config{Addresses: []string{base}, Username: zincUser, Password: "wrong-" + zincPassword}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	err = o.Send(context.Background(), zincAlerts())
	var oe *outputs.Error
	if !errors.As(err, &oe) || oe.Status != http.StatusUnauthorized {
		t.Fatalf("want a 401 *outputs.Error, got %v", err)
	}
	if outputs.IsRetryable(err) {
		t.Errorf("401 from the server must be permanent: %v", err)
	}
	if bytes.Contains([]byte(err.Error()), []byte(zincPassword)) {
		t.Errorf("error leaks the password: %v", err)
	}
}
