package sidekick

import (
	"fmt"
	"strings"
)

// knownTop are Falcosidekick's top-level keys (general settings and every
// output it has); an environment variable is Falcosidekick's when its first
// part is one of them.
var knownTop = map[string]bool{
	"listenaddress": true, "listenport": true, "debug": true, "customfields": true, "templatedfields": true,
	"customtags": true, "bracketreplacer": true, "outputfieldformat": true, "mutualtlsfilespath": true,
	"mutualtlsclient": true, "tlsclient": true, "tlsserver": true, "checkcert": true,
	"slack": true, "elasticsearch": true, "pagerduty": true, "webhook": true,
	"rocketchat": true, "mattermost": true, "teams": true, "datadog": true, "datadoglogs": true, "discord": true,
	"alertmanager": true, "quickwit": true, "influxdb": true, "loki": true, "sumologic": true, "nats": true,
	"stan": true, "aws": true, "smtp": true, "statsd": true, "dogstatsd": true, "opsgenie": true,
	"nodered": true, "cloudevents": true, "azure": true, "gcp": true, "googlechat": true,
	"kafka": true, "kafkarest": true, "kubeless": true, "openfaas": true, "tekton": true, "rabbitmq": true,
	"wavefront": true, "fission": true, "grafana": true, "grafanaoncall": true, "yandex": true, "syslog": true,
	"mqtt": true, "zincsearch": true, "gotify": true, "spyderbat": true, "timescaledb": true, "redis": true,
	"telegram": true, "n8n": true, "openobserve": true, "dynatrace": true, "otlp": true, "talon": true,
	"policyreport": true, "cliq": true, "webui": true, "prometheus": true, "logstash": true, "splunk": true,
	"alerta": true,
}

// mapKeys are keys whose value is a map of names to strings.
var mapKeys = map[string]bool{"customheaders": true, "customfields": true, "templatedfields": true, "extensions": true}

// enabling maps each Falcosidekick output Lookout has to the key whose
// non-empty value enables it (as in Falcosidekick's handlers.go).
var enabling = map[string]string{
	"slack": "slack.webhookurl", "elasticsearch": "elasticsearch.hostport",
	"pagerduty": "pagerduty.routingkey", "webhook": "webhook.address",
}

// priorities maps Falcosidekick's minimumpriority values to Lookout's.
var priorities = map[string]string{
	"": "debug", "emergency": "emergency", "alert": "alert", "critical": "critical", "error": "error",
	"warning": "warning", "notice": "notice", "informational": "informational", "info": "informational", "debug": "debug",
}

// converter holds the state of one conversion.
type converter struct {
	s        settings
	used     map[string]bool
	warnings []Warning
}

func (c *converter) str(key string) string { c.used[key] = true; return c.s.str(key) }

func (c *converter) warn(key, format string, args ...any) {
	c.used[key] = true
	c.warnings = append(c.warnings, Warning{Key: key, Message: fmt.Sprintf(format, args...)})
}

func convert(s settings) (*Result, error) {
	c := &converter{s: s, used: map[string]bool{}}
	var cfg Config
	addr, port := c.str("listenaddress"), c.str("listenport")
	if addr != "" || port != "" {
		if addr == "" {
			addr = "0.0.0.0" // Falcosidekick's "" binds every address; Lookout's default is 127.0.0.1
		}
		if port == "" {
			port = "2801"
		}
		cfg.Listen = addr + ":" + port
	}
	if v, set, err := c.s.boolean("debug"); err != nil {
		return nil, err
	} else if set && v {
		c.warn("debug", "not converted: run lookout-router with --log-level debug")
	}
	c.used["debug"] = true
	for _, build := range []func() (*Output, error){c.slack, c.elasticsearch, c.pagerduty, c.webhook} {
		o, err := build()
		if err != nil {
			return nil, err
		}
		if o != nil {
			cfg.Outputs = append(cfg.Outputs, *o)
		}
	}
	if len(cfg.Outputs) == 0 {
		return nil, fmt.Errorf("falcosidekick config: none of slack.webhookurl, elasticsearch.hostport, pagerduty.routingkey, webhook.address is set: no output Lookout has is enabled")
	}
	c.leftovers()
	return &Result{Config: cfg, Warnings: c.warnings}, nil
}

