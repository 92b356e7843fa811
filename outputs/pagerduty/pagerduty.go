// Package pagerduty triggers PagerDuty incidents for alerts through the
// Events API v2, using github.com/PagerDuty/go-pagerduty with a configurable
// endpoint. Each alert becomes one trigger event; the router does the
// retrying.
package pagerduty

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	pd "github.com/PagerDuty/go-pagerduty"
	"github.com/lookout-sec/lookout/outputs"
	"github.com/lookout-sec/lookout/outputs/internal/httprec"
	"github.com/lookout-sec/lookout/outputs/tmpl"
	"github.com/lookout-sec/lookout/router/api"
)

// maxSummary is the Events API limit on payload.summary.
const maxSummary = 1024

// Options carries the dependencies injected into an Output.
type Options struct {
	Logger     *slog.Logger
	HTTPClient *http.Client // nil: a client with a 30 s timeout
}

// Output triggers PagerDuty events. It is safe for concurrent use.
type Output struct {
	cfg     Config
	log     *slog.Logger
	client  *pd.Client
	summary *tmpl.Template // nil: the alert's output
	details tmpl.Map
}

var _ outputs.Output = (*Output)(nil)

// New validates cfg (after applying defaults) and returns an Output.
func New(cfg Config, opts Options) (*Output, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := &Output{cfg: cfg, log: opts.Logger}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	// The auth token is for the REST API; events carry the routing key.
	o.client = pd.NewClient("", pd.WithV2EventsAPIEndpoint(strings.TrimRight(cfg.Endpoint, "/")))
	o.client.HTTPClient = httprec.WrapClient(opts.HTTPClient)
	if cfg.Summary != "" {
		o.summary = tmpl.MustParse("pagerduty.summary", cfg.Summary)
	}
	o.details, _ = tmpl.ParseMap("pagerduty.custom_details", cfg.CustomDetails)
	return o, nil
}

// Send triggers one event per alert, in order (the rules allow-list is
// applied before, by the router's filter stage: Config.AllowedRules). It stops at the first failure: if nothing was delivered it
// returns that error, otherwise a *outputs.PartialError naming the
// undelivered alerts.
func (o *Output) Send(ctx context.Context, alerts []*api.Alert) error {
	return outputs.SendEach(alerts, func(a *api.Alert) error {
		rctx, rec := httprec.WithResponse(ctx)
		ev, err := o.Event(a)
		if err != nil {
			return outputs.Permanent(err)
		}
		_, err = o.client.ManageEventWithContext(rctx, ev)
		if err = httprec.Classify(ctx, "pagerduty", rec, err, nil); err != nil {
			o.log.LogAttrs(ctx, slog.LevelDebug, "pagerduty event failed", slog.String("rule", a.Rule), slog.String("error", err.Error()))
		}
		return err
	})
}

// Event builds the trigger event for one alert (an error only from the
// summary or custom_details templates).
func (o *Output) Event(a *api.Alert) (*pd.V2Event, error) {
	class := o.cfg.Class
	if class == "" {
		class = a.Rule
	}
	details := make(map[string]any, len(a.OutputFields)+2)
	for k, v := range a.OutputFields {
		details[k] = v
	}
	details["rule"] = a.Rule
	details["priority"] = a.Priority.String()
	if len(a.Tags) > 0 {
		details["tags"] = a.Tags
	}
	if a.UUID != "" {
		details["uuid"] = a.UUID
	}
	extra, err := o.details.Execute(a)
	if err != nil {
		return nil, fmt.Errorf("pagerduty.custom_details: %w", err)
	}
	for k, v := range extra {
		details[k] = v
	}
	summary := a.Output
	if o.summary != nil {
		if summary, err = o.summary.Execute(a); err != nil {
			return nil, fmt.Errorf("pagerduty.summary: %w", err)
		}
	}
	return &pd.V2Event{
		RoutingKey: string(o.cfg.RoutingKey),
		Action:     "trigger",
		DedupKey:   o.dedupKey(a),
		Client:     "Lookout",
		Payload: &pd.V2Payload{
			Summary:   trim(summary, maxSummary),
			Source:    a.Hostname,
			Severity:  Severity(a.Priority),
			Timestamp: a.Time.UTC().Format(time.RFC3339Nano),
			Component: a.Source,
			Group:     o.cfg.Group,
			Class:     class,
			Details:   details,
		},
	}, nil
}

// dedupKey joins rule, hostname and the configured output fields.
func (o *Output) dedupKey(a *api.Alert) string {
	parts := []string{a.Rule, a.Hostname}
	for _, f := range o.cfg.DedupFields {
		parts = append(parts, f+"="+fmt.Sprint(a.OutputFields[f]))
	}
	return trim(strings.Join(parts, "|"), 255)
}

// Severity maps a Falco priority to a PagerDuty severity.
func Severity(p api.Priority) string {
	switch {
	case p.AtLeast(api.PriorityCritical):
		return "critical"
	case p == api.PriorityError:
		return "error"
	case p == api.PriorityWarning:
		return "warning"
	default:
		return "info"
	}
}

// Close is a no-op kept for the Output contract; safe to call more than once.
func (o *Output) Close() error { return nil }

func trim(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
