// Package slack delivers alerts to a Slack channel through an incoming
// webhook or a bot token (chat.postMessage), using github.com/slack-go/slack.
// Each alert becomes one message; the router does the retrying.
package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/lookout-sec/lookout/outputs"
	"github.com/lookout-sec/lookout/outputs/internal/httprec"
	"github.com/lookout-sec/lookout/outputs/tmpl"
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
	api    *slack.Client  // bot mode only
	tmpl   *tmpl.Template // template: replaces the message
	format *tmpl.Template // message_format: text above the attachment
	blocks *tmpl.Template // blocks: Block Kit blocks instead of attachments
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
		o.tmpl = tmpl.MustParse("slack.template", cfg.Template)
	}
	if cfg.Blocks != "" {
		o.blocks = tmpl.MustParse("slack.blocks", cfg.Blocks)
	}
	if cfg.MessageFormat != "" {
		o.format = tmpl.MustParse("slack.message_format", cfg.MessageFormat)
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
		b, err := o.tmpl.Execute(a)
		if err != nil {
			return outputs.Permanent(fmt.Errorf("slack.template: %w", err))
		}
		text = trim(b, maxText)
	} else if o.cfg.Compat == CompatFalcosidekick {
		atts = []slack.Attachment{o.sidekickAttachment(a)}
		if o.format != nil {
			b, err := o.format.Execute(a)
			if err != nil {
				return outputs.Permanent(fmt.Errorf("slack.message_format: %w", err))
			}
			text = trim(b, maxText)
		}
	} else {
		text = fallback(a)
		atts = []slack.Attachment{o.attachment(a)}
	}
	var blocks *slack.Blocks
	if o.blocks != nil {
		var err error
		if blocks, err = renderBlocks(o.blocks, a); err != nil {
			return outputs.Permanent(fmt.Errorf("slack.blocks: %w", err))
		}
		atts = nil
		if text == "" {
			text = fallback(a)
		}
	}
	if o.api == nil {
		msg := &slack.WebhookMessage{
			Channel: o.cfg.Channel, Username: o.cfg.Username, IconEmoji: o.cfg.IconEmoji,
			IconURL: o.cfg.IconURL, Text: text, Attachments: atts, Blocks: blocks,
		}
		return classify(ctx, rec, slack.PostWebhookCustomHTTPContext(rctx, string(o.cfg.WebhookURL), o.http, msg))
	}
	opts := []slack.MsgOption{slack.MsgOptionText(text, false), slack.MsgOptionUsername(o.cfg.Username)}
	if len(atts) > 0 {
		opts = append(opts, slack.MsgOptionAttachments(atts...))
	}
	if blocks != nil {
		opts = append(opts, slack.MsgOptionBlocks(blocks.BlockSet...))
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

// renderBlocks renders t for a and reads the result as Block Kit blocks.
func renderBlocks(t *tmpl.Template, a *api.Alert) (*slack.Blocks, error) {
	s, err := t.Execute(a)
	if err != nil {
		return nil, err
	}
	var b slack.Blocks
	if err := json.Unmarshal([]byte(s), &b); err != nil {
		return nil, fmt.Errorf("not a JSON array of Block Kit blocks: %w", err)
	}
	if len(b.BlockSet) == 0 {
		return nil, errors.New("renders no blocks")
	}
	return &b, nil
}

// Close marks the output closed; it holds no connections of its own and is
// safe to call more than once.
func (o *Output) Close() error {
	o.closed.Store(true)
	return nil
}
