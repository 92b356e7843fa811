package pagerduty

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/lookout-sec/lookout/outputs"
	"github.com/lookout-sec/lookout/outputs/outputtest"
	"github.com/lookout-sec/lookout/router/api"
)

const routingKey = "R0UT1NGKEYsecret0123456789abcdef"

func accept(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"success","message":"Event processed","dedup_key":"k"}`)
}

func TestConformance(t *testing.T) {
	outputtest.Run(t, outputtest.Kit{
		New: func(t testing.TB, base string, log *slog.Logger) outputs.Output {
			o, err := New(Config{RoutingKey: routingKey, Endpoint: base}, Options{Logger: log})
			if err != nil {
				t.Fatal(err)
			}
			return o
		},
		OK:      accept,
		Secrets: []string{routingKey},
	})
}

// eventsServer is a local Events API v2 that records each decoded body.
func eventsServer(t *testing.T) (*httptest.Server, func() []map[string]any) {
	var mu sync.Mutex
	var bodies []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v2/enqueue" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("unexpected request %s %s %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		var b map[string]any
		d := json.NewDecoder(r.Body)
		d.UseNumber()
		if err := d.Decode(&b); err != nil {
			t.Errorf("body: %v", err)
		}
		mu.Lock()
		bodies = append(bodies, b)
		mu.Unlock()
		accept(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []map[string]any { mu.Lock(); defer mu.Unlock(); return bodies }
}

func TestEventBody(t *testing.T) {
	srv, bodies := eventsServer(t)
	o, err := New(Config{RoutingKey: routingKey, Endpoint: srv.URL + "/", DedupFields: []string{"fd.name"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := outputtest.Alert()
	a.Priority = api.PriorityCritical
	if err := o.Send(context.Background(), []*api.Alert{a}); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"routing_key":  routingKey,
		"event_action": "trigger",
		"dedup_key":    "Read sensitive file untrusted|node-1|fd.name=/etc/shadow",
		"client":       "Lookout",
		"payload": map[string]any{
			"summary":   a.Output,
			"source":    "node-1",
			"severity":  "critical",
			"timestamp": "2026-11-23T10:00:00.123456789Z",
			"component": "syscall",
			"class":     "Read sensitive file untrusted",
			"custom_details": map[string]any{
				"fd.name": "/etc/shadow", "user.name": "root", "proc.pid": json.Number("4242"),
				"user.uid": json.Number("0"), "proc.tty": nil, "evt.is_open_read": true,
				"rule": "Read sensitive file untrusted", "priority": "Critical",
				"tags": []any{"filesystem", "mitre_credential_access"}, "uuid": a.UUID,
			},
		},
	}
	got := bodies()
	if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		gb, _ := json.MarshalIndent(got, "", "  ")
		t.Fatalf("body:\n%s", gb)
	}
}

func TestSeverity(t *testing.T) {
	for p, want := range map[api.Priority]string{
		api.PriorityEmergency: "critical", api.PriorityAlert: "critical", api.PriorityCritical: "critical",
		api.PriorityError: "error", api.PriorityWarning: "warning", api.PriorityNotice: "info",
		api.PriorityInformational: "info", api.PriorityDebug: "info",
	} {
		if got := Severity(p); got != want {
			t.Errorf("%v: %q, want %q", p, got, want)
		}
	}
}

// TestAllowList: the allow-list is the router's to apply (AllowedRules);
// Send pages every alert it is given.
func TestAllowList(t *testing.T) {
	cfg := Config{RoutingKey: routingKey, Rules: []string{"Terminal shell in container"}}
	if got := cfg.AllowedRules(); len(got) != 1 || got[0] != "Terminal shell in container" {
		t.Fatalf("AllowedRules() = %v", got)
	}
	if got := (Config{}).AllowedRules(); got != nil {
		t.Fatalf("no rules: AllowedRules() = %v, want nil (every rule)", got)
	}
	srv, bodies := eventsServer(t)
	cfg.Endpoint = srv.URL
	o, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	other := outputtest.Alert()
	shell := outputtest.Alert()
	shell.Rule = "Terminal shell in container"
	if err := o.Send(context.Background(), []*api.Alert{other, shell}); err != nil {
		t.Fatal(err)
	}
	if got := bodies(); len(got) != 2 {
		t.Fatalf("want both alerts paged, got %v", got)
	}
}

func TestStatuses(t *testing.T) {
	for status, retry := range map[int]bool{400: false, 429: true, 500: true, 503: true} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				_, _ = io.WriteString(w, `{"status":"invalid event","message":"Event object is invalid","errors":["'payload.summary' is missing"]}`)
			}))
			defer srv.Close()
			o, _ := New(Config{RoutingKey: routingKey, Endpoint: srv.URL}, Options{})
			err := o.Send(context.Background(), []*api.Alert{outputtest.Alert()})
			if err == nil || outputs.IsRetryable(err) != retry {
				t.Fatalf("err=%v retryable=%v, want %v", err, outputs.IsRetryable(err), retry)
			}
			if strings.Contains(err.Error(), routingKey) {
				t.Errorf("error leaks the routing key: %v", err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg  Config
		want string
	}{
		"no key":       {Config{}, "pagerduty.routing_key"},
		"bad endpoint": {Config{RoutingKey: "k", Endpoint: "events.pagerduty.com"}, "pagerduty.endpoint"},
		"empty rule":   {Config{RoutingKey: "k", Rules: []string{""}}, "pagerduty.rules[0]"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := New(tc.cfg, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err=%v, want %q", err, tc.want)
			}
		})
	}
	c := Config{RoutingKey: routingKey}
	if s := fmt.Sprintf("%v %+v %#v", c, c, c); strings.Contains(s, routingKey) {
		t.Errorf("printed config leaks the routing key: %s", s)
	}
}

// TestTemplates: summary and custom_details are message templates; a bad
// one fails Validate naming the key and line.
func TestTemplates(t *testing.T) {
	srv, bodies := eventsServer(t)
	o, err := New(Config{RoutingKey: routingKey, Endpoint: srv.URL, Summary: `{{ .Rule }} on {{ .Hostname }}`,
		CustomDetails: map[string]string{"runbook": `https://runbooks.example/{{ .Rule | lower | replace " " "-" }}`}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Send(context.Background(), []*api.Alert{outputtest.Alert()}); err != nil {
		t.Fatal(err)
	}
	p := bodies()[0]["payload"].(map[string]any)
	if p["summary"] != "Read sensitive file untrusted on node-1" {
		t.Errorf("summary %q", p["summary"])
	}
	if d := p["custom_details"].(map[string]any); d["runbook"] != "https://runbooks.example/read-sensitive-file-untrusted" || d["fd.name"] != "/etc/shadow" {
		t.Errorf("details %v", d)
	}
	err = Config{RoutingKey: "k", Endpoint: DefaultEndpoint, CustomDetails: map[string]string{"x": "{{ .Rulle }}"}}.Validate()
	if err == nil || !strings.HasPrefix(err.Error(), "pagerduty.custom_details.x: with a sample alert: template: pagerduty.custom_details.x:1:3") {
		t.Errorf("Validate: %v", err)
	}
}
