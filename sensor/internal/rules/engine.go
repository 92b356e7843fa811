package rules

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/sensor/internal/event"
	"github.com/lookout-sec/lookout/sensor/internal/rules/compile"
	"github.com/lookout-sec/lookout/sensor/internal/rules/fields"
	"github.com/lookout-sec/lookout/sensor/internal/rules/spec"
)

// Source is one rules file: its name (used in errors and reports) and its
// YAML content.
type Source = spec.Source

// EngineVersion is the Falco rule engine version Lookout claims; files with
// a newer required_engine_version are refused.
const EngineVersion = spec.EngineVersion

// Matching is Falco's rule_matching setting.
type Matching uint8

// Rule matching modes.
const (
	// MatchFirst stops at the first rule (in load order) that matches an
	// event, as Falco's default rule_matching: first.
	MatchFirst Matching = iota
	// MatchAll emits an alert for every matching rule.
	MatchAll
)

// Options configures Load. The zero value is not ready to use for
// MinPriority: api.Priority's zero value is Emergency, which drops every
// rule less severe; pass api.PriorityDebug to load every rule.
type Options struct {
	// Strict makes unknown keys in lists, macros and rules errors (a
	// typo like "enabeld" is otherwise a warning).
	Strict bool
	// MinPriority is the least severe priority loaded (Falco's priority
	// setting): rules less severe than it never run.
	MinPriority api.Priority
	// Matching is MatchFirst (default) or MatchAll.
	Matching Matching
	// Fields is the field table; nil means fields.NewTable().
	Fields *fields.Table
	// Hostname is put in every alert's hostname.
	Hostname string
	// Logger receives load warnings at Warn level; nil discards them.
	Logger *slog.Logger
	// LookupIP resolves the domain names compared with fd.sip.name and
	// friends, once, during Load (Falco resolves them at load time and
	// refreshes them; here a reload re-resolves). Nil leaves them
	// unresolved: those checks never match. It should time out quickly.
	LookupIP func(host string) ([]netip.Addr, error)
	// TimeISO8601 uses %evt.time.iso8601 as the output's time prefix
	// (Falco's time_format_iso_8601: true) instead of local HH:MM:SS.
	TimeISO8601 bool
	// OmitContainerFields does not append container_id and container_name
	// to outputs (Falco's append_output without suggested_output, as
	// before 0.41).
	OmitContainerFields bool
	// MaxExpandedBytes caps what lists, list substitution and macro
	// expansion may produce for the whole set (see
	// compile.Options.MaxExpandedBytes); 0 means
	// compile.DefaultMaxExpandedBytes.
	MaxExpandedBytes int
	// AuditFields is the field table of the k8s_audit source; nil means
	// fields.NewK8sAuditTable().
	AuditFields *fields.Table
	// Sources are the event sources the caller feeds (SourceSyscall,
	// SourceK8sAudit); nil means all of them. Rules of a known source not
	// in the list are compiled (so errors are found) but do not run, and
	// say why in Rules() and the report.
	Sources []string
}

// Event sources the engine compiles rules for.
const (
	SourceSyscall  = compile.SourceSyscall
	SourceK8sAudit = "k8s_audit"
)

// KnownSources lists the event sources the engine supports.
func KnownSources() []string { return []string{SourceSyscall, SourceK8sAudit} }

// FileReport counts what one file defined (redefinitions count again, as
// Falco's loader does).
type FileReport struct {
	Name   string `json:"name"`
	Rules  int    `json:"rules"`
	Macros int    `json:"macros"`
	Lists  int    `json:"lists"`
	// Overrides names what the file appended to or overrode, e.g. "rule
	// 'Terminal shell in container' (enabled: replace)".
	Overrides []string `json:"overrides,omitempty"`
}

// PluginRequirement is one entry of required_plugin_versions, accepted and
// reported (Lookout loads no plugins).
type PluginRequirement = spec.PluginRequirement

// Report describes a successful load.
type Report struct {
	Files []FileReport `json:"files"`
	// Rules is the number of rules after merging; Active the number that
	// run (enabled, at or above MinPriority, not skipped).
	Rules  int `json:"rules"`
	Active int `json:"active"`
	// Skipped names the rules left out because of skip-if-unknown-filter.
	Skipped []string `json:"skipped,omitempty"`
	// Warnings are non-fatal problems, each prefixed with file:line:col
	// where known.
	Warnings []string `json:"warnings,omitempty"`
	// Notes are facts about the environment, logged at Info (a host name
	// of a fd.sip.name check that does not resolve off-cluster).
	Notes []string `json:"notes,omitempty"`
	// RequiredEngineVersion is the highest required_engine_version seen.
	RequiredEngineVersion string              `json:"required_engine_version,omitempty"`
	Plugins               []PluginRequirement `json:"required_plugin_versions,omitempty"`
}

