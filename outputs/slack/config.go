package slack

import (
	"errors"
	"fmt"
	"net/url"
	"text/template"

	"github.com/lookout-sec/lookout/outputs"
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
	// Template, when set, is a Go text/template over the api.Alert that
	// replaces the default message with its output as plain text.
	Template string `mapstructure:"template"`
	// APIURL is the Slack Web API base in bot mode (tests, Enterprise Grid).
	APIURL string `mapstructure:"api_url"`
}

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
		if _, err := template.New("slack").Parse(c.Template); err != nil {
			return fmt.Errorf("slack.template: %w", err)
		}
	}
	return nil
}