// leftovers warns about every key that is set and was not converted.
func (c *converter) leftovers() {
	for _, k := range sortedKeys(c.s) {
		if c.used[k] || !isSet(c.s[k]) {
			continue
		}
		top, _, _ := strings.Cut(k, ".")
		switch {
		case k == "customfields" || k == "templatedfields" || k == "customtags":
			c.warn(k, "not converted: Lookout does not add fields to alerts; add them in the Falco rule's output, or with a webhook in between")
		case k == "bracketreplacer" || k == "outputfieldformat":
			c.warn(k, "not converted: Lookout does not rewrite alerts; the output line and field names arrive as Falco sent them")
		case (lastPart(k) == "checkcert" && c.s.str(k) == "true") || (lastPart(k) == "mutualtls" && c.s.str(k) == "false"):
			c.warn(k, "nothing to convert: Lookout always verifies server certificates and sends no client certificate")
		case lastPart(k) == "checkcert" || lastPart(k) == "mutualtls" || strings.HasPrefix(k, "mutualtls") || strings.HasPrefix(k, "tlsserver") || strings.HasPrefix(k, "tlsclient"):
			c.warn(k, "not converted: Lookout always verifies server certificates (trust a private CA with elasticsearch.ca_file), sends no client certificate and serves plain HTTP (put TLS in front of the router)")
		case enabling[top] != "" && c.s.str(enabling[top]) == "":
			c.warn(k, "ignored: the %s output is not enabled (%s is empty)", top, enabling[top])
		case enabling[top] != "":
			c.warn(k, "not supported by Lookout's %s output; left out", top)
		case knownTop[top]:
			c.warn(k, "not converted: Lookout has no %s output (outputs: slack, elasticsearch, pagerduty, webhook, stdout)", top)
		default:
			c.warn(k, "unknown Falcosidekick key; left out")
		}
	}
}

// base starts an output named like the Falcosidekick output, with its
// minimumpriority.
func (c *converter) base(name string) (*Output, error) {
	key := name + ".minimumpriority"
	p, ok := priorities[strings.ToLower(c.str(key))]
	if !ok {
		return nil, fmt.Errorf("%s: %q is not one of emergency, alert, critical, error, warning, notice, informational, debug (Falcosidekick would have let every alert through)", key, c.s.str(key))
	}
	return &Output{Name: name, Type: name, MinPriority: p}, nil
}

func (c *converter) slack() (*Output, error) {
	url := c.str("slack.webhookurl")
	if url == "" {
		return nil, nil
	}
	o, err := c.base("slack")
	if err != nil {
		return nil, err
	}
	b := map[string]any{"webhook_url": url, "compat": "falcosidekick"}
	b["username"] = "Falcosidekick" // Falcosidekick's default
	if u := c.str("slack.username"); u != "" {
		b["username"] = u
	}
	if v := c.str("slack.icon"); v != "" {
		b["icon_url"] = v
	}
	if v := c.str("slack.channel"); v != "" {
		b["channel"] = v
	}
	if v := c.str("slack.footer"); v != "" {
		b["footer"] = v
	}
	if v := strings.ToLower(c.str("slack.outputformat")); v != "" {
		if v != "all" && v != "text" && v != "fields" {
			return nil, fmt.Errorf("slack.outputformat: %q is not one of all, text, fields", v)
		}
		b["output_format"] = v
	}
	if v := c.str("slack.messageformat"); v != "" {
		b["message_format"] = v
	}
	o.Slack = b
	return o, nil
}

