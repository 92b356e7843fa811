package elasticsearch

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/lookout-sec/lookout/outputs"
)

// Secret is a string that redacts itself when printed or logged; it is
// outputs.Secret, kept under this name so configs read naturally.
type Secret = outputs.Secret

// Index suffixes: the date (in UTC, from the alert's own time) appended to
// the index name.
const (
	SuffixDaily   = "daily"   // falco-2026.11.23
	SuffixMonthly = "monthly" // falco-2026.11
	SuffixNone    = "none"    // falco
)

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
}

// Default bulk request bounds.
const (
	DefaultFlushDocuments = 500
	DefaultFlushBytes     = 5 << 20
)

// DefaultConfig returns a Config with every default applied.
func DefaultConfig() Config {
	var c Config
	c.Defaults()
	return c
}

// Defaults fills unset optional fields.
func (c *Config) Defaults() {
	if len(c.Addresses) == 0 {
		c.Addresses = []string{"http://127.0.0.1:9200"}
	}
	if c.Index == "" {
		c.Index = "falco"
	}
	if c.IndexSuffix == "" {
		c.IndexSuffix = SuffixDaily
	}
	if c.FlushDocuments == 0 {
		c.FlushDocuments = DefaultFlushDocuments
	}
	if c.FlushBytes == 0 {
		c.FlushBytes = DefaultFlushBytes
	}
}

// Validate reports the first problem with the configuration, naming its key.
func (c Config) Validate() error {
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
	case SuffixDaily, SuffixMonthly, SuffixNone:
	default:
		return fmt.Errorf("elasticsearch.index_suffix: %q is not one of daily, monthly, none", c.IndexSuffix)
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