// RuleInfo describes one loaded rule, for `rules list`.
type RuleInfo struct {
	Name     string       `json:"name"`
	Priority api.Priority `json:"priority"`
	Tags     []string     `json:"tags"`
	// EventTypes are the event types the rule can match (Falco's names).
	EventTypes []string `json:"event_types"`
	// Enabled is the rule's enabled key after overrides.
	Enabled bool `json:"enabled"`
	// Active is true when the rule runs in this engine: enabled and at
	// least as severe as Options.MinPriority.
	Active bool `json:"active"`
	// Source is the file and position of the rule's definition.
	Source    string `json:"source"`
	Condition string `json:"condition_compiled"`
	// EventSource is the rule's source: key (syscall, k8s_audit ...).
	EventSource string `json:"event_source"`
	// Inactive says why an enabled rule does not run ("" when it runs or
	// is disabled): a source not enabled, an unknown source, below the
	// minimum priority, skip-if-unknown-filter.
	Inactive string `json:"inactive_reason,omitempty"`
}

// rule is an active compiled rule.
type rule struct {
	name     string
	priority api.Priority
	source   string
	tags     []string // sorted, as Falco's std::set
	pred     compile.Pred
	out      *format
}

// Engine evaluates a loaded rule set. See the package comment for its
// concurrency contract.
type Engine struct {
	byType    [event.NumTypes][]*rule
	audit     []*rule // active k8s_audit rules, in load order
	active    map[string]int
	types     event.TypeSet
	infos     []RuleInfo
	matching  Matching
	hostname  string
	prefix    *fields.Field // evt.time, the output's time prefix
	prefixKey string        // its output_fields key
	sys, aud  evalState     // per-source scratch: syscall and k8s_audit events may be evaluated concurrently
}

// evalState is what one evaluating goroutine writes.
type evalState struct {
	scratch *compile.Scratch
	vals    []fields.Value
}

// Load parses, merges and compiles srcs in order and returns the engine and
// a report. Errors carry file:line:col, the offending line and a caret.
func Load(srcs []Source, opts Options) (*Engine, *Report, error) {
	tbl := opts.Fields
	if tbl == nil {
		tbl = fields.NewTable()
	}
	atbl := opts.AuditFields
	if atbl == nil {
		atbl = fields.NewK8sAuditTable()
	}
	enabled := map[string]bool{}
	for _, s := range opts.Sources {
		enabled[s] = true
	}
	if opts.Sources == nil {
		for _, s := range KnownSources() {
			enabled[s] = true
		}
	}
	set, err := spec.LoadWith(srcs, spec.Options{Strict: opts.Strict})
	if err != nil {
		return nil, nil, err
	}
	res, err := compile.CompileWith(set, compile.FromTable(tbl), compile.Options{LookupIP: opts.LookupIP, MaxExpandedBytes: opts.MaxExpandedBytes,
		Sources: map[string]compile.Resolver{SourceK8sAudit: compile.FromTable(atbl)}})
	if err != nil {
		return nil, nil, err
	}
	rep := &Report{Rules: len(set.Rules), Skipped: res.Skipped, RequiredEngineVersion: set.RequiredEngine, Plugins: set.Plugins}
	for _, f := range set.Files {
		rep.Files = append(rep.Files, FileReport{Name: f.Name, Rules: f.Rules, Macros: f.Macros, Lists: f.Lists, Overrides: f.Overrides})
	}
	rep.Warnings = append(append(rep.Warnings, set.Warnings...), res.Warnings...)
	rep.Notes = append(rep.Notes, res.Notes...)

	prefixName := "evt.time"
	if opts.TimeISO8601 {
		prefixName = "evt.time.iso8601"
	}
	prefix, err := tbl.Resolve(prefixName, "")
	if err != nil {
		return nil, nil, fmt.Errorf("field table has no %s: %w", prefixName, err)
	}
	e := &Engine{matching: opts.Matching, hostname: opts.Hostname, prefix: prefix, prefixKey: prefixName, active: map[string]int{}}
	below := 0
	notFed := map[string]int{}
	compiled := make(map[*spec.Rule]*compile.Rule, len(res.Rules))
	for _, cr := range res.Rules {
		compiled[cr.Spec] = cr
	}
	for _, r := range set.Rules {
		cr := compiled[r]
		if cr == nil {
			if why, ok := res.SkipReasons[r.Name]; ok {
				e.infos = append(e.infos, RuleInfo{Name: r.Name, Priority: r.Priority, Tags: sortedTags(r.Tags), Enabled: r.Enabled,
					Source: r.Pos.String(), EventTypes: []string{}, EventSource: r.Source, Inactive: why})
			}
			continue
		}
		ftbl, suggest := tbl, !opts.OmitContainerFields
		if r.Source == SourceK8sAudit {
			ftbl, suggest = atbl, false // Falco suggests container fields for syscall rules only
		}
		out, err := compileFormat(ftbl, r.Output, suggest)
		if err != nil {
			var fe *formatError
			if errors.As(err, &fe) {
				return nil, nil, r.OutputAt.Errorf(fe.off, "rule '%s': output: %s", r.Name, fe.msg)
			}
			return nil, nil, err
		}
		rep.Warnings = append(rep.Warnings, prefixAll(r.Pos.String()+": rule '"+r.Name+"': ", out.warnings)...)
		tags := sortedTags(r.Tags)
		active := r.Enabled && r.Priority.AtLeast(opts.MinPriority)
		why := ""
		if r.Enabled && !active {
			below++
			why = fmt.Sprintf("less severe than the minimum priority %s", opts.MinPriority)
		}
		if active && !enabled[r.Source] {
			active = false
			notFed[r.Source]++
			why = fmt.Sprintf("source %s is not enabled in this sensor (sources.%s)", r.Source, r.Source)
		}
		info := RuleInfo{Name: r.Name, Priority: r.Priority, Tags: tags, Enabled: r.Enabled, Active: active,
			Source: r.Pos.String(), Condition: cr.Compiled, EventTypes: []string{}, EventSource: r.Source, Inactive: why}
		if r.Source == SourceSyscall {
			for _, t := range cr.Types.Types() {
				info.EventTypes = append(info.EventTypes, t.String())
			}
		}
		e.infos = append(e.infos, info)
		if len(cr.UnknownTypes) > 0 {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s: rule '%s': event types not captured by the sensor, never matched: %s", r.Pos, r.Name, strings.Join(cr.UnknownTypes, ", ")))
		}
		if r.WarnEvttypes && r.Source == SourceSyscall && cr.Types == compile.AllTypes() {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s: rule '%s' matches every event type (no evt.type restriction): it runs on every event, which costs CPU; add evt.type conditions or warn_evttypes: false", r.Pos, r.Name))
		}
		if !active {
			continue
		}
		rep.Active++
		e.active[r.Source]++
		ar := &rule{name: r.Name, priority: r.Priority, source: r.Source, tags: tags, pred: cr.Pred, out: out}
		if r.Source == SourceK8sAudit {
			e.audit = append(e.audit, ar)
			continue
		}
		for _, t := range cr.Types.Types() {
			e.byType[t] = append(e.byType[t], ar)
		}
		e.types.Union(cr.Types)
	}
	for _, src := range slices.Sorted(maps.Keys(notFed)) {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d enabled rules of source %s will not run: the %s source is not enabled in this sensor (sources.%s)", notFed[src], src, src, src))
	}
	for _, src := range opts.Sources {
		if src != SourceSyscall && e.active[src] == 0 {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("the %s source is enabled but no rule of source %s is loaded: its events are received and never match (load k8s_audit_rules.yaml)", src, src))
		}
	}
	if below > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d enabled rules are less severe than the minimum priority %s and will not run", below, opts.MinPriority))
	}
	e.sys = evalState{scratch: compile.NewScratch(res.Slots), vals: make([]fields.Value, 0, 16)}
	e.aud = evalState{scratch: compile.NewScratch(res.Slots), vals: make([]fields.Value, 0, 16)}
	if opts.Logger != nil {
		for _, n := range rep.Notes {
			opts.Logger.Info("rules: " + n)
		}
		for _, w := range rep.Warnings {
			opts.Logger.Warn("rules: " + w)
		}
	}
	return e, rep, nil
}

