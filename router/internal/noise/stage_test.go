package noise_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/match"
	"github.com/lookout-sec/lookout/router/internal/noise"
	"github.com/lookout-sec/lookout/router/internal/queue"
)

type clock struct{ t atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.t.Store(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) now() time.Time        { return time.Unix(0, c.t.Load()).UTC() }
func (c *clock) add(d time.Duration)   { c.t.Add(int64(d)) }
func (c *clock) Now() func() time.Time { return c.now }

// store adapts a real queue.Store (bbolt file) to noise.Store.
type store struct{ *queue.Store }

func (s store) Update(fn func(noise.Writer) error) error {
	return s.Store.Update(func(w queue.Writer) error { return fn(w) })
}

var seq atomic.Int64

func shell(ns, pod string) *api.Alert {
	return &api.Alert{
		Rule: "Terminal shell in container", Priority: api.PriorityNotice, Source: "syscall", Hostname: "node-1",
		Output: "A shell was spawned", Tags: []string{"container", "shell"}, Time: time.Now(),
		UUID: fmt.Sprintf("00000000-0000-4000-8000-%012d", seq.Add(1)),
		OutputFields: map[string]any{
			"k8s.ns.name": ns, "k8s.pod.name": pod, "proc.exepath": "/bin/bash", "proc.pid": json.Number(fmt.Sprint(seq.Load())),
			"container.id": fmt.Sprintf("%012x", seq.Load()),
		},
	}
}

type rig struct {
	t     *testing.T
	clk   *clock
	qs    *queue.Store
	st    *noise.Stage
	dir   string
	cfg   noise.Config
	count map[string]int
}

var outputs = []string{"slack", "pagerduty", "es"}

func newRig(t *testing.T, cfg noise.Config) *rig {
	t.Helper()
	r := &rig{t: t, clk: newClock(), dir: t.TempDir(), cfg: cfg, count: map[string]int{}}
	r.open()
	return r
}

func (r *rig) open() {
	r.t.Helper()
	var oo []queue.OutputOptions
	for _, o := range outputs {
		oo = append(oo, queue.OutputOptions{Name: o})
	}
	qs, err := queue.Open(queue.Options{Dir: r.dir, Outputs: oo, Now: r.clk.now})
	if err != nil {
		r.t.Fatal(err)
	}
	r.qs = qs
	r.st, err = noise.New(r.cfg, store{qs}, noise.Options{Now: r.clk.now, OnDecide: func(o, d string, n int) { r.count[o+"/"+d] += n }})
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { _ = qs.Close() })
}

func (r *rig) reopen() {
	r.t.Helper()
	if err := r.qs.Close(); err != nil {
		r.t.Fatal(err)
	}
	r.open()
}

// ingest runs alerts to every output and commits; it returns what each
// output got.
func (r *rig) ingest(as ...*api.Alert) map[string][]*api.Alert {
	r.t.Helper()
	routed := map[string][]*api.Alert{}
	for _, o := range outputs {
		routed[o] = as
	}
	out, ch := r.st.Decide(routed)
	if err := r.qs.EnqueueWith(r.t.Context(), out, func(w queue.Writer) error { return ch.Apply(w) }); err != nil {
		r.t.Fatal(err)
	}
	return out
}

func (r *rig) flush() map[string][]*api.Alert {
	r.t.Helper()
	out, ch, _ := r.st.Flush()
	if err := r.qs.EnqueueWith(r.t.Context(), out, func(w queue.Writer) error { return ch.Apply(w) }); err != nil {
		r.t.Fatal(err)
	}
	return out
}

func policies() []noise.Policy {
	return []noise.Policy{
		{Name: "slack", New: true, RepeatInterval: 24 * time.Hour},
		{Name: "pagerduty", New: true},
		{Name: "es", Record: true},
	}
}

