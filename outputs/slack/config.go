package slack

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/lookout-sec/lookout/outputs"
	"github.com/lookout-sec/lookout/outputs/tmpl"
)

// Secret is a string that redacts itself when printed or logged; it is
// outputs.Secret, kept under this name so configs read naturally.
type Secret = outputs.Secret

// Config is the `slack:` block of a slack output. Exactly one of WebhookURL
// (incoming webhook mode) and Token (bot token mode, chat.postMessage) is set.
type Config struct {
	WebhookURL Secret `mapstructure:"webhook_url"`
	Token      Secret `mapstructure:"token"`
	// Channel overrides the webhook's channel; required with Token.
	Channel   string `mapstructure:"channel"`
	Username  string `mapstructure:"username"`
	IconEmoji string `mapstructure:"icon_emoji"`
	IconURL   string `mapstructure:"icon_url"`
	// Template, when set, is a message template (outputs/tmpl) over the
	// alert that replaces the default message with its output as text.
	Template string `mapstructure:"template"`
	// Blocks, when set, is a message template (outputs/tmpl) rendering a
	// JSON array of Block Kit blocks; the message is then those blocks
	// (with template, or the default one-line text, as the notification
	// text) and no attachment.
	Blocks string `mapstructure:"blocks"`
	// APIURL is the Slack Web API base in bot mode (tests, Enterprise Grid).
	APIURL string `mapstructure:"api_url"`
	// Nulls is how output fields without a value (Falco's <NA>) appear:
	// omit (default) leaves them out, show prints <NA>.
	Nulls string `mapstructure:"nulls"`
	// Compat, when "falcosidekick", lays the message out as Falcosidekick
	// does (fields, colours, footer, time), for channels used to it.
	Compat string `mapstructure:"compat"`
	// OutputFormat, in compat mode, is Falcosidekick's outputformat: all
	// (default: text and fields), text or fields.
	OutputFormat string `mapstructure:"output_format"`
	// Footer, in compat mode, replaces Falcosidekick's footer (its URL).
	Footer string `mapstructure:"footer"`
	// MessageFormat, in compat mode, is Falcosidekick's messageformat: a
	// message template (outputs/tmpl) shown as text above the attachment.
	MessageFormat string `mapstructure:"message_format"`
}

// Values of Nulls, Compat and OutputFormat.
const (
	NullsOmit = "omit"
	NullsShow = "show"

	CompatFalcosidekick = "falcosidekick"

	FormatAll    = "all"
	FormatText   = "text"
	FormatFields = "fields"
)

// DefaultAPIURL is Slack's Web API base URL.
const DefaultAPIURL = "https://slack.com/api/"

// DefaultConfig returns a Config with every default applied.
func DefaultConfig() Config {
	var c Config
	c.Defaults()
	return c
}

// Defaults fills unset optional fields.
func (c *Config) Defaults() {
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	if c.Username == "" {
		c.Username = "Lookout"
	}
	if c.Nulls == "" {
		c.Nulls = NullsOmit
	}
	if c.OutputFormat == "" {
		c.OutputFormat = FormatAll
	}
}

// Validate reports the first problem with the configuration, naming its key.
func (c Config) Validate() error {
	switch {
	case c.WebhookURL == "" && c.Token == "":
		return errors.New("slack: one of slack.webhook_url or slack.token is required")
	case c.WebhookURL != "" && c.Token != "":
		return errors.New("slack: set slack.webhook_url or slack.token, not both")
	case c.Token != "" && c.Channel == "":
		return errors.New("slack.channel: is required with slack.token (e.g. \"#sec-alerts\" or a channel ID)")
	}
	if c.WebhookURL != "" {
		u, err := url.Parse(string(c.WebhookURL))
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return errors.New("slack.webhook_url: must be an http(s) URL such as https://hooks.slack.com/services/T…/B…/…")
		}
	}
	if c.APIURL != "" {
		if u, err := url.Parse(c.APIURL); err != nil || u.Host == "" {
			return fmt.Errorf("slack.api_url: %q is not an http(s) URL", c.APIURL)
		}
	}
	if c.Template != "" {
		if _, err := tmpl.Parse("slack.template", c.Template); err != nil {
			return err
		}
	}
	if c.Blocks != "" {
		t, err := tmpl.Parse("slack.blocks", c.Blocks)
		if err != nil {
			return err
		}
		if _, err := renderBlocks(t, tmpl.Sample()); err != nil {
			return fmt.Errorf("slack.blocks: with a sample alert: %w", err)
		}
	}
	switch c.Nulls {
	case NullsOmit, NullsShow:
	default:
		return fmt.Errorf("slack.nulls: %q is not one of omit, show", c.Nulls)
	}
	switch c.Compat {
	case "", CompatFalcosidekick:
	default:
		return fmt.Errorf("slack.compat: %q is not falcosidekick (or empty)", c.Compat)
	}
	switch c.OutputFormat {
	case FormatAll, FormatText, FormatFields:
	default:
		return fmt.Errorf("slack.output_format: %q is not one of all, text, fields", c.OutputFormat)
	}
	if c.Compat == "" && (c.OutputFormat != FormatAll || c.Footer != "" || c.MessageFormat != "") {
		return errors.New("slack.output_format, slack.footer, slack.message_format: only apply with compat: falcosidekick")
	}
	if c.MessageFormat != "" {
		if c.Template != "" {
			return errors.New("slack.message_format: set message_format or template, not both")
		}
		if _, err := tmpl.Parse("slack.message_format", c.MessageFormat); err != nil {
			return err
		}
	}
	return nil
}
