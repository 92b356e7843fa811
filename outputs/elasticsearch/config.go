package elasticsearch

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/lookout-sec/lookout/outputs"
	"github.com/lookout-sec/lookout/outputs/tmpl"
)

// Secret is a string that redacts itself when printed or logged; it is
// outputs.Secret, kept under this name so configs read naturally.
type Secret = outputs.Secret

// Index suffixes: the date (in UTC; see IndexDate for which date) appended
// to the index name.
const (
	SuffixDaily    = "daily"    // falco-2026.11.23
	SuffixMonthly  = "monthly"  // falco-2026.11
	SuffixAnnually = "annually" // falco-2026 (Falcosidekick's name for yearly)
	SuffixNone     = "none"     // falco
)

// Index dates: which date a dated index name carries.
const (
	IndexDateAlert  = "alert"  // the alert's own time (replays land where they belong)
	IndexDateIngest = "ingest" // the time of the bulk request (Falcosidekick's choice)
)

// Document shapes.
const (
	DocumentFalco = "falco" // the alert as Falco writes it, plus @timestamp
	DocumentECS   = "ecs"   // Elastic Common Schema fields, plus the alert under falco.*
)

// CompatFalcosidekick writes documents, index names and the index template
// the way Falcosidekick does.
const CompatFalcosidekick = "falcosidekick"

// DefaultTemplateName is the index template's name unless template_name is
// set; it cannot clobber Falcosidekick's template (named like its index).
const DefaultTemplateName = "lookout"

// Config is the `elasticsearch:` block of an elasticsearch output.
type Config struct {
	Addresses   []string `mapstructure:"addresses"`
	Index       string   `mapstructure:"index"`
	IndexSuffix string   `mapstructure:"index_suffix"`
	Username    string   `mapstructure:"username"`
	Password    Secret   `mapstructure:"password"`
	APIKey      Secret   `mapstructure:"api_key"`
	// CAFile is a PEM file of certificate authorities for https addresses.
	CAFile string `mapstructure:"ca_file"`
	// Headers are added to every request.
	Headers map[string]string `mapstructure:"headers"`
	// ExtraFields adds fields to every document: name → message template
	// (outputs/tmpl), rendered as a string, e.g. cluster: prod-eu-1 or
	// runbook: https://runbooks/{{ .Rule }}. A name that the document
	// already has is replaced.
	ExtraFields map[string]string `mapstructure:"extra_fields"`
	// IndexTemplate installs an index template with keyword mappings for
	// the index pattern before the first bulk request.
	IndexTemplate bool `mapstructure:"index_template"`
	// KeywordFields are output fields (e.g. "proc.name") mapped explicitly
	// as keyword in the index template, for servers that do not apply its
	// dynamic template (ZincSearch) or to pin a field's type.
	KeywordFields []string `mapstructure:"keyword_fields"`
	// FlushDocuments and FlushBytes bound one bulk request: a larger batch
	// is split into several requests.
	FlushDocuments int `mapstructure:"flush_documents"`
	FlushBytes     int `mapstructure:"flush_bytes"`
	// Document is the document shape: falco (default) or ecs.
	Document string `mapstructure:"document"`
	// Compat, when "falcosidekick", writes Falcosidekick's documents,
	// index names (ingest date by default) and index template.
	Compat string `mapstructure:"compat"`
	// FlattenFields replaces dots in output_fields keys with underscores
	// (proc.name → proc_name), as Falcosidekick does with flattenfields or
	// createindextemplate. Default: on in compat mode, off otherwise.
	FlattenFields *bool `mapstructure:"flatten_fields"`
	// IndexDate picks the date in dated index names: alert (default) or
	// ingest (default in compat mode).
	IndexDate string `mapstructure:"index_date"`
	// LateAfter, with index_date alert, sends alerts older than this (at
	// send time) to the index of the send date instead, keeping their own
	// time in the document. 0 disables the bound.
	LateAfter time.Duration `mapstructure:"late_after"`
	// TemplateName names the index template (default lookout; in compat
	// mode the index name, as Falcosidekick does).
	TemplateName string `mapstructure:"template_name"`
	// TemplateOverwrite allows replacing an existing template that Lookout
	// did not create (one without _meta.managed_by: lookout).
	TemplateOverwrite bool `mapstructure:"template_overwrite"`
	// TemplatePriority is the template's priority (0: not sent, the
	// server's default 0). Elasticsearch refuses two templates with
	// overlapping patterns at the same priority; the higher one applies.
	TemplatePriority int `mapstructure:"template_priority"`
	// Shards and Replicas go into the template's settings when set
	// (Falcosidekick's numberofshards and numberofreplicas).
	Shards   int `mapstructure:"shards"`
	Replicas int `mapstructure:"replicas"`
}

// Default bulk request bounds.
const (
	DefaultFlushDocuments = 500
	DefaultFlushBytes     = 5 << 20
)

// DefaultConfig returns a Config with the defaults that do not depend on
// compat applied; New (and Validate) apply the rest.
func DefaultConfig() Config {
	var c Config
	c.baseDefaults()
	return c
}

