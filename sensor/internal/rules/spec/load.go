package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/semver"
	"gopkg.in/yaml.v3"
)

type loader struct {
	set    *Set
	lists  map[string]*List
	macros map[string]*Macro
	rules  map[string]*Rule
	index  int
	file   string
	lines  []string
	stats  *FileStats
	strict bool
}

// Load reads the files in order and merges them. The first error stops
// loading and is returned as a *Error.
func Load(srcs []Source) (*Set, error) { return LoadWith(srcs, Options{}) }

// Options are Load's choices.
type Options struct {
	// Strict makes an unknown key in a list, macro or rule an error (as
	// Falco's schema validation does) instead of a warning.
	Strict bool
}

// LoadWith is Load with options.
func LoadWith(srcs []Source, opts Options) (*Set, error) {
	l := &loader{set: &Set{}, lists: map[string]*List{}, macros: map[string]*Macro{}, rules: map[string]*Rule{}, strict: opts.Strict}
	for _, src := range srcs {
		if err := l.loadFile(src); err != nil {
			return nil, err
		}
	}
	return l.set, nil
}

func (l *loader) loadFile(src Source) error {
	l.file = src.Name
	l.lines = strings.Split(string(src.Data), "\n")
	l.set.Files = append(l.set.Files, FileStats{Name: src.Name})
	l.stats = &l.set.Files[len(l.set.Files)-1]
	dec := yaml.NewDecoder(bytes.NewReader(src.Data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return l.yamlError(err)
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
			continue
		}
		if root.Kind != yaml.SequenceNode {
			return l.errAt(root, "rules content is not yaml array of objects")
		}
		for _, item := range root.Content {
			if item.Kind == yaml.ScalarNode && item.Tag == "!!null" {
				continue
			}
			if err := l.item(item); err != nil {
				return err
			}
		}
	}
}

func (l *loader) pos(n *yaml.Node) Pos { return Pos{File: l.file, Line: n.Line, Col: n.Column} }

func (l *loader) errAt(n *yaml.Node, format string, a ...any) *Error {
	e := &Error{Pos: l.pos(n), Msg: fmt.Sprintf(format, a...), Col: n.Column}
	if n.Line >= 1 && n.Line <= len(l.lines) {
		e.Line = strings.TrimRight(l.lines[n.Line-1], "\r")
	}
	return e
}

func (l *loader) warn(n *yaml.Node, format string, a ...any) {
	l.set.Warnings = append(l.set.Warnings, l.pos(n).String()+": "+fmt.Sprintf(format, a...))
}

// item is one top-level entry: a map of key -> value node.
type item struct {
	node *yaml.Node
	keys map[string]*yaml.Node
	knod map[string]*yaml.Node // key nodes, for positions
	ord  []string
}

