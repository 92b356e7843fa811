// Package replay feeds a recorded alert stream through the router's real
// ingest pipeline — each output's filters, the noise stage, the queues and
// the group flusher — with a simulated clock that follows the alerts'
// times, and reports per output what was received, what went out and what
// was held back, and why. Nothing is sent to any destination: the queues
// are in memory and drained by the replay itself. It is how a noise
// configuration is tried on a day of real alerts before it goes live
// (lookout-router replay; docs/noise.md).
package replay

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/app"
	"github.com/lookout-sec/lookout/router/internal/config"
	"github.com/lookout-sec/lookout/router/internal/metrics"
	"github.com/lookout-sec/lookout/router/internal/noise"
	"github.com/lookout-sec/lookout/router/internal/pipeline"
	"github.com/lookout-sec/lookout/router/internal/queue"
)

// Output is one output's tally.
type Output struct {
	Name     string         `json:"name"`
	Received int            `json:"received"` // passed the output's filters
	Notified int            `json:"notified"` // went out: alerts, digests and (record outputs) everything
	Digests  int            `json:"digests"`  // of Notified, group notifications
	Held     map[string]int `json:"held"`     // by reason
	Filtered int            `json:"filtered"` // dropped by the output's filters
}

// Report is the result of a replay.
type Report struct {
	Alerts   int            `json:"alerts"`
	From     time.Time      `json:"from"`
	To       time.Time      `json:"to"`
	Outputs  []*Output      `json:"outputs"`
	Findings map[string]int `json:"findings"` // by status at the end
}

// Options configures Run.
type Options struct {
	// Sink, if set, receives every alert each output would have been sent.
	Sink func(output string, a *api.Alert)
	// Prepare, if set, runs on the stage before the stream (e.g. to mark
	// findings expected or add silences as an operator would).
	Prepare func(st *noise.Stage, now time.Time) error
	// Batch is how many alerts make one ingest request; default 1.
	Batch int
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.t) {
		c.t = t
	}
}

