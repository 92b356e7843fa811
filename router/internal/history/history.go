// Package history keeps the alerts the triage UI (router/internal/ui)
// shows: every accepted alert with its finding and what each output got
// (delivered, or held back and why), searchable and counted over time,
// with bounded retention (age and bytes, oldest dropped first).
//
// Store is the interface; SQL is its implementation over database/sql
// with portable SQL plus a dialect for the parts that are not (free-text
// search, ids, placeholders, size): SQLite (modernc.org/sqlite, pure Go,
// FTS5) for one router, PostgreSQL (pgx, a tsvector column with a GIN
// index, tables from router/internal/pgstate's migrations) shared by
// router replicas. Recorder takes batches off the ingest path through a bounded
// channel and writes them from one goroutine: ingest never waits for it,
// and what does not fit is dropped for the UI and counted.
package history

import (
	"context"
	"errors"
	"time"

	"github.com/lookout-sec/lookout/router/api"
)

// Alert is one stored alert.
type Alert struct {
	ID       int64 // store-assigned, increasing in arrival order
	UUID     string
	Time     time.Time
	Rule     string
	Priority api.Priority
	Source   string
	Hostname string
	Output   string
	Tags     []string
	Fields   map[string]any
	// Finding is the noise stage's finding id and its status when the
	// alert arrived ("" without the noise stage).
	Finding       string
	FindingStatus string
	// Outputs maps each output whose filters took the alert to
	// "delivered" or the reason it was held back.
	Outputs  map[string]string
	Silences []string
}

// Field returns a field by its Falco name: the alert's own (rule,
// priority, source, hostname) or an output field, as text.
func (a *Alert) Field(name string) (string, bool) {
	switch name {
	case "rule":
		return a.Rule, true
	case "priority":
		return a.Priority.String(), true
	case "source":
		return a.Source, true
	case "hostname":
		return a.Hostname, true
	}
	v, ok := a.Fields[name]
	if !ok || v == nil {
		return "", false
	}
	return fieldText(v), true
}

// Query selects stored alerts; zero fields do not filter.
type Query struct {
	Since, Until time.Time // Time in [Since, Until)
	Rule         string    // exact rule name
	MinPriority  *api.Priority
	Source       string
	Tag          string
	Fields       map[string]string // output field = value, exactly
	Text         string            // words that must all appear in the output line
	Before       Cursor            // only alerts after this one in the order (the next page)
	Limit        int               // default 50, at most 1000
}

// Cursor is a place in the search order (newest time first, then id;
// in Elasticsearch, router/internal/history/elastic, then uuid).
type Cursor struct {
	TS   int64 // Time in Unix nanoseconds
	ID   int64
	UUID string // the order's tie-break where there are no ids
}

// CursorOf is the cursor just after a.
func CursorOf(a *Alert) Cursor { return Cursor{TS: a.Time.UnixNano(), ID: a.ID, UUID: a.UUID} }

// Span is a time range cut into equal buckets for a chart.
type Span struct {
	Since, Until time.Time
	Step         time.Duration // bucket width; at least a minute
}

// Series is counts per bucket for one value (a priority or a rule).
type Series struct {
	Name   string
	Counts []int64 // one per bucket of the span
	Total  int64
}

// Count is a value and how many alerts had it.
type Count struct {
	Value string
	N     int64
}

// Dimensions counted for the overview (Store.Top and Store.Chart).
const (
	DimPriority  = "priority"
	DimRule      = "rule"
	DimHost      = "hostname"
	DimNamespace = "k8s.ns.name"
	DimWorkload  = "k8s.workload.name"
)

// Stats describes the store.
type Stats struct {
	Alerts int64
	Bytes  int64 // in use: SQLite pages, PostgreSQL the alerts' estimated sizes
	Oldest time.Time
}

// Pruned is what a retention pass removed.
type Pruned struct {
	Age, Bytes int64 // alerts dropped for max_age and for max_bytes
}

// ErrNotFound is returned by Get for an unknown uuid.
var ErrNotFound = errors.New("no such alert in the history")

// Store keeps alerts for the UI.
type Store interface {
	// Append stores alerts in one transaction.
	Append(ctx context.Context, alerts []Alert) error
	// Search returns the newest matching alerts first.
	Search(ctx context.Context, q Query) ([]Alert, error)
	// Get returns one alert by uuid.
	Get(ctx context.Context, uuid string) (Alert, error)
	// Chart counts alerts per bucket of span by dim (DimPriority or
	// DimRule), the top n values each with a series.
	Chart(ctx context.Context, dim string, span Span, n int) ([]Series, error)
	// Top returns the n most frequent values of dim in [since, until).
	Top(ctx context.Context, dim string, since, until time.Time, n int) ([]Count, error)
	// Prune drops alerts older than maxAge, then the oldest until the
	// store uses at most maxBytes.
	Prune(ctx context.Context, now time.Time, maxAge time.Duration, maxBytes int64) (Pruned, error)
	Stats(ctx context.Context) (Stats, error)
	Close() error
}
