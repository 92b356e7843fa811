package config

import (
	"fmt"
	"time"
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
	}}
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
	return nil
}
