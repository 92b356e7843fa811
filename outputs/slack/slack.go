// Package slack delivers alerts to a Slack channel through an incoming
// webhook or a bot token (chat.postMessage), using github.com/slack-go/slack.
// Each alert becomes one message; the router does the retrying.
package slack

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"text/template"

	"github.com/lookout-sec/lookout/outputs"
	"github.com/lookout-sec/lookout/outputs/internal/httprec"
	"github.com/lookout-sec/lookout/router/api"
	"github.com/slack-go/slack"
)

// Options carries the dependencies injected into an Output.
type Options struct {
	Logger     *slog.Logger
	HTTPClient *http.Client // nil: a client with a 30 s timeout
}

// Output posts alerts to Slack. It is safe for concurrent use.
type Output struct {
	cfg    Config
	log    *slog.Logger
	http   *http.Client
	api    *slack.Client      // bot mode only
	tmpl   *template.Template // template: replaces the message
	format *template.Template // message_format: text above the attachment
	closed atomic.Bool
}

var _ outputs.Output = (*Output)(nil)

// New validates cfg (after applying defaults) and returns an Output.
func New(cfg Config, opts Options) (*Output, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := &Output{cfg: cfg, log: opts.Logger, http: httprec.WrapClient(opts.HTTPClient)}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Template != "" {
		o.tmpl = template.Must(template.New("slack").Parse(cfg.Template))
	}
	if cfg.MessageFormat != "" {
		o.format = template.Must(template.New("slack").Parse(cfg.MessageFormat))
	}
	if cfg.Token != "" {
		apiURL := cfg.APIURL
		if !strings.HasSuffix(apiURL, "/") {
			apiURL += "/"
		}
		o.api = slack.New(string(cfg.Token), slack.OptionHTTPClient(o.http), slack.OptionAPIURL(apiURL))
	}
	return o, nil
}

// Send posts one message per alert, in order. It stops at the first failure:
// if nothing was delivered it returns that error, otherwise a
// *outputs.PartialError naming the undelivered alerts.
func (o *Output) Send(ctx context.Context, alerts []*api.Alert) error {
	return outputs.SendEach(alerts, func(a *api.Alert) error {
		err := o.post(ctx, a)
		if err != nil {
			o.log.LogAttrs(ctx, slog.LevelDebug, "slack post failed", slog.String("rule", a.Rule), slog.String("error", err.Error()))
		}
		return err
	})
}

func (o *Output) post(ctx context.Context, a *api.Alert) error {
	rctx, rec := httprec.WithResponse(ctx)
	var text string
	var atts []slack.Attachment
	if o.tmpl != nil {
		var b strings.Builder
		if err := o.tmpl.Execute(&b, a); err != nil {
			return outputs.Permanent(fmt.Errorf("slack.template: %w", err))
		}
		text = trim(b.String(), maxText)
	} else if o.cfg.Compat == CompatFalcosidekick {
		atts = []slack.Attachment{o.sidekickAttachment(a)}
		if o.format != nil {
			var b strings.Builder
			if err := o.format.Execute(&b, a); err != nil {
				return outputs.Permanent(fmt.Errorf("slack.message_format: %w", err))
			}
			text = trim(b.String(), maxText)
		}
	} else {
		text = fallback(a)
		atts = []slack.Attachment{o.attachment(a)}
	}
	if o.api == nil {
		msg := &slack.WebhookMessage{
			Channel: o.cfg.Channel, Username: o.cfg.Username, IconEmoji: o.cfg.IconEmoji,
			IconURL: o.cfg.IconURL, Text: text, Attachments: atts,
		}
		return classify(ctx, rec, slack.PostWebhookCustomHTTPContext(rctx, string(o.cfg.WebhookURL), o.http, msg))
	}
	opts := []slack.MsgOption{slack.MsgOptionText(text, false), slack.MsgOptionUsername(o.cfg.Username)}
	if len(atts) > 0 {
		opts = append(opts, slack.MsgOptionAttachments(atts...))
	}
	if o.cfg.IconEmoji != "" {
		opts = append(opts, slack.MsgOptionIconEmoji(o.cfg.IconEmoji))
	}
	if o.cfg.IconURL != "" {
		opts = append(opts, slack.MsgOptionIconURL(o.cfg.IconURL))
	}
	_, _, err := o.api.PostMessageContext(rctx, o.cfg.Channel, opts...)
	return classify(ctx, rec, err)
}

// Close marks the output closed; it holds no connections of its own and is
// safe to call more than once.
func (o *Output) Close() error {
	o.closed.Store(true)
	return nil
}
