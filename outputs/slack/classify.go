package slack

import (
	"context"
	"errors"

	"github.com/lookout-sec/lookout/outputs"
	"github.com/lookout-sec/lookout/outputs/internal/httprec"
	"github.com/slack-go/slack"
)

// classify turns a slack-go error into an outputs error: by the recorded
// HTTP status when there was one, else by Slack's error code (rate limits
// and server-side errors retryable, the rest — invalid_auth,
// channel_not_found … — permanent).
func classify(ctx context.Context, rec *httprec.Response, err error) error {
	return httprec.Classify(ctx, "slack", rec, err, func(err error) error {
		var ser slack.SlackErrorResponse
		if !errors.As(err, &ser) {
			return err
		}
		switch ser.Err {
		case "ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout":
			return outputs.Temporary(err, rec.RetryAfter)
		}
		return outputs.Permanent(err)
	})
}
