// Package compile turns a merged rule set (package spec) into predicates:
// Falco's textual list substitution, condition parsing, macro expansion on
// the AST with Falco's visibility rules, field resolution, literal typing
// and the event-type set of each rule. Predicates (eval.go) are closures
// that do not allocate on the non-matching path.
package compile

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/lookout-sec/lookout/sensor/internal/event"
	"github.com/lookout-sec/lookout/sensor/internal/rules/fields"
	"github.com/lookout-sec/lookout/sensor/internal/rules/parse"
	"github.com/lookout-sec/lookout/sensor/internal/rules/spec"
)

// Field is what the compiler needs of a resolved field; the fields
// table's *fields.Field satisfies it through FromTable.
type Field interface {
	Kind() fields.Kind
	Multi() bool
	Extract(ev *event.Event, dst []fields.Value) []fields.Value
	Render(vals []fields.Value) string
	JSON(vals []fields.Value) any
}

// Resolver resolves a field name and [arg]; the error wraps
// fields.ErrUnknownField for unknown names.
type Resolver func(name, arg string) (Field, error)

// Rule is a compiled rule.
type Rule struct {
	Spec     *spec.Rule
	Pred     Pred
	Types    event.TypeSet
	AST      parse.Node // after list substitution and macro expansion
	Compiled string     // AST printed as Falco's condition_compiled
	Slots    int        // scratch buffers the predicate needs (the same for every rule of a Result)
	// UnknownTypes are evt.type names in the condition that the sensor
	// does not capture: checks on them never match.
	UnknownTypes []string
}

// Result is the compiled set.
type Result struct {
	Rules   []*Rule
	Skipped []string // rules skipped by skip-if-unknown-filter or for an unknown source
	// SkipReasons says why each rule of Skipped was skipped, by name.
	SkipReasons map[string]string
	Warnings    []string
	// Notes are facts about the environment worth one INFO line, not a
	// problem of the rules (a host name that does not resolve off-cluster).
	Notes []string
	// Slots is the number of scratch buffers the predicates need: one per
	// distinct field (or transformed field) of the whole set.
	Slots int
	// ExpandedBytes is how much of Options.MaxExpandedBytes the set used.
	ExpandedBytes int
}

// slot returns the scratch slot of the field spelled key, shared by every
// check of every rule that uses it.
func (c *compiler) slot(key string) int {
	if c.source != "" {
		key = c.source + "\x00" + key // another source's field of the same name
	}
	if i, ok := c.slots[key]; ok {
		return i
	}
	i := len(c.slots)
	c.slots[key] = i
	return i
}

type compiler struct {
	set       *spec.Set
	resolve   Resolver // of the rule being compiled
	syscall   Resolver
	source    string // the rule's source when not syscall
	macros    map[string]*macroInfo
	lists     []list
	slots     map[string]int // field text -> scratch slot, shared by all rules
	warnings  []string
	notes     []string
	nodesLeft int     // nodes left for the rule being expanded
	budget    *budget // bytes left for the whole set
	opts      Options
	resolved  map[string][]netip.Addr // LookupIP results by name, for this compilation
	// origin maps the checks that came from a macro to the macro's text,
	// so errors point into the macro.
	origin map[parse.Node]textPair
}

// textPair is a condition as written and after list substitution.
type textPair struct{ orig, sub spec.Text }

// locate returns the text and offset to report an error at offset off of
// p.sub about token: the written text when the substitution left it
// unchanged, or when token occurs exactly once in it.
func (p textPair) locate(off int, token string) (spec.Text, int) {
	if p.orig.S == p.sub.S {
		return p.orig, off
	}
	if token != "" && strings.Count(p.orig.S, token) == 1 {
		return p.orig, strings.Index(p.orig.S, token)
	}
	return p.sub, off
}

// maxNodes bounds a rule's condition after macro expansion, so macros that
// reference each other many times cannot blow up memory and time (the
// largest upstream rule has a few hundred nodes).
const maxNodes = 100_000

// checkError is an error compiling one check, located by its node.
type checkError struct {
	n   *parse.Check
	err error
}