func TestNewThenRepeatThenExpected(t *testing.T) {
	r := newRig(t, noise.Config{Policies: policies()})
	a1 := shell("dev", "web-7d9f8b6c4-xk2lp")
	out := r.ingest(a1)
	if len(out["slack"]) != 1 || len(out["pagerduty"]) != 1 || len(out["es"]) != 1 {
		t.Fatalf("first alert of a finding: %v", lens(out))
	}
	fid := a1.Lookout.Finding.ID
	// Another pod of the same Deployment, another pid and container: the same finding.
	a2 := shell("dev", "web-7d9f8b6c4-q8zz7")
	out = r.ingest(a2)
	if len(out["slack"]) != 0 || len(out["pagerduty"]) != 0 || len(out["es"]) != 1 {
		t.Fatalf("second alert: %v", lens(out))
	}
	if a2.Lookout.Finding.ID != fid || a2.Lookout.Held["slack"] != noise.HeldRepeat || a2.Lookout.Finding.Count != 2 {
		t.Fatalf("annotation: %+v", a2.Lookout)
	}
	// Another namespace is another finding.
	if out := r.ingest(shell("prod", "web-7d9f8b6c4-xk2lp")); len(out["slack"]) != 1 {
		t.Fatalf("other namespace: %v", lens(out))
	}
	// After repeat_interval Slack hears again; PagerDuty (no repeat) never.
	r.clk.add(25 * time.Hour)
	if out := r.ingest(shell("dev", "web-7d9f8b6c4-zzzzz")); len(out["slack"]) != 1 || len(out["pagerduty"]) != 0 {
		t.Fatalf("after repeat_interval: %v", lens(out))
	}
	// Marked expected: held from both, still recorded.
	n, err := r.st.MarkFindings(noise.Mark{IDs: []string{fid}, Status: noise.StatusExpected, By: "alice", Comment: "SRE exec", ExpiresAt: r.clk.now().Add(time.Hour)})
	if err != nil || n != 1 {
		t.Fatal(n, err)
	}
	a := shell("dev", "web-7d9f8b6c4-bcdfg")
	out = r.ingest(a)
	if len(out["slack"])+len(out["pagerduty"]) != 0 || len(out["es"]) != 1 || a.Lookout.Held["slack"] != noise.HeldExpected {
		t.Fatalf("expected finding: %v %+v", lens(out), a.Lookout)
	}
	// The expiry passes: new again, both hear.
	r.clk.add(2 * time.Hour)
	if out := r.ingest(shell("dev", "web-7d9f8b6c4-bcdfg")); len(out["slack"]) != 1 || len(out["pagerduty"]) != 1 {
		t.Fatalf("after the expiry: %v", lens(out))
	}
	// Resolved, then seen again: reopened.
	if _, err := r.st.MarkFindings(noise.Mark{IDs: []string{fid}, Status: noise.StatusResolved, By: "alice"}); err != nil {
		t.Fatal(err)
	}
	a = shell("dev", "web-7d9f8b6c4-bcdfg")
	if out := r.ingest(a); len(out["pagerduty"]) != 1 || a.Lookout.Finding.Status != noise.StatusNew {
		t.Fatalf("reopened: %v %+v", lens(out), a.Lookout.Finding)
	}
	if r.count["es/recorded"] != 7 || r.count["slack/notified"] != 5 || r.count["pagerduty/repeat"] != 2 {
		t.Fatalf("decision counts: %v", r.count)
	}
}

func TestRetriedAlertIsNotifiedAgain(t *testing.T) {
	r := newRig(t, noise.Config{Policies: policies()})
	a := shell("dev", "api-0")
	routed := map[string][]*api.Alert{"slack": {a}}
	if out, _ := r.st.Decide(routed); len(out["slack"]) != 1 {
		t.Fatal("first")
	}
	// The commit failed (never applied); the sender retries the same uuid.
	b := *a
	b.Lookout = nil
	if out, _ := r.st.Decide(map[string][]*api.Alert{"slack": {&b}}); len(out["slack"]) != 1 {
		t.Fatal("a retry of the alert that was to notify must notify again")
	}
	c := shell("dev", "api-1")
	if out, _ := r.st.Decide(map[string][]*api.Alert{"slack": {c}}); len(out["slack"]) != 0 {
		t.Fatal("another alert of the finding must not")
	}
}

