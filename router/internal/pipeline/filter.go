package pipeline

import (
	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/config"
	"github.com/lookout-sec/lookout/router/internal/match"
)

// Filter decides whether an alert goes to an output: its priority must meet
// MinPriority, its rule, source and tags must pass the include/exclude
// patterns (Falco globs: '*' crosses '/'), and its fields the include and
// exclude matchers. For tags, include passes when any tag matches and
// exclude drops when any tag matches.
type Filter struct {
	MinPriority api.Priority
	Rules       config.Match
	Tags        config.Match
	Sources     config.Match
	Fields      config.FieldMatch
}

// Allow reports whether a passes the filter.
func (f Filter) Allow(a *api.Alert) bool {
	if !a.Priority.AtLeast(f.MinPriority) {
		return false
	}
	if !allowOne(f.Rules, a.Rule) || !allowOne(f.Sources, a.Source) || !allowAny(f.Tags, a.Tags) {
		return false
	}
	for _, m := range f.Fields.Exclude {
		if m.Matches(a) {
			return false
		}
	}
	if len(f.Fields.Include) == 0 {
		return true
	}
	for _, m := range f.Fields.Include {
		if m.Matches(a) {
			return true
		}
	}
	return false
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
		if match.GlobMatch(p, s) {
			return true
		}
	}
	return false
}