func (e *checkError) Error() string { return e.err.Error() }

// identError is an error about a macro reference, located by its node.
type identError struct {
	n   *parse.Ident
	err error
}

func (e *identError) Error() string { return e.err.Error() }
func (e *checkError) Unwrap() error { return e.err }

// markOrigin records t as the origin of every check in n.
func (c *compiler) markOrigin(n parse.Node, t textPair) {
	switch n := n.(type) {
	case *parse.And:
		for _, ch := range n.Children {
			c.markOrigin(ch, t)
		}
	case *parse.Or:
		for _, ch := range n.Children {
			c.markOrigin(ch, t)
		}
	case *parse.Not:
		c.markOrigin(n.X, t)
	case *parse.Check, *parse.Ident:
		if _, ok := c.origin[n]; !ok {
			c.origin[n] = t
		}
	}
}

type macroInfo struct {
	m   *spec.Macro
	ast parse.Node
	err error
	txt string
}

// Compile compiles every rule of set (disabled ones too; the engine decides
// what to run). The first error is returned as a *spec.Error.
func Compile(set *spec.Set, resolve Resolver) (*Result, error) {
	return CompileWith(set, resolve, Options{})
}

// Options are optional compiler settings.
type Options struct {
	// LookupIP resolves the domain names compared with fd.sip.name,
	// fd.cip.name, fd.lip.name and fd.rip.name, once, when the rules are
	// compiled (Falco resolves them at load time too). Nil, or a failed
	// lookup, leaves the name with no address: the check never matches.
	LookupIP func(host string) ([]netip.Addr, error)
	// MaxExpandedBytes caps what the rule set may expand to: the text of
	// the lists after nested lists are expanded, every macro and rule
	// condition after list substitution, and 64 bytes per condition node
	// after macro expansion. 0 means DefaultMaxExpandedBytes.
	MaxExpandedBytes int
	// Sources are the field resolvers of the event sources other than
	// syscall (k8s_audit ...): a rule whose source: is one of them is
	// compiled against its fields. A rule of any other source is skipped
	// with a warning, as Falco does for a source it has no plugin for.
	Sources map[string]Resolver
}

// SourceSyscall is the default event source of a rule.
const SourceSyscall = "syscall"

// CompileWith is Compile with options.
func CompileWith(set *spec.Set, resolve Resolver, opts Options) (*Result, error) {
	c := &compiler{opts: opts, set: set, resolve: resolve, syscall: resolve, macros: map[string]*macroInfo{}, origin: map[parse.Node]textPair{}, slots: map[string]int{}}
	c.budget = &budget{max: opts.MaxExpandedBytes}
	if c.budget.max <= 0 {
		c.budget.max = DefaultMaxExpandedBytes
	}
	var err error
	if c.lists, err = expandLists(set.Lists, c.budget); err != nil {
		return nil, err
	}
	for _, m := range set.Macros {
		txt, err := c.substitute(m.Condition.S)
		if err != nil {
			return nil, &spec.Error{Pos: m.Pos, Msg: fmt.Sprintf("macro '%s': %v", m.Name, err)}
		}
		mi := &macroInfo{m: m, txt: txt}
		mi.ast, mi.err = parse.Parse(mi.txt)
		c.macros[m.Name] = mi
	}
	res := &Result{SkipReasons: map[string]string{}}
	for _, r := range set.Rules {
		c.resolve, c.source = c.syscall, ""
		if r.Source != "" && r.Source != SourceSyscall {
			rs, ok := opts.Sources[r.Source]
			if !ok {
				why := fmt.Sprintf("unknown source %s (supported: %s)", r.Source, c.knownSources())
				res.Skipped = append(res.Skipped, r.Name)
				res.SkipReasons[r.Name] = why
				c.warnings = append(c.warnings, fmt.Sprintf("%s: rule '%s' skipped: %s", r.Pos, r.Name, why))
				continue
			}
			c.resolve, c.source = rs, r.Source
		}
		cr, err := c.rule(r)
		if err != nil {
			var ue *unknownFieldError
			if r.SkipIfUnknown && errors.As(err, &ue) {
				res.Skipped = append(res.Skipped, r.Name)
				res.SkipReasons[r.Name] = fmt.Sprintf("skip-if-unknown-filter: %v", ue.err)
				c.warnings = append(c.warnings, fmt.Sprintf("%s: rule '%s' skipped: %v", r.Pos, r.Name, ue.err))
				continue
			}
			return nil, err
		}
		res.Rules = append(res.Rules, cr)
	}
	res.Warnings = c.warnings
	res.Notes = c.notes
	res.Slots = len(c.slots)
	res.ExpandedBytes = c.budget.used
	for _, r := range res.Rules {
		r.Slots = res.Slots
	}
	return res, nil
}

