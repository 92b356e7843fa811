package replay_test

import (
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/lookout-sec/lookout/outputs/registry"
	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/config"
	"github.com/lookout-sec/lookout/router/internal/replay"
)

func repoRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

type truth struct {
	Alerts  int `json:"alerts"`
	Attacks []struct {
		Name      string   `json:"name"`
		UUIDs     []string `json:"uuids"`
		Slack     bool     `json:"slack"`
		PagerDuty bool     `json:"pagerduty"`
	} `json:"attacks"`
}

// TestNoisyDay replays the committed two-day stream of a dev cluster
// (router/tools/noisyday, seed 1) through the recommended config and
// checks what docs/noise.md promises: every true attack reaches Slack (and
// PagerDuty where critical), Slack gets at most 10 % and PagerDuty at most
// 1 % of the raw alerts, Elasticsearch gets every alert, and every alert
// held back from a notifying output is at Elasticsearch with its reason.
func TestNoisyDay(t *testing.T) {
	root := repoRoot(t)
	cfg, err := config.Load(filepath.Join(root, "deploy/examples/router-noise.yaml"), registry.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	var tr truth
	b, err := os.ReadFile(filepath.Join(root, "router/testdata/noisy-day/noisy-day.truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(root, "router/testdata/noisy-day/noisy-day.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]*api.Alert{}
	rep, err := replay.Run(t.Context(), cfg, zr, replay.Options{Batch: 50, Sink: func(o string, a *api.Alert) { got[o] = append(got[o], a) }})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Alerts != tr.Alerts {
		t.Fatalf("replayed %d alerts, the truth file says %d", rep.Alerts, tr.Alerts)
	}
	heard := func(output string) map[string]bool {
		m := map[string]bool{}
		for _, a := range got[output] {
			m[a.UUID] = true
			if a.Lookout != nil && a.Lookout.Digest != nil {
				for _, u := range a.Lookout.Digest.UUIDs {
					m[u] = true
				}
			}
		}
		return m
	}
	slack, pd := heard("slack"), heard("pagerduty")
	for _, at := range tr.Attacks {
		inSlack, inPD := false, false
		for _, u := range at.UUIDs {
			inSlack = inSlack || slack[u]
			inPD = inPD || pd[u]
		}
		if at.Slack && !inSlack {
			t.Errorf("attack %q never reached Slack", at.Name)
		}
		if at.PagerDuty && !inPD {
			t.Errorf("attack %q never paged", at.Name)
		}
	}
	share := func(o string) float64 { return float64(len(got[o])) / float64(rep.Alerts) }
	if s := share("slack"); s > 0.10 {
		t.Errorf("Slack got %.2f %% of the alerts, the target is at most 10 %%", 100*s)
	}
	if s := share("pagerduty"); s > 0.01 {
		t.Errorf("PagerDuty got %.2f %% of the alerts, the target is at most 1 %%", 100*s)
	}
	if len(got["elasticsearch"]) != rep.Alerts {
		t.Fatalf("Elasticsearch got %d of %d alerts", len(got["elasticsearch"]), rep.Alerts)
	}
	// Every alert held back from Slack is at Elasticsearch, with the reason.
	heldAtES := 0
	for _, a := range got["elasticsearch"] {
		if a.Lookout == nil || a.Lookout.Finding == nil {
			t.Fatalf("alert %s at Elasticsearch has no finding annotation", a.UUID)
		}
		if r := a.Lookout.Held["slack"]; r != "" {
			heldAtES++
		}
	}
	var slackOut *replay.Output
	for _, o := range rep.Outputs {
		if o.Name == "slack" {
			slackOut = o
		}
	}
	held := 0
	for _, n := range slackOut.Held {
		held += n
	}
	if held == 0 || heldAtES != held {
		t.Fatalf("held back from Slack: %d by the report, %d found at Elasticsearch with a reason", held, heldAtES)
	}
	for _, reason := range []string{"silenced", "expected", "learning"} {
		if slackOut.Held[reason] == 0 {
			t.Errorf("no alert held back from Slack as %s: the stream should exercise it", reason)
		}
	}
	t.Logf("alerts %d: slack %d (%.2f %%), pagerduty %d (%.2f %%), elasticsearch %d; slack held %v",
		rep.Alerts, len(got["slack"]), 100*share("slack"), len(got["pagerduty"]), 100*share("pagerduty"), len(got["elasticsearch"]), slackOut.Held)
}
