package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/outputs/elasticsearch"
	"github.com/lookout-sec/lookout/outputs/elasticsearch/zinctest"
	"github.com/lookout-sec/lookout/router/api"
)

// TestUISearchElasticsearch runs the real binary with ui.search on its
// Elasticsearch output (ZincSearch): the search page reads the output's
// indices (an alert indexed there a month ago, never seen by this router,
// is found; alerts posted to the router are found by an output field and
// by words once the output indexed them), says where it reads, and the
// alert page shows the noise stage's annotation as the delivery it knows;
// an alert the output never got opens from the router's history.
func TestUISearchElasticsearch(t *testing.T) {
	esURL := zinctest.Start(t)
	dir := t.TempDir()
	addr, notifyAddr := freeAddr(t), freeAddr(t)
	newCountingSink(t, notifyAddr, 0)
	cfg := writeConfig(t, dir, fmt.Sprintf(`
listen: %s
admin: {tokens: [adm1n]}
queue: {dir: %s/q}
ui: {search: {source: elasticsearch, output: forensics}}
outputs:
  - {name: slack, type: webhook, notify: new, webhook: {url: "http://%s/"}}
  - name: forensics
    type: elasticsearch
    min_priority: notice
    elasticsearch:
      addresses: [%q]
      username: %s
      password: %q
      index: lookout
      index_template: true
      keyword_fields: [proc.name, k8s.ns.name]
`, addr, dir, notifyAddr, esURL, zinctest.User, zinctest.Password))

	// A month-old alert in the forensic store only (the same index,
	// written by the same output code).
	old := time.Now().UTC().Add(-30 * 24 * time.Hour).Truncate(time.Minute)
	out, err := elasticsearch.New(elasticsearch.Config{
		Addresses: []string{esURL}, Username: zinctest.User, Password: zinctest.Password,
		Index: "lookout", IndexTemplate: true, KeywordFields: []string{"proc.name", "k8s.ns.name"},
	}, elasticsearch.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if err := out.Send(context.Background(), []*api.Alert{{
		UUID: "0ld00000-0000-4000-8000-000000000001", Time: old, Rule: "Old rule", Priority: api.PriorityCritical,
		Source: "syscall", Hostname: "node-old", Output: "an old forensic alert",
		OutputFields: map[string]any{"proc.name": "nc", "k8s.ns.name": "ops"},
	}}); err != nil {
		t.Fatalf("index the old alert: %v", err)
	}
	startRouter(t, cfg, addr)

	now := time.Now().UTC()
	ids := make([]string, 2)
	for i := range ids {
		ids[i] = fmt.Sprintf("00000000-0000-4000-8000-e5%010d", i)
		postAlert(t, addr, fmt.Sprintf(`{"hostname":"node-1","output":"shell sh-%d in ns payments","output_fields":{"proc.name":"bash","k8s.ns.name":"payments"},"priority":"Warning","rule":"Shell in payments","source":"syscall","tags":["shell"],"time":%q,"uuid":%q}`,
			i, now.Add(time.Duration(i)*time.Second).Format(time.RFC3339Nano), ids[i]))
	}

	// A debug alert the output's min_priority keeps out of the index.
	debugID := "00000000-0000-4000-8000-de0000000001"
	postAlert(t, addr, fmt.Sprintf(`{"hostname":"node-1","output":"a debug alert","output_fields":{"proc.name":"bash"},"priority":"Debug","rule":"Debug rule","source":"syscall","tags":[],"time":%q,"uuid":%q}`,
		now.Format(time.RFC3339Nano), debugID))

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.PostForm("http://"+addr+"/ui/login", url.Values{"token": {"adm1n"}, "name": {"alice"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	get := func(path string) string {
		t.Helper()
		resp, err := c.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s\n%.2000s", path, resp.Status, b)
		}
		return string(b)
	}
	// until polls a page until it holds every want (the output indexes
	// asynchronously, Zinc too).
	until := func(path string, want ...string) string {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			body := get(path)
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(body, w)
			}
			if ok {
				return body
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET %s never showed %q:\n%.3000s", path, want, body)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	store := "Elasticsearch (output forensics, lookout-*)"
	custom := url.Values{"r": {"custom"}, "since": {old.Add(-time.Hour).Format("2006-01-02T15:04")},
		"until": {old.Add(time.Hour).Format("2006-01-02T15:04")}, "fields": {"proc.name=nc"}}
	until("/ui/search?"+custom.Encode(), "0ld00000-0000-4000-8000-000000000001", "an old forensic alert", store)

	// A silence pre-filled from it (only Elasticsearch has it).
	if body := get("/ui/silences/new?from=0ld00000-0000-4000-8000-000000000001"); !strings.Contains(body, `rule = &#34;Old rule&#34;`) {
		t.Errorf("the new-silence form is not pre-filled from the Elasticsearch alert:\n%.3000s", body)
	}

	byField := url.Values{"fields": {"proc.name=bash\nk8s.ns.name=payments"}}
	body := until("/ui/search?"+byField.Encode(), ids[0], ids[1], store)
	if strings.Contains(body, "0ld00000") {
		t.Errorf("the field search found the old alert:\n%.3000s", body)
	}
	byText := url.Values{"text": {"sh-1 payments"}}
	body = until("/ui/search?"+byText.Encode(), ids[1])
	if strings.Contains(body, ids[0]) {
		t.Errorf("free text sh-1 found sh-0 too:\n%.3000s", body)
	}

	// The overview counts the same store (no keyword mapping for
	// k8s.workload.name in Zinc: that list says so, the rest is drawn).
	until("/ui/", `counted in <span id="overview-store">`+store, "Shell in payments</a></td><td class=\"num\">2<", "Could not count")

	// The second alert repeats the first one's finding: held back from
	// the notify: new output, as the document's annotation says.
	// (Outputs that record every alert, forensics itself, are not named
	// in the annotation.)
	until("/ui/alerts/"+ids[1], "<td>slack</td><td><strong>held back: repeat</strong>", `id="delivery-source"`, store)
	until("/ui/alerts/"+ids[0], "<td>slack</td><td>queued for delivery</td>", `id="delivery-source"`)
	// Not in Elasticsearch: the alert page reads the router's history, and
	// says so; search (Elasticsearch) does not find it.
	until("/ui/alerts/"+debugID, "a debug alert", "this alert is not (yet) in the Elasticsearch")
	if body := get("/ui/search?" + url.Values{"text": {"debug"}}.Encode()); strings.Contains(body, debugID) {
		t.Errorf("search found the alert Elasticsearch never got:\n%.3000s", body)
	}
}