// Run replays the alerts read from r (JSON lines, Falco's alert JSON) through
// cfg's outputs and noise settings. The stream must be in time order.
func Run(ctx context.Context, cfg *config.Config, r io.Reader, opts Options) (*Report, error) {
	if opts.Batch <= 0 {
		opts.Batch = 1
	}
	clk := &clock{}
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	var (
		routes []pipeline.Route
		qo     []queue.OutputOptions
		rep    = &Report{Findings: map[string]int{}}
		byName = map[string]*Output{}
	)
	for _, oc := range cfg.Outputs {
		routes = append(routes, pipeline.Route{Name: oc.Name, Filter: pipeline.Filter{
			MinPriority: oc.MinPriority, Rules: oc.Filters.Rules, Tags: oc.Filters.Tags, Sources: oc.Filters.Sources, Fields: oc.Filters.Fields,
			AllowRules: oc.Filters.AllowRules,
		}})
		qo = append(qo, queue.OutputOptions{Name: oc.Name})
		o := &Output{Name: oc.Name, Held: map[string]int{}}
		rep.Outputs = append(rep.Outputs, o)
		byName[oc.Name] = o
	}
	log := slog.New(slog.DiscardHandler)
	store, err := queue.Open(queue.Options{Outputs: qo, Logger: log, Now: clk.now})
	if err != nil {
		return nil, err
	}
	defer store.Close()
	nc := app.NoiseConfig(cfg)
	var (
		stage *noise.Stage
		fan   *pipeline.Fanout
		fl    *pipeline.Flusher
	)
	// setup builds the stage once the first alert set the clock, so a
	// baseline window starts where the stream does.
	setup := func() error {
		var err error
		stage, err = noise.New(nc, app.NoiseStore{Store: store}, noise.Options{Logger: log, Now: clk.now, OnDecide: func(o, d string, n int) {
			out := byName[o]
			out.Received += n
			switch d {
			case noise.DecisionNotified, noise.DecisionRecorded:
			default:
				out.Held[d] += n
			}
		}})
		if err != nil {
			return err
		}
		fan = pipeline.NewFanout(routes, store, m, stage)
		fl = &pipeline.Flusher{Stage: stage, Store: store, Metrics: m, Logger: log}
		return nil
	}
	interval := cfg.Noise.FlushInterval
	if interval <= 0 {
		interval = time.Second
	}
	drain := func(digest bool) error {
		for _, o := range rep.Outputs {
			for store.Stats(o.Name).Len > 0 {
				items, err := store.Lease(ctx, o.Name, 1000)
				if err != nil {
					return err
				}
				for _, it := range items {
					o.Notified++
					if digest { // only group notifications are queued by a flush
						o.Digests++
					}
					if opts.Sink != nil {
						opts.Sink(o.Name, it.Alert)
					}
				}
				if err := store.Ack(o.Name, items...); err != nil {
					return err
				}
			}
		}
		return nil
	}
	var nextFlush time.Time
	flushUntil := func(t time.Time) error {
		for !nextFlush.IsZero() && !nextFlush.After(t) {
			clk.set(nextFlush)
			if err := fl.Once(ctx); err != nil {
				return err
			}
			if err := drain(true); err != nil {
				return err
			}
			nextFlush = nextFlush.Add(interval)
			// Skip the ticks at which a flush would do nothing.
			if due := stage.NextDue().Truncate(interval); due.After(nextFlush) {
				nextFlush = due
			}
		}
		return nil
	}

	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	line := 0
	var batch []*api.Alert
	send := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := fan.Ingest(ctx, batch, false); err != nil {
			return err
		}
		batch = batch[:0]
		return drain(false)
	}
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		a, err := api.DecodeAlert(b)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if rep.Alerts == 0 {
			rep.From = a.Time
			clk.set(a.Time)
			nextFlush = a.Time.Truncate(interval).Add(interval)
			if err := setup(); err != nil {
				return nil, err
			}
			if opts.Prepare != nil {
				if err := opts.Prepare(stage, a.Time); err != nil {
					return nil, err
				}
			}
		}
		if err := flushUntil(a.Time); err != nil {
			return nil, err
		}
		clk.set(a.Time)
		rep.Alerts++
		rep.To = a.Time
		if a.UUID == "" {
			a.UUID = fmt.Sprintf("00000000-0000-4000-8000-%012d", rep.Alerts)
		}
		batch = append(batch, a)
		if len(batch) >= opts.Batch {
			if err := send(); err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	if stage == nil {
		return rep, nil
	}
	if err := send(); err != nil {
		return nil, err
	}
	// Let every group due after the last alert go out.
	var tail time.Duration
	for _, p := range nc.Policies {
		tail = max(tail, p.GroupWait+p.GroupInterval)
	}
	if err := flushUntil(rep.To.Add(tail + interval)); err != nil {
		return nil, err
	}
	for _, o := range rep.Outputs {
		o.Filtered = int(counterValue(m.Filtered, o.Name))
	}
	rep.Findings = stage.Counts()
	return rep, nil
}

func counterValue(v *prometheus.CounterVec, label string) float64 {
	var pm dto.Metric
	if err := v.WithLabelValues(label).Write(&pm); err != nil || pm.Counter == nil {
		return 0
	}
	return pm.Counter.GetValue()
}

// Print writes the report as a table.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "replayed %d alerts from %s to %s\n", r.Alerts, r.From.Format(time.RFC3339), r.To.Format(time.RFC3339))
	reasons := []string{noise.HeldSilenced, noise.HeldExpected, noise.HeldLearning, noise.HeldRepeat, noise.HeldGrouped}
	fmt.Fprintf(w, "%-16s %9s %9s %8s %9s", "output", "received", "notified", "share", "digests")
	for _, rs := range reasons {
		fmt.Fprintf(w, " %9s", rs)
	}
	fmt.Fprintln(w)
	for _, o := range r.Outputs {
		share := 0.0
		if r.Alerts > 0 {
			share = 100 * float64(o.Notified) / float64(r.Alerts)
		}
		fmt.Fprintf(w, "%-16s %9d %9d %7.2f%% %9d", o.Name, o.Received, o.Notified, share, o.Digests)
		for _, rs := range reasons {
			fmt.Fprintf(w, " %9d", o.Held[rs])
		}
		fmt.Fprintln(w)
	}
	keys := make([]string, 0, len(r.Findings))
	for k := range r.Findings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprint(w, "findings:")
	for _, k := range keys {
		fmt.Fprintf(w, " %s=%d", k, r.Findings[k])
	}
	fmt.Fprintln(w)
}

// JSON writes the report as JSON.
func (r *Report) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
