package pagerduty

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

// Config is the `pagerduty:` block of a pagerduty output.
type Config struct {
	// RoutingKey is the Events API v2 integration key of the service.
	RoutingKey Secret `mapstructure:"routing_key"`
	// Endpoint is the Events API base URL (EU: https://events.eu.pagerduty.com).
	Endpoint string `mapstructure:"endpoint"`
	// DedupFields are output_fields added to rule and hostname in the
	// dedup_key, so that repeats group into one incident.
	DedupFields []string `mapstructure:"dedup_fields"`
	// Rules, when set, is the allow-list of rule names that may page.
	Rules []string `mapstructure:"rules"`
	// Summary, when set, is a message template (outputs/tmpl) for
	// payload.summary (default: the alert's output line).
	Summary string `mapstructure:"summary"`
	// CustomDetails adds (or replaces) payload.custom_details entries, each
	// a message template.
	CustomDetails map[string]string `mapstructure:"custom_details"`
	// Group and Class override the event's group (default: none) and class
	// (default: the rule name).
	Group string `mapstructure:"group"`
	Class string `mapstructure:"class"`
}

// DefaultEndpoint is PagerDuty's public Events API.
const DefaultEndpoint = "https://events.pagerduty.com"

// DefaultConfig returns a Config with every default applied.
func DefaultConfig() Config {
	var c Config
	c.Defaults()
	return c
}

// Defaults fills unset optional fields.
func (c *Config) Defaults() {
	if c.Endpoint == "" {
		c.Endpoint = DefaultEndpoint
	}
}

// AllowedRules is the rules allow-list. The router applies it in its
// filter stage (an alert of another rule counts as filtered, never as
// delivered); Send does not look at it.
func (c Config) AllowedRules() []string {
	if len(c.Rules) == 0 {
		return nil
	}
	return c.Rules
}

// Validate reports the first problem with the configuration, naming its key.
func (c Config) Validate() error {
	if c.RoutingKey == "" {
		return errors.New("pagerduty.routing_key: is required (the service's Events API v2 integration key)")
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("pagerduty.endpoint: %q is not an http(s) URL such as %s", c.Endpoint, DefaultEndpoint)
	}
	for i, r := range c.Rules {
		if r == "" {
			return fmt.Errorf("pagerduty.rules[%d]: empty rule name", i)
		}
	}
	if c.Summary != "" {
		if _, err := tmpl.Parse("pagerduty.summary", c.Summary); err != nil {
			return err
		}
	}
	if _, err := tmpl.ParseMap("pagerduty.custom_details", c.CustomDetails); err != nil {
		return err
	}
	return nil
}
