package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/lookout-sec/lookout/outputs/elasticsearch"
)

// UI is the ui: block: the triage web UI at /ui/ (docs/ui.md). It is
// served only when admin tokens are set (admin auth applies) and
// Enabled is not false.
type UI struct {
	// Enabled turns the UI off with false; default on when admin.tokens
	// is set.
	Enabled *bool `mapstructure:"enabled"`
	// ViewerTokens log in read-only: they see every page, change nothing.
	ViewerTokens []Secret `mapstructure:"viewer_tokens"`
	// SessionTTL is how long a login lasts; default 12h.
	SessionTTL time.Duration `mapstructure:"session_ttl"`
	History    UIHistory     `mapstructure:"history"`
	Search     UISearch      `mapstructure:"search"`
}

// Search sources of the UI (ui.search.source).
const (
	UISearchHistory       = "history"       // the router's own history (default)
	UISearchElasticsearch = "elasticsearch" // the index an elasticsearch output writes
)

// UISearch picks where the UI's search and alert pages read alerts: the
// router's own history, or the index an elasticsearch output writes (the
// forensic store), with that output's addresses, credentials and CA. The
// live stream, overview, findings and silences stay the router's own.
type UISearch struct {
	// Source is history (default) or elasticsearch.
	Source string `mapstructure:"source"`
	// Output names the elasticsearch output whose index search reads
	// (with source: elasticsearch).
	Output string `mapstructure:"output"`
}

// UIHistory bounds the alert history the UI searches.
type UIHistory struct {
	// Path of the SQLite file; default ui-history.db in queue.dir, in
	// memory when queue.dir is empty. Not used with state.postgres: the
	// history is then in that database, shared by every replica.
	Path string `mapstructure:"path"`
	// MaxAge drops alerts older than this; default 7d.
	MaxAge time.Duration `mapstructure:"max_age"`
	// MaxBytes bounds the file's used pages (in PostgreSQL, the alerts'
	// estimated size); oldest alerts go first; default 1 GiB.
	MaxBytes int64 `mapstructure:"max_bytes"`
	// Buffer is how many ingest batches may wait for the history writer;
	// beyond, batches are dropped for the UI (counted); default 1024.
	Buffer int `mapstructure:"buffer"`
}

// Defaults of the ui: block.
const (
	DefaultUISessionTTL     = 12 * time.Hour
	DefaultUIHistoryMaxAge  = 7 * 24 * time.Hour
	DefaultUIHistoryMaxByte = 1 << 30
	DefaultUIHistoryBuffer  = 1024
)

// On reports whether the UI is served (it needs admin tokens).
func (u UI) On(c *Config) bool {
	return len(c.AdminTokens) > 0 && (u.Enabled == nil || *u.Enabled)
}

// DefaultUI is the ui: block's defaults.
func DefaultUI() UI {
	return UI{SessionTTL: DefaultUISessionTTL, History: UIHistory{
		MaxAge: DefaultUIHistoryMaxAge, MaxBytes: DefaultUIHistoryMaxByte, Buffer: DefaultUIHistoryBuffer,
	}, Search: UISearch{Source: UISearchHistory}}
}

// Validate checks the ui block.
func (u UI) Validate() error {
	for i, t := range u.ViewerTokens {
		if t == "" {
			return Errorf(fmt.Sprintf("viewer_tokens[%d]", i), "an empty token is not allowed")
		}
	}
	switch {
	case u.SessionTTL <= 0:
		return Errorf("session_ttl", "%s is not a positive duration such as 12h", u.SessionTTL)
	case u.History.MaxAge <= 0:
		return Errorf("history.max_age", "%s is not a positive duration such as 7d", u.History.MaxAge)
	case u.History.MaxBytes < 1<<20:
		return Errorf("history.max_bytes", "%d: at least 1048576 (1 MiB)", u.History.MaxBytes)
	case u.History.Buffer <= 0:
		return Errorf("history.buffer", "%d is not a positive number of batches", u.History.Buffer)
	}
	switch s := u.Search; s.Source {
	case UISearchHistory:
		if s.Output != "" {
			return Errorf("search.output", "only with source: elasticsearch (source is history)")
		}
	case UISearchElasticsearch:
		if s.Output == "" {
			return Errorf("search.output", "is required with source: elasticsearch: the name of an output of type elasticsearch")
		}
	default:
		return Errorf("search.source", "%q is not one of history, elasticsearch", s.Source)
	}
	return nil
}

// checkSearch checks that ui.search.output names an output of type
// elasticsearch whose documents the search reads (not document: ecs).
func (u UI) checkSearch(outs []Output) error {
	if u.Search.Source != UISearchElasticsearch {
		return nil
	}
	var es []string
	for _, o := range outs {
		if o.Type == "elasticsearch" {
			es = append(es, o.Name)
		}
		if o.Name != u.Search.Output {
			continue
		}
		if o.Type != "elasticsearch" {
			return Errorf("ui.search.output", "output %q is of type %s, not elasticsearch", o.Name, o.Type)
		}
		if c, ok := o.Settings.(elasticsearch.Config); ok && c.Document == elasticsearch.DocumentECS {
			return Errorf("ui.search.output", "output %q writes document: ecs; the UI's search reads document: falco (the default) or compat: falcosidekick", o.Name)
		}
		return nil
	}
	if len(es) == 0 {
		return Errorf("ui.search.output", "%q is not a configured output, and no output is of type elasticsearch", u.Search.Output)
	}
	return Errorf("ui.search.output", "%q is not a configured output (elasticsearch outputs: %s)", u.Search.Output, strings.Join(es, ", "))
}
