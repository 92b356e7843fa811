package pipeline

import (
	"fmt"
	"slices"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/config"
	"github.com/lookout-sec/lookout/router/internal/match"
)

// Filter decides whether an alert goes to an output: its priority must meet
// MinPriority, its rule, source and tags must pass the include/exclude
// patterns (Falco globs: '*' crosses '/'), and its fields the include and
// exclude matchers. For tags, include passes when any tag matches and
// exclude drops when any tag matches. AllowRules, when set, is an
// output's own allow-list of exact rule names (pagerduty.rules).
type Filter struct {
	MinPriority api.Priority
	Rules       config.Match
	Tags        config.Match
	Sources     config.Match
	Fields      config.FieldMatch
	AllowRules  []string
}

// Allow reports whether a passes the filter.
func (f Filter) Allow(a *api.Alert) bool { return f.Reason(a) == "" }

// Reason returns why a does not pass the filter, or "" when it does.
func (f Filter) Reason(a *api.Alert) string {
	switch {
	case !a.Priority.AtLeast(f.MinPriority):
		return fmt.Sprintf("priority %s is below min_priority %s", a.Priority, f.MinPriority)
	case f.AllowRules != nil && !slices.Contains(f.AllowRules, a.Rule):
		return fmt.Sprintf("rule %q is not in the output's rules allow-list", a.Rule)
	case !allowOne(f.Rules, a.Rule):
		return fmt.Sprintf("rule %q does not pass filters.rules", a.Rule)
	case !allowOne(f.Sources, a.Source):
		return fmt.Sprintf("source %q does not pass filters.sources", a.Source)
	case !allowAny(f.Tags, a.Tags):
		return fmt.Sprintf("tags %v do not pass filters.tags", a.Tags)
	}
	for i, m := range f.Fields.Exclude {
		if m.Matches(a) {
			return fmt.Sprintf("filters.fields.exclude[%d] matches", i)
		}
	}
	if len(f.Fields.Include) == 0 {
		return ""
	}
	for _, m := range f.Fields.Include {
		if m.Matches(a) {
			return ""
		}
	}
	return "no filters.fields.include entry matches"
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
