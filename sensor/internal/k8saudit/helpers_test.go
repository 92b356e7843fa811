package k8saudit

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/sensor/internal/rules"
	"github.com/lookout-sec/lookout/sensor/internal/ruleset"
)

// fixtureLines returns the captured audit events (one JSON Event a line):
// real events from kube-apiserver, see sensor/tools/capture-k8s-audit.sh.
func fixtureLines(t testing.TB) [][]byte {
	t.Helper()
	data, err := os.ReadFile("testdata/audit.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for l := range bytes.SplitSeq(data, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		t.Fatal("testdata/audit.jsonl has no events")
	}
	return out
}

// eventList wraps events in an audit.k8s.io/v1 EventList, as the webhook
// backend sends them.
func eventList(lines [][]byte) []byte {
	var b bytes.Buffer
	b.WriteString(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[`)
	b.Write(bytes.Join(lines, []byte(",")))
	b.WriteString("]}")
	return b.Bytes()
}

// loadEngine loads the embedded k8s_audit rules (all matching rules fire).
func loadEngine(t testing.TB) *rules.Engine {
	t.Helper()
	eng, _, err := rules.Load([]rules.Source{{Name: ruleset.K8sAuditName, Data: ruleset.K8sAudit}},
		rules.Options{MinPriority: api.PriorityDebug, Matching: rules.MatchAll, Hostname: "test", Sources: []string{rules.SourceK8sAudit}})
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// collector records alerts.
type collector struct {
	mu     sync.Mutex
	alerts []*api.Alert
}

func (c *collector) emit(a *api.Alert) {
	c.mu.Lock()
	c.alerts = append(c.alerts, a)
	c.mu.Unlock()
}

func (c *collector) all() []*api.Alert {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*api.Alert(nil), c.alerts...)
}

func (c *collector) rules() []string {
	var out []string
	for _, a := range c.all() {
		out = append(out, a.Rule)
	}
	return out
}

func newTestSource(t testing.TB, c *collector) *Source {
	t.Helper()
	eng := loadEngine(t)
	return New(Options{Engine: func() *rules.Engine { return eng }, Emit: c.emit,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

func countRule(rs []string, name string) int {
	n := 0
	for _, r := range rs {
		if r == name {
			n++
		}
	}
	return n
}