// knownSources lists the sources rules can be compiled for.
func (c *compiler) knownSources() string {
	names := []string{SourceSyscall}
	for n := range c.opts.Sources {
		names = append(names, n)
	}
	slices.Sort(names[1:])
	return strings.Join(names, ", ")
}

type unknownFieldError struct{ err error }

func (e *unknownFieldError) Error() string { return e.err.Error() }

func (c *compiler) rule(r *spec.Rule) (*Rule, error) {
	full := r.FullCondition()
	txt, err := c.substitute(full)
	if err != nil {
		return nil, errAtRule(r, "rule '%s': %v", r.Name, err)
	}
	shift := 0
	if full != r.Condition.S {
		shift = 1
	}
	where := r.Condition
	if txt != r.Condition.S {
		where = where.WithText(txt)
		shift = 0
	}
	ast, err := parse.Parse(txt)
	if err != nil {
		var pe *parse.Error
		errors.As(err, &pe)
		return nil, where.Errorf(pe.Off-shift, "rule '%s': %s", r.Name, pe.Msg)
	}
	c.nodesLeft = maxNodes
	ast, err = c.expand(ast, 1<<62, 0)
	if err != nil {
		var ie *identError
		if errors.As(err, &ie) {
			t, off := c.position(r, where, shift, ie.n, ie.n.P, ie.n.Name)
			return nil, t.Errorf(off, "rule '%s': %v", r.Name, ie.err)
		}
		var se *spec.Error
		if errors.As(err, &se) {
			return nil, err
		}
		return nil, errAtRule(r, "rule '%s': %v", r.Name, err)
	}
	cr := &Rule{Spec: r, AST: ast, Compiled: parse.String(ast)}
	pred, err := c.node(ast)
	if err != nil {
		se := errAtRule(r, "rule '%s': %v", r.Name, err)
		var ce *checkError
		if errors.As(err, &ce) {
			t, off := c.position(r, where, shift, ce.n, ce.n.P, parse.String(ce.n.Field))
			se = t.Errorf(off, "rule '%s': %v", r.Name, ce.err)
		}
		var ue *unknownFieldError
		if errors.As(err, &ue) {
			return nil, &wrapped{se, err}
		}
		return nil, se
	}
	cr.Pred = pred
	cr.Types = eventTypes(ast, false)
	cr.UnknownTypes = unknownTypes(ast, nil)
	return cr, nil
}

// position finds where to report an error about node n (at offset off of
// its text, spelled token): in the macro it came from, or in the rule's
// condition.
func (c *compiler) position(r *spec.Rule, where spec.Text, shift int, n parse.Node, off int, token string) (spec.Text, int) {
	if o, ok := c.origin[n]; ok {
		return o.locate(off, token)
	}
	if where.S != r.Condition.S && token != "" && strings.Count(r.Condition.S, token) == 1 {
		return r.Condition, strings.Index(r.Condition.S, token)
	}
	return where, off - shift
}

type wrapped struct {
	err   *spec.Error
	cause error
}

func (w *wrapped) Error() string   { return w.err.Error() }
func (w *wrapped) Unwrap() []error { return []error{w.err, w.cause} }

func errAtRule(r *spec.Rule, format string, a ...any) *spec.Error {
	return &spec.Error{Pos: r.Condition.Pos, Msg: fmt.Sprintf(format, a...)}
}

