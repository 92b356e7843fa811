package k8saudit

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/")

// TestGoldenAlerts runs the captured real events through the source with
// Falco's k8s_audit rules and compares every alert (rule, priority,
// output, output_fields) with testdata/alerts.golden.json.
func TestGoldenAlerts(t *testing.T) {
	var c collector
	s := newTestSource(t, &c)
	if _, err := s.Process("webhook", eventList(fixtureLines(t))); err != nil {
		t.Fatal(err)
	}
	type golden struct {
		Rule     string         `json:"rule"`
		Priority string         `json:"priority"`
		Source   string         `json:"source"`
		Output   string         `json:"output"`
		Fields   map[string]any `json:"output_fields"`
		Tags     []string       `json:"tags"`
	}
	var got []golden
	for _, a := range c.all() {
		// The output's time prefix is local time: keep what follows it.
		_, out, _ := strings.Cut(a.Output, ": ")
		got = append(got, golden{a.Rule, a.Priority.String(), a.Source, out, a.OutputFields, a.Tags})
	}
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	if *update {
		if err := os.WriteFile("testdata/alerts.golden.json", b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/alerts.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("alerts differ from testdata/alerts.golden.json (go test -run Golden -update after checking):\n%s", b)
	}
	for _, r := range []string{"Create Privileged Pod", "Create Sensitive Mount Pod", "ClusterRole With Wildcard Created",
		"Attach to cluster-admin Role", "Create/Modify Configmap With Private Credentials", "Attach/Exec Pod",
		"Anonymous Request Allowed", "K8s Secret Get Successfully", "K8s Secret Get Unsuccessfully Tried"} {
		if !slices.Contains(c.rules(), r) {
			t.Errorf("rule %q did not fire on the captured events", r)
		}
	}
	for _, a := range c.all() {
		if a.Source != "k8s_audit" {
			t.Errorf("alert source %q", a.Source)
		}
	}
}

// TestRetriedBatchIsDeduplicated posts the same EventList twice (the API
// server retrying after a timeout): the second raises no alert and counts
// its events as duplicates; a later stage of the same request is new.
func TestRetriedBatchIsDeduplicated(t *testing.T) {
	var c collector
	now := time.Unix(1_800_000_000, 0)
	s := newTestSource(t, &c)
	s.opts.Now = func() time.Time { return now }
	lines := fixtureLines(t)
	body := eventList(lines)
	if _, err := s.Process("webhook", body); err != nil {
		t.Fatal(err)
	}
	first := len(c.all())
	if first == 0 {
		t.Fatal("no alert on the first delivery")
	}
	if _, err := s.Process("webhook", body); err != nil {
		t.Fatal(err)
	}
	if n := len(c.all()); n != first {
		t.Errorf("retry raised %d more alerts", n-first)
	}
	if d := testutil.ToFloat64(s.dups); d != float64(len(lines)) {
		t.Errorf("duplicates %v, want %d", d, len(lines))
	}
	// Past the window the same events are new again.
	now = now.Add(DefaultDedupWindow + time.Second)
	if _, err := s.Process("webhook", body); err != nil {
		t.Fatal(err)
	}
	if n := len(c.all()); n != 2*first {
		t.Errorf("after the window: %d alerts, want %d", n, 2*first)
	}
}

// TestDedupBounded checks that the dedup set forgets the oldest keys past
// its bound, and expires by time.
func TestDedupBounded(t *testing.T) {
	d := newDedup(time.Minute, 3)
	t0 := time.Unix(0, 0)
	for i := range 5 {
		if d.check(fmt.Sprint(i), t0) {
			t.Fatalf("key %d seen", i)
		}
	}
	if d.Len() != 3 || !d.check("4", t0) || d.check("0", t0) {
		t.Errorf("len %d; 4 must be remembered, 0 forgotten", d.Len())
	}
	if d.check("4", t0.Add(time.Minute)) {
		t.Error("4 remembered past the window")
	}
}