func (c *converter) elasticsearch() (*Output, error) {
	hostport := c.str("elasticsearch.hostport")
	if hostport == "" {
		return nil, nil
	}
	o, err := c.base("elasticsearch")
	if err != nil {
		return nil, err
	}
	b := map[string]any{"addresses": []string{strings.TrimRight(hostport, "/")}, "compat": "falcosidekick", "index": "falco"}
	if v := c.str("elasticsearch.index"); v != "" {
		b["index"] = v
	}
	if v := strings.ToLower(c.str("elasticsearch.suffix")); v != "" {
		switch v {
		case "daily", "monthly", "annually", "none":
			b["index_suffix"] = v
		default:
			return nil, fmt.Errorf("elasticsearch.suffix: %q is not one of daily, monthly, annually, none", v)
		}
	}
	if v := c.str("elasticsearch.type"); v != "" && v != "_doc" {
		c.warn("elasticsearch.type", "%q not converted: Lookout uses the bulk API without mapping types (_doc)", v)
	}
	for fk, lk := range map[string]string{"username": "username", "password": "password", "apikey": "api_key"} {
		if v := c.str("elasticsearch." + fk); v != "" {
			b[lk] = v
		}
	}
	if h := c.s.headers("elasticsearch.customheaders"); h != nil {
		c.used["elasticsearch.customheaders"] = true
		b["headers"] = h
	}
	flatten, fset, err := c.s.boolean("elasticsearch.flattenfields")
	if err != nil {
		return nil, err
	}
	c.used["elasticsearch.flattenfields"] = true
	tmpl, tset, err := c.s.boolean("elasticsearch.createindextemplate")
	if err != nil {
		return nil, err
	}
	c.used["elasticsearch.createindextemplate"] = true
	// Falcosidekick flattens with flattenfields, and always with createindextemplate.
	b["flatten_fields"] = (fset && flatten) || (tset && tmpl)
	if tset && tmpl {
		b["index_template"] = true
		for fk, lk := range map[string]string{"numberofshards": "shards", "numberofreplicas": "replicas"} {
			n, err := c.s.integer("elasticsearch." + fk)
			if err != nil {
				return nil, err
			}
			c.used["elasticsearch."+fk] = true
			if n > 0 {
				b[lk] = n
			}
		}
	}
	// Falcosidekick's batching.batchsize is a size in bytes (default 5 MiB); the router's
	// batch_size counts alerts, so batching becomes batch_size 500 (Lookout's flush_documents)
	// with the byte bound kept as flush_bytes.
	if en, set, err := c.s.boolean("elasticsearch.batching.enabled"); err != nil {
		return nil, err
	} else if set && en {
		o.BatchSize = 500
		n, err := c.s.integer("elasticsearch.batching.batchsize")
		if err != nil {
			return nil, err
		}
		if n >= 1024 {
			b["flush_bytes"] = n
		}
		c.used["elasticsearch.batching.batchsize"] = true
	}
	c.used["elasticsearch.batching.enabled"] = true
	if n, err := c.s.integer("elasticsearch.maxconcurrentrequests"); err != nil {
		return nil, err
	} else if n > 0 {
		o.Concurrency = n
	}
	c.used["elasticsearch.maxconcurrentrequests"] = true
	o.Elasticsearch = b
	return o, nil
}

func (c *converter) pagerduty() (*Output, error) {
	key := c.str("pagerduty.routingkey")
	if key == "" {
		return nil, nil
	}
	o, err := c.base("pagerduty")
	if err != nil {
		return nil, err
	}
	b := map[string]any{"routing_key": key}
	switch r := strings.ToLower(c.str("pagerduty.region")); r {
	case "", "us":
	case "eu":
		b["endpoint"] = "https://events.eu.pagerduty.com"
	default:
		return nil, fmt.Errorf("pagerduty.region: %q is not one of us, eu", r)
	}
	o.PagerDuty = b
	return o, nil
}

func (c *converter) webhook() (*Output, error) {
	addr := c.str("webhook.address")
	if addr == "" {
		return nil, nil
	}
	o, err := c.base("webhook")
	if err != nil {
		return nil, err
	}
	b := map[string]any{"url": addr}
	if m := strings.ToUpper(c.str("webhook.method")); m != "" {
		b["method"] = m
	}
	if h := c.s.headers("webhook.customheaders"); h != nil {
		c.used["webhook.customheaders"] = true
		b["headers"] = h
	}
	o.Webhook = b
	return o, nil
}
