package server

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/match"
	"github.com/lookout-sec/lookout/router/internal/metrics"
	"github.com/lookout-sec/lookout/router/internal/noise"
	"github.com/lookout-sec/lookout/router/internal/pipeline"
	"github.com/lookout-sec/lookout/router/internal/queue"
)

// TestTestEndpointReports: POST /test answers, per output, what happened
// to the test alert: with filters bypassed every output queues it and the
// report says what the filters would do; with ?filters=apply it is
// filtered (and why, the PagerDuty allow-list included), held by noise
// control (and why) or queued; the counts agree with the report.
func TestTestEndpointReports(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	names := []string{"all", "warn", "pd", "quiet"}
	var qo []queue.OutputOptions
	for _, n := range names {
		qo = append(qo, queue.OutputOptions{Name: n})
	}
	q, err := queue.Open(queue.Options{Dir: t.TempDir(), MaxBytes: 1 << 20, Outputs: qo})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	sil := match.All{match.MustParse(`tags in (test)`)}
	stage, err := noise.New(noise.Config{
		Policies: []noise.Policy{{Name: "all"}, {Name: "warn"}, {Name: "pd"}, {Name: "quiet"}},
		Silences: []noise.Silence{{ID: noise.ConfigSilenceID(sil), Matchers: sil, CreatedBy: "test", Comment: "quiet output", Origin: "config"}},
	}, nil, noise.Options{})
	if err != nil {
		t.Fatal(err)
	}
	routes := []pipeline.Route{
		{Name: "all", Filter: pipeline.Filter{MinPriority: api.PriorityDebug}},
		{Name: "warn", Filter: pipeline.Filter{MinPriority: api.PriorityWarning}},
		{Name: "pd", Filter: pipeline.Filter{MinPriority: api.PriorityDebug, AllowRules: []string{"Terminal shell in container"}}},
	}
	post := func(t *testing.T, fan *pipeline.Fanout, query string) api.TestReport {
		t.Helper()
		srv := httptest.NewServer(New(Options{BodyLimit: 1 << 20, Ingester: fan, Metrics: m, Gatherer: reg, Logger: slog.New(slog.DiscardHandler)}))
		defer srv.Close()
		resp, err := http.Post(srv.URL+"/test"+query, "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("status %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		var rep api.TestReport
		if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
			t.Fatal(err)
		}
		return rep
	}
	t.Run("bypassed", func(t *testing.T) {
		rep := post(t, pipeline.NewFanout(routes, q, m, nil), "")
		want := []api.TestResult{
			{Output: "all", Result: "queued"},
			{Output: "warn", Result: "queued", WouldFilter: "priority Debug is below min_priority Warning"},
			{Output: "pd", Result: "queued", WouldFilter: `rule "Test rule" is not in the output's rules allow-list`},
		}
		if rep.Filters != "bypassed" || rep.Accepted != 3 || rep.UUID == "" || !reflect.DeepEqual(rep.Outputs, want) {
			t.Fatalf("report %+v", rep)
		}
	})
	t.Run("applied", func(t *testing.T) {
		before := testutil.ToFloat64(m.Filtered.WithLabelValues("pd"))
		rep := post(t, pipeline.NewFanout(routes, q, m, nil), "?filters=apply&priority=error")
		want := []api.TestResult{
			{Output: "all", Result: "queued"},
			{Output: "warn", Result: "queued"},
			{Output: "pd", Result: "filtered", Reason: `rule "Test rule" is not in the output's rules allow-list`},
		}
		if rep.Filters != "applied" || rep.Accepted != 2 || !reflect.DeepEqual(rep.Outputs, want) {
			t.Fatalf("report %+v", rep)
		}
		if got := testutil.ToFloat64(m.Filtered.WithLabelValues("pd")) - before; got != 1 {
			t.Errorf("pd filtered count +%v, want +1", got)
		}
		rep = post(t, pipeline.NewFanout(routes, q, m, nil), "?filters=apply&rule=Terminal+shell+in+container")
		if rep.Outputs[2] != (api.TestResult{Output: "pd", Result: "queued"}) {
			t.Errorf("allowed rule: %+v", rep.Outputs[2])
		}
	})
	t.Run("noise", func(t *testing.T) {
		r := append(routes[:1:1], pipeline.Route{Name: "quiet", Filter: pipeline.Filter{MinPriority: api.PriorityDebug}})
		rep := post(t, pipeline.NewFanout(r, q, m, stage), "?filters=apply")
		for _, o := range rep.Outputs {
			if o.Result != "held" || o.Reason != noise.HeldSilenced {
				t.Errorf("%+v, want held by the silence", o)
			}
		}
		if rep.Accepted != 0 {
			t.Errorf("accepted %d", rep.Accepted)
		}
	})
	t.Run("bad query", func(t *testing.T) {
		srv := httptest.NewServer(New(Options{BodyLimit: 1 << 20, Ingester: pipeline.NewFanout(routes, q, m, nil), Metrics: m, Gatherer: reg, Logger: slog.New(slog.DiscardHandler)}))
		defer srv.Close()
		for _, query := range []string{"?filters=yes", "?priority=warn"} {
			resp, err := http.Post(srv.URL+"/test"+query, "application/json", nil)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			buf := make([]byte, 512)
			n, _ := resp.Body.Read(buf)
			b.Write(buf[:n])
			resp.Body.Close()
			if resp.StatusCode != 400 {
				t.Errorf("%s: %d %s", query, resp.StatusCode, b.String())
			}
		}
	})
}