func TestSilences(t *testing.T) {
	cfgSilence := noise.Silence{
		ID: noise.ConfigSilenceID(match.All{match.MustParse("k8s.ns.name glob ci-*")}), Matchers: match.All{match.MustParse("k8s.ns.name glob ci-*")},
		CreatedBy: "config", Comment: "CI namespaces",
	}
	r := newRig(t, noise.Config{Policies: policies(), Silences: []noise.Silence{cfgSilence}})
	a := shell("ci-4711", "build-x8k2p")
	out := r.ingest(a)
	if len(out["slack"])+len(out["pagerduty"]) != 0 || len(out["es"]) != 1 || a.Lookout.Held["slack"] != noise.HeldSilenced || a.Lookout.Silences[0] != cfgSilence.ID {
		t.Fatalf("config silence: %v %+v", lens(out), a.Lookout)
	}
	// An API silence with an end, on any output field, glob crossing '/'.
	x, err := r.st.AddSilence(noise.NewSilence{
		Matchers: match.All{match.MustParse("proc.exepath glob /bin/*"), match.MustParse("k8s.ns.name = dev")},
		EndsAt:   r.clk.now().Add(time.Hour), CreatedBy: "bob", Comment: "debugging",
	})
	if err != nil {
		t.Fatal(err)
	}
	if out := r.ingest(shell("dev", "web-0")); len(out["slack"]) != 0 {
		t.Fatalf("api silence: %v", lens(out))
	}
	if got := r.st.Silences(noise.SilenceActive); len(got) != 2 {
		t.Fatalf("active silences: %d", len(got))
	}
	// It expires: the finding is still new and was never notified, so it notifies now.
	r.clk.add(61 * time.Minute)
	if out := r.ingest(shell("dev", "web-1")); len(out["slack"]) != 1 {
		t.Fatalf("after expiry: %v", lens(out))
	}
	for _, s := range r.st.Silences("all") {
		if s.ID == x.ID && (s.HeldBack != 1 || s.StateAt(r.clk.now()) != noise.SilenceExpired) {
			t.Fatalf("silence after expiry: %+v", s)
		}
	}
	if _, err := r.st.ExpireSilence(cfgSilence.ID); err == nil || !strings.Contains(err.Error(), "config file") {
		t.Fatalf("expiring a config silence: %v", err)
	}
	// A silence that marks what it matches expected.
	if _, err := r.st.AddSilence(noise.NewSilence{Matchers: match.All{match.MustParse("k8s.ns.name = qa")}, CreatedBy: "carol", Comment: "qa is noisy", MarkExpected: true}); err != nil {
		t.Fatal(err)
	}
	a = shell("qa", "web-0")
	r.ingest(a)
	f, _, err := r.st.Finding(a.Lookout.Finding.ID)
	if err != nil || f.Status != noise.StatusExpected || f.StatusBy != "carol" {
		t.Fatalf("mark_expected: %+v %v", f, err)
	}
	// Everything survives a restart.
	r.reopen()
	if got := r.st.Silences("all"); len(got) != 3 {
		t.Fatalf("silences after reopen: %d", len(got))
	}
	if f, sample, err := r.st.Finding(a.Lookout.Finding.ID); err != nil || f.Status != noise.StatusExpected || !strings.Contains(string(sample), "Terminal shell in container") {
		t.Fatalf("finding after reopen: %+v %s %v", f, sample, err)
	}
}

func TestBaselineLearning(t *testing.T) {
	r := newRig(t, noise.Config{Policies: policies(), LearnFor: 24 * time.Hour})
	a := shell("dev", "web-0")
	out := r.ingest(a)
	if len(out["slack"]) != 0 || len(out["es"]) != 1 || a.Lookout.Held["slack"] != noise.HeldLearning {
		t.Fatalf("while learning: %v %+v", lens(out), a.Lookout)
	}
	r.clk.add(12 * time.Hour)
	r.reopen() // a restart keeps the window (it is not started again)
	r.ingest(shell("dev", "web-1"))
	r.clk.add(13 * time.Hour)
	r.flush() // the window ends: its findings become expected
	if out := r.ingest(shell("dev", "web-2")); len(out["slack"]) != 0 || len(out["pagerduty"]) != 0 {
		t.Fatalf("learnt finding after the window: %v", lens(out))
	}
	f, _, _ := r.st.Finding(a.Lookout.Finding.ID)
	if f.Status != noise.StatusExpected || f.StatusBy != "baseline" {
		t.Fatalf("finding: %+v", f)
	}
	// A finding first seen after learning notifies.
	b := shell("dev", "web-3")
	b.Rule = "Read sensitive file untrusted"
	if out := r.ingest(b); len(out["slack"]) != 1 {
		t.Fatalf("new after learning: %v", lens(out))
	}
	// Re-learning one namespace on demand.
	w, err := r.st.StartLearning(match.All{match.MustParse("k8s.ns.name = prod")}, time.Hour, "deploy-bot")
	if err != nil {
		t.Fatal(err)
	}
	c := shell("prod", "web-0")
	if out := r.ingest(c); len(out["slack"]) != 0 {
		t.Fatalf("relearning prod: %v", lens(out))
	}
	if out := r.ingest(shell("staging", "web-0")); len(out["slack"]) != 1 {
		t.Fatalf("outside the scope: %v", lens(out))
	}
	if _, err := r.st.StopLearning(w.ID); err != nil {
		t.Fatal(err)
	}
	if f, _, _ := r.st.Finding(c.Lookout.Finding.ID); f.Status != noise.StatusExpected {
		t.Fatalf("after stop: %+v", f)
	}
}