// Defaults fills unset optional fields; those that depend on compat
// (index_date, flatten_fields, template_name) last.
func (c *Config) Defaults() {
	c.baseDefaults()
	compat := c.Compat == CompatFalcosidekick
	if c.IndexDate == "" {
		c.IndexDate = IndexDateAlert
		if compat {
			c.IndexDate = IndexDateIngest
		}
	}
	if c.FlattenFields == nil {
		c.FlattenFields = &compat
	}
	if c.TemplateName == "" {
		c.TemplateName = DefaultTemplateName
		if compat {
			c.TemplateName = c.Index
		}
	}
}

func (c *Config) baseDefaults() {
	if len(c.Addresses) == 0 {
		c.Addresses = []string{"http://127.0.0.1:9200"}
	}
	if c.Index == "" {
		c.Index = "falco"
	}
	if c.IndexSuffix == "" {
		c.IndexSuffix = SuffixDaily
	}
	if c.Document == "" {
		c.Document = DocumentFalco
	}
	if c.FlushDocuments == 0 {
		c.FlushDocuments = DefaultFlushDocuments
	}
	if c.FlushBytes == 0 {
		c.FlushBytes = DefaultFlushBytes
	}
}

// Validate reports the first problem with the configuration (its defaults
// applied), naming its key.
func (c Config) Validate() error {
	c.Defaults()
	if len(c.Addresses) == 0 {
		return errors.New("elasticsearch.addresses: at least one address is required (e.g. http://127.0.0.1:9200)")
	}
	for i, a := range c.Addresses {
		u, err := url.Parse(a)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("elasticsearch.addresses[%d]: %q is not an http(s) URL", i, a)
		}
		if u.User != nil {
			return fmt.Errorf("elasticsearch.addresses[%d]: put credentials in username/password or api_key, not in the URL", i)
		}
	}
	if c.Index == "" {
		return errors.New("elasticsearch.index: is required")
	}
	switch c.IndexSuffix {
	case SuffixDaily, SuffixMonthly, SuffixAnnually, SuffixNone:
	default:
		return fmt.Errorf("elasticsearch.index_suffix: %q is not one of daily, monthly, annually, none", c.IndexSuffix)
	}
	switch c.Document {
	case DocumentFalco, DocumentECS:
	default:
		return fmt.Errorf("elasticsearch.document: %q is not one of falco, ecs", c.Document)
	}
	switch c.Compat {
	case "", CompatFalcosidekick:
	default:
		return fmt.Errorf("elasticsearch.compat: %q is not falcosidekick (or empty)", c.Compat)
	}
	if c.Compat != "" && c.Document == DocumentECS {
		return errors.New("elasticsearch.document: ecs cannot be combined with compat: falcosidekick")
	}
	switch c.IndexDate {
	case IndexDateAlert, IndexDateIngest:
	default:
		return fmt.Errorf("elasticsearch.index_date: %q is not one of alert, ingest", c.IndexDate)
	}
	if c.LateAfter < 0 {
		return fmt.Errorf("elasticsearch.late_after: must not be negative, got %s", c.LateAfter)
	}
	if c.LateAfter > 0 && c.IndexDate != IndexDateAlert {
		return errors.New("elasticsearch.late_after: only applies with index_date: alert")
	}
	if c.TemplateName == "" || strings.ContainsAny(c.TemplateName, "/ *,\\\"<>|?#") {
		return fmt.Errorf("elasticsearch.template_name: %q is not a valid template name", c.TemplateName)
	}
	if err := outputs.CheckHeaders("elasticsearch.headers", c.Headers); err != nil {
		return err
	}
	for k := range c.ExtraFields {
		if k == "" {
			return errors.New("elasticsearch.extra_fields: an empty field name")
		}
	}
	if _, err := tmpl.ParseMap("elasticsearch.extra_fields", c.ExtraFields); err != nil {
		return err
	}
	if c.TemplatePriority < 0 {
		return fmt.Errorf("elasticsearch.template_priority: must not be negative, got %d", c.TemplatePriority)
	}
	if c.Shards < 0 || c.Replicas < 0 {
		return errors.New("elasticsearch.shards, elasticsearch.replicas: must not be negative")
	}
	if c.FlushDocuments < 1 {
		return fmt.Errorf("elasticsearch.flush_documents: must be at least 1, got %d", c.FlushDocuments)
	}
	if c.FlushBytes < 1024 {
		return fmt.Errorf("elasticsearch.flush_bytes: must be at least 1024, got %d", c.FlushBytes)
	}
	if c.Password != "" && c.Username == "" {
		return errors.New("elasticsearch.username: is required with elasticsearch.password")
	}
	for i, f := range c.KeywordFields {
		if f == "" || strings.HasPrefix(f, ".") || strings.HasSuffix(f, ".") || strings.Contains(f, "..") {
			return fmt.Errorf("elasticsearch.keyword_fields[%d]: %q is not a field name such as proc.name", i, f)
		}
		for _, g := range c.KeywordFields {
			if strings.HasPrefix(g, f+".") {
				return fmt.Errorf("elasticsearch.keyword_fields[%d]: %q cannot be a keyword and the parent of %q", i, f, g)
			}
		}
	}
	if c.APIKey != "" && (c.Username != "" || c.Password != "") {
		return errors.New("elasticsearch: set api_key or username/password, not both")
	}
	return nil
}
