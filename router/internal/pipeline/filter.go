package pipeline

import (
	"path"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/config"
)

// Filter decides whether an alert goes to an output: its priority must meet
// MinPriority, and its rule, source and tags must pass the include/exclude
// patterns (path.Match syntax). For tags, include passes when any tag
// matches and exclude drops when any tag matches.
type Filter struct {
	MinPriority api.Priority
	Rules       config.Match
	Tags        config.Match
	Sources     config.Match
}

// Allow reports whether a passes the filter.
func (f Filter) Allow(a *api.Alert) bool {
	if !a.Priority.AtLeast(f.MinPriority) {
		return false
	}
	return allowOne(f.Rules, a.Rule) && allowOne(f.Sources, a.Source) && allowAny(f.Tags, a.Tags)
}

func allowOne(m config.Match, s string) bool {
	if matchAny(m.Exclude, s) {
		return false
	}
	return len(m.Include) == 0 || matchAny(m.Include, s)
}

func allowAny(m config.Match, tags []string) bool {
	for _, t := range tags {
		if matchAny(m.Exclude, t) {
			return false
		}
	}
	if len(m.Include) == 0 {
		return true
	}
	for _, t := range tags {
		if matchAny(m.Include, t) {
			return true
		}
	}
	return false
}

func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, s); ok {
			return true
		}
	}
	return false
}
