package validate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

const (
	monitoringDir = chartDir + "/monitoring"
	dashboardFile = monitoringDir + "/lookout-dashboard.json"
	alertsFile    = monitoringDir + "/lookout-alerts.yaml"
)

// external are the metrics the alerts use that Lookout does not export:
// Prometheus' own scrape health and kube-state-metrics' DaemonSet status.
var external = []string{"up", "kube_daemonset_status_desired_number_scheduled", "kube_daemonset_status_number_available"}

// query is one PromQL expression of the dashboard or the alerts, and where.
type query struct{ where, expr string }

// dashboardQueries returns every PromQL expression of the Grafana dashboard
// (panel targets, rows' nested panels, query variables), with Grafana's
// variables replaced by what they stand for in a matcher.
func dashboardQueries(t *testing.T) []query {
	t.Helper()
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	type target struct {
		Expr string `json:"expr"`
	}
	type panel struct {
		Title   string   `json:"title"`
		Targets []target `json:"targets"`
		Panels  []panel  `json:"panels"`
	}
	var d struct {
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Type       string `json:"type"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	grafana := strings.NewReplacer("$namespace", ".*", "$__rate_interval", "5m")
	var out []query
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for i, tg := range p.Targets {
				out = append(out, query{fmt.Sprintf("dashboard panel %q target %d", p.Title, i), grafana.Replace(tg.Expr)})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type == "query" {
			// label_values(METRIC, label) is Grafana's, not PromQL: check the metric.
			def := strings.TrimSuffix(strings.TrimPrefix(v.Definition, "label_values("), ")")
			metric, _, _ := strings.Cut(def, ",")
			out = append(out, query{"dashboard variable " + v.Name, metric})
		}
	}
	if len(out) < 10 {
		t.Fatalf("%s: only %d queries found", dashboardFile, len(out))
	}
	return out
}

// alertQueries parses the rule file as Prometheus does (rulefmt: the
// schema, the PromQL, the templates) and returns each rule's expression.
func alertQueries(t *testing.T) []query {
	t.Helper()
	groups, errs := rulefmt.ParseFile(alertsFile, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	for _, err := range errs {
		t.Errorf("%s: %v", alertsFile, err)
	}
	var out []query
	var names []string
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			out = append(out, query{"alert " + r.Alert, r.Expr})
			names = append(names, r.Alert)
		}
	}
	for _, want := range []string{"LookoutSensorKernelDrops", "LookoutSensorAlertDrops", "LookoutSensorDown", "LookoutSensorMissingOnNode",
		"LookoutRouterOutputFailing", "LookoutRouterBacklogGrowing", "LookoutRouterDeadLetters", "LookoutRouterQueueNearFull"} {
		if !slices.Contains(names, want) {
			t.Errorf("%s has no alert %s", alertsFile, want)
		}
	}
	return out
}

// metricNames returns the metric names the expression selects.
func metricNames(t *testing.T, q query) []string {
	t.Helper()
	expr, err := parser.NewParser(parser.Options{}).ParseExpr(q.expr)
	if err != nil {
		t.Errorf("%s: %q does not parse: %v", q.where, q.expr, err)
		return nil
	}
	var names []string
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			if vs.Name == "" {
				t.Errorf("%s: %q selects by labels only; name the metric", q.where, q.expr)
			}
			names = append(names, vs.Name)
		}
		return nil
	})
	return names
}

// TestMonitoringMetricsExist starts the real router and sensor, makes each
// emit what it counts (a test alert through the router, an alert from the
// sensor's rules), scrapes both /metrics and checks that every metric the
// Grafana dashboard and the alert rules name is one they export (a
// histogram's _bucket, _sum and _count included). A renamed metric fails
// here, not silently in a dashboard. Needs root for the sensor.
func TestMonitoringMetricsExist(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("LOOKOUT_DEPLOY_TOOLS_REQUIRED") == "1" {
			t.Fatal("TestMonitoringMetricsExist needs root (the sensor's eBPF probe)")
		}
		t.Skip("needs root (the sensor's eBPF probe)")
	}
	queries := append(dashboardQueries(t), alertQueries(t)...)
	exported := map[string]bool{}
	for _, n := range external {
		exported[n] = true
	}
	dir := t.TempDir()
	routerAddr, sensorAddr := freeAddr(t), freeAddr(t)
	cfg := filepath.Join(dir, "router.yaml")
	writeTestFile(t, cfg, fmt.Sprintf("listen: %s\nqueue:\n  dir: %s\nnoise: {flush_interval: 200ms}\noutputs:\n  - name: console\n    type: stdout\n", routerAddr, filepath.Join(dir, "queue")))
	router := startProc(t, routerBinary(t), "--config", cfg)
	waitHTTP(t, router, "http://"+routerAddr+"/healthz")
	resp, err := http.Post("http://"+routerAddr+"/test", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// A body that is not an alert: counted by lookout_router_ingest_rejected_total.
	resp, err = http.Post("http://"+routerAddr+"/", "application/json", strings.NewReader("not json"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("POST / with a bad body: %s, want 400", resp.Status)
	}

	sensor := startProc(t, sensorBinary(t), "--router", "http://"+routerAddr, "--config",
		writeTestFile(t, filepath.Join(dir, "sensor.yaml"), fmt.Sprintf("metrics: {listen: %q}\nspool: {dir: %q}\n", sensorAddr, filepath.Join(dir, "spool"))))
	waitHTTP(t, sensor, "http://"+sensorAddr+"/healthz")
	// "Read sensitive file untrusted" fires for cat reading /etc/shadow.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		_ = exec.Command("cat", "/etc/shadow").Run()
		fams := scrape(t, "http://"+sensorAddr+"/metrics")
		if _, ok := fams["lookout_sensor_alerts_total"]; ok {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the sensor raised no alert for cat /etc/shadow:\n%s", sensor.logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Alerts reach the router: its ingest, delivery and noise series exist.
	for {
		fams := scrape(t, "http://"+routerAddr+"/metrics")
		have := 0
		for _, n := range []string{"lookout_router_ingest_seconds", "lookout_router_output_delivery_seconds", "lookout_router_noise_findings", "lookout_router_noise_decisions_total"} {
			if _, ok := fams[n]; ok {
				have++
			}
		}
		if have == 4 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the router has no ingest or delivery series:\n%s", router.logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, url := range []string{"http://" + sensorAddr + "/metrics", "http://" + routerAddr + "/metrics"} {
		for name, f := range scrape(t, url) {
			exported[name] = true
			if f.GetType() == dto.MetricType_HISTOGRAM {
				exported[name+"_bucket"], exported[name+"_sum"], exported[name+"_count"] = true, true, true
			}
		}
	}
	used, missing := 0, 0
	for _, q := range queries {
		for _, n := range metricNames(t, q) {
			used++
			if !exported[n] {
				missing++
				t.Errorf("%s uses %s, which neither the sensor nor the router exports (nor is it one of %v)", q.where, n, external)
			}
		}
	}
	t.Logf("%d queries, %d metric references, %d not exported", len(queries), used, missing)
}

type proc struct {
	cmd  *exec.Cmd
	logs *syncBuffer
}

func startProc(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), logs: &syncBuffer{}}
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		_ = p.cmd.Wait()
	})
	return p
}

func waitHTTP(t *testing.T, p *proc, url string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer: %v\n%s", url, err, p.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	tp := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := tp.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	return fams
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func writeTestFile(t *testing.T, p, data string) string {
	t.Helper()
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
