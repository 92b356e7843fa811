package ui

import (
	"context"
	"errors"
	"time"

	"github.com/lookout-sec/lookout/router/internal/history"
)

// Searcher answers the search and alert pages: the router's history, or
// the index an Elasticsearch output writes (router/internal/history/elastic).
type Searcher interface {
	Search(ctx context.Context, q history.Query) ([]history.Alert, error)
	Get(ctx context.Context, uuid string) (history.Alert, error)
}

// Counter answers the overview: the router's history, or the
// Elasticsearch search when it counts too (router/internal/history/elastic
// does), so that the overview's numbers and the searches its values link
// to agree.
type Counter interface {
	Chart(ctx context.Context, dim string, span history.Span, n int) ([]history.Series, error)
	Top(ctx context.Context, dim string, since, until time.Time, n int) ([]history.Count, error)
}

// counter is what the overview counts.
func (u *UI) counter() Counter {
	if c, ok := u.opts.Search.(Counter); ok {
		return c
	}
	return u.opts.History
}

// Store names of the alert page's origin.
const (
	fromHistory = "history"
	fromSearch  = "search"
)

// searcher is what search reads.
func (u *UI) searcher() Searcher {
	if u.opts.Search != nil {
		return u.opts.Search
	}
	return u.opts.History
}

// searchStore describes where search reads, for the pages.
func (u *UI) searchStore() string {
	if u.opts.Search != nil && u.opts.SearchStore != "" {
		return u.opts.SearchStore
	}
	return "the router's history"
}

// getAlert finds an alert where search reads and, when that is
// Elasticsearch and it is not there (not indexed yet: the live stream
// links to alerts that just arrived), in the router's history. from says
// which answered.
func (u *UI) getAlert(ctx context.Context, uuid string) (a history.Alert, from string, err error) {
	if u.opts.Search == nil {
		a, err = u.opts.History.Get(ctx, uuid)
		return a, fromHistory, err
	}
	a, err = u.opts.Search.Get(ctx, uuid)
	if !errors.Is(err, history.ErrNotFound) || u.opts.History == nil {
		return a, fromSearch, err
	}
	a, err = u.opts.History.Get(ctx, uuid)
	return a, fromHistory, err
}

// getForSilence finds an alert to pre-fill a silence from: the router's
// history first (its field names are the ones silences match; an
// Elasticsearch document may have them flattened, proc_name), then where
// search reads.
func (u *UI) getForSilence(ctx context.Context, uuid string) (history.Alert, error) {
	a, err := u.opts.History.Get(ctx, uuid)
	if u.opts.Search == nil || !errors.Is(err, history.ErrNotFound) {
		return a, err
	}
	return u.opts.Search.Get(ctx, uuid)
}