func TestGroupDigest(t *testing.T) {
	cfg := noise.Config{Policies: []noise.Policy{
		{Name: "slack", GroupBy: []string{"rule", "k8s.ns.name"}, GroupWait: 30 * time.Second, GroupInterval: 5 * time.Minute},
		{Name: "pagerduty", New: true},
		{Name: "es", Record: true},
	}}
	r := newRig(t, cfg)
	for i := range 37 {
		pod := []string{"web-7d9f8b6c4-xk2lp", "api-5c8f7d9b6-q2w4z", "db-0"}[i%3]
		if out := r.ingest(shell("dev", pod)); len(out["slack"]) != 0 || len(out["es"]) != 1 {
			t.Fatalf("grouped alert %d went straight out: %v", i, lens(out))
		}
	}
	r.ingest(shell("prod", "web-0")) // alone in its group
	if out := r.flush(); len(out["slack"]) != 0 {
		t.Fatalf("flushed before group_wait: %v", lens(out))
	}
	r.clk.add(31 * time.Second)
	out := r.flush()
	if len(out["slack"]) != 2 {
		t.Fatalf("digests: %v", lens(out))
	}
	var digest, lone *api.Alert
	for _, a := range out["slack"] {
		if a.Lookout != nil && a.Lookout.Digest != nil {
			digest = a
		} else {
			lone = a
		}
	}
	if digest == nil || lone == nil {
		t.Fatalf("want one digest and one lone alert: %+v", out["slack"])
	}
	want := "Terminal shell in container ×37 in k8s.ns.name=dev, 3 workloads, since 10:00"
	if digest.Output != want || digest.Lookout.Digest.Count != 37 || len(digest.Lookout.Digest.UUIDs) != 20 {
		t.Fatalf("digest: %q %+v", digest.Output, digest.Lookout.Digest)
	}
	if lone.OutputFields["k8s.ns.name"] != "prod" {
		t.Fatalf("lone alert: %+v", lone)
	}
	// More alerts within group_interval wait for it.
	r.ingest(shell("dev", "web-0"))
	r.clk.add(time.Minute)
	if out := r.flush(); len(out["slack"]) != 0 {
		t.Fatalf("flushed within group_interval: %v", lens(out))
	}
	r.clk.add(5 * time.Minute)
	if out := r.flush(); len(out["slack"]) != 1 {
		t.Fatalf("after group_interval: %v", lens(out))
	}
	// A failed commit puts the digest back.
	r.ingest(shell("dev", "web-0"), shell("dev", "web-1"))
	r.clk.add(10 * time.Minute)
	_, _, undo := r.st.Flush()
	undo()
	if out := r.flush(); len(out["slack"]) != 1 || out["slack"][0].Lookout.Digest.Count != 2 {
		t.Fatalf("after undo: %v", lens(out))
	}
}

func TestRetention(t *testing.T) {
	r := newRig(t, noise.Config{Policies: policies(), MaxAge: 48 * time.Hour, MaxFindings: 3})
	for i := range 5 {
		r.ingest(shell(fmt.Sprintf("ns-%d", i), "web-0"))
		r.clk.add(time.Minute)
	}
	r.flush()
	if got := r.st.Findings(noise.FindingQuery{}); len(got) != 3 || got[2].Fields["k8s.ns.name"] != "ns-2" {
		t.Fatalf("max_findings: %d %+v", len(got), got)
	}
	r.clk.add(49 * time.Hour)
	r.flush()
	r.reopen()
	if got := r.st.Findings(noise.FindingQuery{}); len(got) != 0 {
		t.Fatalf("max_age: %d left", len(got))
	}
}

func TestFindingsQuery(t *testing.T) {
	r := newRig(t, noise.Config{Policies: policies()})
	r.ingest(shell("dev", "web-0"), shell("prod", "web-0"))
	b := shell("dev", "web-0")
	b.Rule = "Read sensitive file untrusted"
	r.ingest(b)
	q := noise.FindingQuery{Match: match.All{match.MustParse("k8s.ns.name = dev")}}
	if got := r.st.Findings(q); len(got) != 2 {
		t.Fatalf("by field: %d", len(got))
	}
	if got := r.st.Findings(noise.FindingQuery{Rule: "Read*"}); len(got) != 1 {
		t.Fatalf("by rule: %d", len(got))
	}
	n, err := r.st.MarkFindings(noise.Mark{Query: &q, Status: noise.StatusExpected, By: "alice", Comment: "bulk"})
	if err != nil || n != 2 {
		t.Fatalf("bulk mark: %d %v", n, err)
	}
	if got := r.st.Findings(noise.FindingQuery{Status: noise.StatusNew}); len(got) != 1 {
		t.Fatalf("new left: %d", len(got))
	}
	if _, err := r.st.MarkFindings(noise.Mark{IDs: []string{"nope"}, Status: noise.StatusExpected, By: "a"}); err == nil {
		t.Fatal("unknown id accepted")
	}
}

func lens(m map[string][]*api.Alert) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		out[k] = len(v)
	}
	return out
}