func (l *loader) mapOf(n *yaml.Node) (*item, error) {
	if n.Kind != yaml.MappingNode {
		return nil, l.errAt(n, "unexpected element type; each element should be a yaml associative array")
	}
	it := &item{node: n, keys: map[string]*yaml.Node{}, knod: map[string]*yaml.Node{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		it.keys[k], it.knod[k] = n.Content[i+1], n.Content[i]
		it.ord = append(it.ord, k)
	}
	return it, nil
}

func (l *loader) item(n *yaml.Node) error {
	it, err := l.mapOf(n)
	if err != nil {
		return err
	}
	switch {
	case it.keys["required_engine_version"] != nil:
		return l.engineVersion(it.keys["required_engine_version"])
	case it.keys["required_plugin_versions"] != nil:
		return l.plugins(it.keys["required_plugin_versions"])
	case it.keys["list"] != nil:
		if err := l.knownKeys(it, "list", listKeys); err != nil {
			return err
		}
		return l.list(it)
	case it.keys["macro"] != nil:
		if err := l.knownKeys(it, "macro", macroKeys); err != nil {
			return err
		}
		return l.macro(it)
	case it.keys["rule"] != nil:
		if err := l.knownKeys(it, "rule", ruleKeys); err != nil {
			return err
		}
		return l.rule(it)
	}
	l.warn(n, "Unknown top level item")
	return nil
}

// The keys Falco's rules schema allows per item kind.
var (
	listKeys  = []string{"list", "items", "append", "override"}
	macroKeys = []string{"macro", "condition", "append", "override"}
	ruleKeys  = []string{"rule", "desc", "condition", "output", "priority", "source", "enabled", "tags",
		"exceptions", "append", "override", "warn_evttypes", "skip-if-unknown-filter", "capture", "capture_duration"}
)

// knownKeys reports each key of it that kind does not have, at the key's
// position: a warning, or with Strict an error (a typo such as
// "enabeld: false" would otherwise be ignored without a word).
func (l *loader) knownKeys(it *item, kind string, allowed []string) error {
	for _, k := range it.ord {
		if slices.Contains(allowed, k) {
			continue
		}
		name := ""
		if v := it.keys[kind]; v != nil {
			name = v.Value
		}
		msg := fmt.Sprintf("unknown key '%s' in %s '%s' (allowed: %s)", k, kind, name, strings.Join(allowed, ", "))
		if l.strict {
			return l.errAt(it.knod[k], "%s", msg)
		}
		l.warn(it.knod[k], "%s", msg)
	}
	return nil
}

func (l *loader) str(it *item, key string) (string, error) {
	v := it.keys[key]
	if v == nil {
		return "", l.errAt(it.node, "Item has no mapping for key '%s'", key)
	}
	if v.Kind != yaml.ScalarNode {
		return "", l.errAt(v, "Value for key '%s' must be a string", key)
	}
	return v.Value, nil
}

func (l *loader) boolKey(it *item, key string, def bool) (bool, error) {
	v := it.keys[key]
	if v == nil {
		return def, nil
	}
	b, err := strconv.ParseBool(v.Value)
	if v.Kind != yaml.ScalarNode || err != nil {
		return false, l.errAt(v, "Value for key '%s' must be a boolean, got '%s'", key, v.Value)
	}
	return b, nil
}

func (l *loader) strList(v *yaml.Node, key string) ([]string, error) {
	if v.Kind != yaml.SequenceNode {
		return nil, l.errAt(v, "Value for key '%s' must be a list of strings", key)
	}
	out := make([]string, 0, len(v.Content))
	for _, c := range v.Content {
		if c.Kind != yaml.ScalarNode {
			return nil, l.errAt(c, "Value for key '%s' must be a list of strings", key)
		}
		out = append(out, c.Value)
	}
	return out, nil
}

// text builds a Text for a scalar node.
func (l *loader) text(v *yaml.Node) Text {
	t := Text{S: v.Value, Pos: l.pos(v)}
	switch v.Style {
	case 0, yaml.FlowStyle:
		t.Inline = !strings.Contains(v.Value, "\n")
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		t.Inline, t.Shift = !strings.Contains(v.Value, "\n"), 1
	case yaml.LiteralStyle, yaml.FoldedStyle:
		t.Pos.Line++
		t.Pos.Col = 1
		if t.Pos.Line <= len(l.lines) {
			ln := l.lines[t.Pos.Line-1]
			t.Indent = len(ln) - len(strings.TrimLeft(ln, " "))
			t.Pos.Col = t.Indent + 1
			t.Folded = v.Style == yaml.FoldedStyle
			// The block runs while lines are blank or at least as indented.
			for i := t.Pos.Line - 1; i < len(l.lines); i++ {
				ln := strings.TrimRight(l.lines[i], "\r")
				if strings.TrimSpace(ln) != "" && len(ln)-len(strings.TrimLeft(ln, " ")) < t.Indent {
					break
				}
				t.Block = append(t.Block, ln)
			}
		}
	}
	return t
}

func (l *loader) engineVersion(v *yaml.Node) error {
	ver := v.Value
	if n, err := strconv.Atoi(ver); err == nil {
		ver = fmt.Sprintf("0.%d.0", n)
	}
	want, ok := canonSemver(ver)
	if !ok {
		return l.errAt(v, "Unable to parse engine version '%s' as a semver string. Expected \"x.y.z\" semver format", v.Value)
	}
	ours, _ := canonSemver(EngineVersion)
	if semver.Major(want) != semver.Major(ours) || semver.Compare(ours, want) < 0 {
		return l.errAt(v, "Rules require engine version %s, but engine version is %s", ver, EngineVersion)
	}
	if cur, ok := canonSemver(l.set.RequiredEngine); !ok || semver.Compare(want, cur) > 0 {
		l.set.RequiredEngine = ver
	}
	return nil
}

// canonSemver returns s ("x.y.z", as Falco's rule files write versions)
// in golang.org/x/mod/semver's form ("vx.y.z"). The shorthands semver
// accepts ("1.2", "1") are refused: Falco requires all three numbers.
func canonSemver(s string) (string, bool) {
	v := "v" + s
	core, _, _ := strings.Cut(strings.SplitN(v, "+", 2)[0], "-")
	if !semver.IsValid(v) || strings.Count(core, ".") != 2 {
		return "", false
	}
	return v, true
}

func (l *loader) plugins(v *yaml.Node) error {
	if v.Kind != yaml.SequenceNode {
		return l.errAt(v, "Value of required_plugin_versions must be a sequence")
	}
	for _, c := range v.Content {
		r, err := l.pluginReq(c, true)
		if err != nil {
			return err
		}
		l.set.Plugins = append(l.set.Plugins, r)
	}
	return nil
}

func (l *loader) pluginReq(c *yaml.Node, alts bool) (PluginRequirement, error) {
	it, err := l.mapOf(c)
	if err != nil {
		return PluginRequirement{}, err
	}
	var r PluginRequirement
	if r.Name, err = l.str(it, "name"); err != nil {
		return r, err
	}
	if r.Version, err = l.str(it, "version"); err != nil {
		return r, err
	}
	if a := it.keys["alternatives"]; a != nil && alts {
		if a.Kind != yaml.SequenceNode {
			return r, l.errAt(a, "Value of alternatives must be a sequence")
		}
		for _, ac := range a.Content {
			ar, err := l.pluginReq(ac, false)
			if err != nil {
				return r, err
			}
			r.Alternatives = append(r.Alternatives, ar)
		}
	}
	return r, nil
}

// yamlError locates a YAML syntax error ("yaml: line 3: mapping values are
// not allowed in this context") at its line, with the line shown.
func (l *loader) yamlError(err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	e := &Error{Pos: Pos{File: l.file, Line: 1, Col: 1}, Msg: "invalid YAML: " + msg}
	rest, ok := strings.CutPrefix(msg, "line ")
	if !ok {
		return e
	}
	num, text, ok := strings.Cut(rest, ": ")
	n, err2 := strconv.Atoi(num)
	if !ok || err2 != nil || n < 1 || n > len(l.lines) {
		return e
	}
	e.Pos.Line, e.Msg = n, "invalid YAML: "+text
	e.Line = strings.TrimRight(l.lines[n-1], "\r")
	e.Col = len(e.Line) - len(strings.TrimLeft(e.Line, " ")) + 1
	e.Pos.Col = e.Col
	return e
}