func sortedTags(t []string) []string {
	tags := slices.Clone(t)
	sort.Strings(tags)
	if tags == nil {
		tags = []string{}
	}
	return tags
}

// ActiveRules returns how many rules of the event source run.
func (e *Engine) ActiveRules(source string) int { return e.active[source] }

func prefixAll(p string, ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = p + s
	}
	return out
}

// EventTypes returns the union of the event types of the active rules: the
// probe's in-kernel filter.
func (e *Engine) EventTypes() event.TypeSet { return e.types }

// Rules describes every rule of the merged set in load order, active or not.
func (e *Engine) Rules() []RuleInfo {
	out := slices.Clone(e.infos)
	for i := range out {
		out[i].Tags = slices.Clone(out[i].Tags)
		out[i].EventTypes = slices.Clone(out[i].EventTypes)
	}
	return out
}

// Eval runs the active rules indexed for ev.Type (for a k8s_audit event,
// ev.Audit set: the active k8s_audit rules), in load order, and calls
// emit with an alert for the first match (MatchFirst) or every match
// (MatchAll). The alert's UUID is left empty. Eval does not keep ev or
// anything it points to after it returns. Field values are extracted once
// per event into reused buffers; besides alerts, only fields that build a
// string (proc.cmdline, proc.args, evt.arg.* of multi-flag arguments)
// allocate, once per event that reaches them.
func (e *Engine) Eval(ev *event.Event, emit func(*api.Alert)) {
	rules, st := e.audit, &e.aud
	if ev.Audit == nil {
		if ev.Type >= event.NumTypes {
			return
		}
		rules, st = e.byType[ev.Type], &e.sys
	}
	st.scratch.Reset()
	for _, r := range rules {
		if !r.pred(ev, st.scratch) {
			continue
		}
		emit(e.alert(r, ev, st))
		if e.matching == MatchFirst {
			return
		}
	}
}
