package registry

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/lookout-sec/lookout/outputs/outputtest"
	"github.com/lookout-sec/lookout/router/api"
)

// TestSeveralOutputsOfOneType builds two outputs of each HTTP type from
// different blocks and checks that each keeps its own settings.
func TestSeveralOutputsOfOneType(t *testing.T) {
	type hit struct{ path, marker string }
	var mu sync.Mutex
	var hits []hit
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		marker := r.Header.Get("X-Out")
		if c, ok := body["channel"].(string); ok {
			marker = c
		}
		if p, ok := body["payload"].(map[string]any); ok {
			marker, _ = p["group"].(string)
		}
		mu.Lock()
		hits = append(hits, hit{r.URL.Path, marker})
		mu.Unlock()
		if r.URL.Path == "/v2/enqueue" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write([]byte(`{"status":"success","message":"Event processed","dedup_key":"d"}`))
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	cases := []struct {
		typ          string
		a, b         map[string]any
		wantA, wantB hit
	}{
		{"webhook",
			map[string]any{"url": srv.URL + "/a", "headers": map[string]any{"X-Out": "one"}},
			map[string]any{"url": srv.URL + "/b", "headers": map[string]any{"X-Out": "two"}},
			hit{"/a", "one"}, hit{"/b", "two"}},
		{"slack",
			map[string]any{"webhook_url": srv.URL + "/s1", "channel": "#triage"},
			map[string]any{"webhook_url": srv.URL + "/s2", "channel": "#oncall"},
			hit{"/s1", "#triage"}, hit{"/s2", "#oncall"}},
		{"pagerduty",
			map[string]any{"routing_key": "k1", "endpoint": srv.URL, "group": "eu"},
			map[string]any{"routing_key": "k2", "endpoint": srv.URL, "group": "us"},
			hit{"/v2/enqueue", "eu"}, hit{"/v2/enqueue", "us"}},
	}
	reg := Builtin()
	for _, c := range cases {
		t.Run(c.typ, func(t *testing.T) {
			mu.Lock()
			hits = nil
			mu.Unlock()
			oa, err := reg.New(c.typ, c.a, env())
			if err != nil {
				t.Fatal(err)
			}
			ob, err := reg.New(c.typ, c.b, env())
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range []interface {
				Send(context.Context, []*api.Alert) error
			}{oa, ob} {
				if err := o.Send(context.Background(), []*api.Alert{outputtest.Alert()}); err != nil {
					t.Fatal(err)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(hits) != 2 || hits[0] != c.wantA || hits[1] != c.wantB {
				t.Fatalf("requests %+v, want %+v then %+v", hits, c.wantA, c.wantB)
			}
		})
	}
}