// expand replaces macro references with the macros' ASTs. vis is the
// visibility of the referencing macro (rules see every macro).
func (c *compiler) expand(n parse.Node, vis, depth int) (parse.Node, error) {
	if depth > 100 {
		return nil, fmt.Errorf("macro expansion too deep (recursive macros?)")
	}
	if c.nodesLeft--; c.nodesLeft < 0 {
		return nil, fmt.Errorf("condition has more than %d nodes after macro expansion", maxNodes)
	}
	if err := c.budget.take(nodeCost); err != nil {
		return nil, err
	}
	switch n := n.(type) {
	case *parse.And:
		ch, err := c.expandAll(n.Children, vis, depth)
		if err != nil {
			return nil, err
		}
		return &parse.And{P: n.P, Children: ch}, nil
	case *parse.Or:
		ch, err := c.expandAll(n.Children, vis, depth)
		if err != nil {
			return nil, err
		}
		return &parse.Or{P: n.P, Children: ch}, nil
	case *parse.Not:
		x, err := c.expand(n.X, vis, depth)
		if err != nil {
			return nil, err
		}
		return &parse.Not{P: n.P, X: x}, nil
	case *parse.Ident:
		mi := c.macros[n.Name]
		if mi == nil || mi.m.Index >= vis {
			return nil, &identError{n: n, err: fmt.Errorf("Undefined macro '%s' used in filter.", n.Name)}
		}
		if mi.err != nil {
			var pe *parse.Error
			errors.As(mi.err, &pe)
			return nil, mi.m.Condition.WithText(mi.txt).Errorf(pe.Off, "macro '%s': %s", n.Name, pe.Msg)
		}
		c.markOrigin(mi.ast, textPair{mi.m.Condition, mi.m.Condition.WithText(mi.txt)})
		return c.expand(mi.ast, mi.m.Visibility, depth+1)
	}
	return n, nil
}

const blanks = " \t\n\r"
const delims = blanks + "(),="

func quoteItem(s string) string {
	if strings.Contains(s, " ") && s[0] != '"' && s[0] != '\'' {
		return `"` + s + `"`
	}
	return s
}

func resolveList(cnd string, l list, b *budget) (string, error) {
	start := strings.Index(cnd, l.name)
	for start >= 0 {
		end := start + len(l.name)
		if (start == 0 || strings.IndexByte(delims, cnd[start-1]) >= 0) &&
			(end >= len(cnd) || strings.IndexByte(delims, cnd[end]) >= 0) {
			for start > 0 && strings.IndexByte(blanks, cnd[start-1]) >= 0 {
				start--
			}
			for end < len(cnd) && strings.IndexByte(blanks, cnd[end]) >= 0 {
				end++
			}
			sub := l.sub
			if sub == "" {
				if start > 0 && cnd[start-1] == ',' {
					start--
				} else if end < len(cnd) && cnd[end] == ',' {
					end++
				}
			}
			// The text grows before it is charged (substitute charges the
			// result): check the new length first.
			grown := start + len(sub) + 2 + len(cnd) - end
			if grown > b.max-b.used {
				return "", &budgetError{max: b.max}
			}
			if b.work += grown; b.work > workFactor*b.max {
				return "", &budgetError{max: b.max, work: true}
			}
			var nc strings.Builder
			nc.Grow(start + len(sub) + 2 + len(cnd) - end)
			if start > 0 {
				nc.WriteString(cnd[:start])
				nc.WriteByte(' ')
			}
			nc.WriteString(sub)
			nc.WriteByte(' ')
			nc.WriteString(cnd[end:])
			cnd = nc.String()
			start += len(sub) + 1
		}
		next := strings.Index(cnd[min(start+1, len(cnd)):], l.name)
		if next < 0 {
			break
		}
		start = start + 1 + next
	}
	return cnd, nil
}

// expandAll expands each child of an and/or.
func (c *compiler) expandAll(children []parse.Node, vis, depth int) ([]parse.Node, error) {
	out := make([]parse.Node, len(children))
	for i, ch := range children {
		x, err := c.expand(ch, vis, depth)
		if err != nil {
			return nil, err
		}
		out[i] = x
	}
	return out, nil
}
