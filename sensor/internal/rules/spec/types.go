// Package spec loads Falco rules files (YAML) into an ordered, merged set
// of lists, macros and rules, with Falco's semantics for multiple files,
// redefinition in place, append/override, enabled toggles, exceptions and
// required versions (falco userspace/engine/rule_loader_*.cpp). It does
// not parse conditions: that is the compile package's job.
package spec

import (
	"fmt"
	"strings"

	"github.com/lookout-sec/lookout/router/api"
)

// EngineVersion is the Falco rule engine version this engine implements
// (Falco 0.42.0's engine); files requiring a newer one are refused.
const EngineVersion = "0.57.0"

// Source is one rules file.
type Source struct {
	Name string
	Data []byte
}

// Pos is a position in a rules file (1-based line and column).
type Pos struct {
	File      string
	Line, Col int
}

// String formats p as file:line:col.
func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Text is a string value (condition, exception expansion) with where it
// came from, so errors at an offset inside it can be located.
type Text struct {
	S   string
	Pos Pos
	// Inline is true when S is a one-line YAML scalar starting at Pos+Shift,
	// so an offset in S maps to a column.
	Inline bool
	Shift  int
	// Block holds the source lines of a block scalar (| or >) from its
	// first content line, and Indent its indentation, so an offset in S
	// maps back to a line and column; Folded is true for '>'.
	Block  []string
	Indent int
	Folded bool
}

// WithText returns t holding s instead (a rewritten condition): offsets in
// s no longer map to source columns, so errors show s's own lines.
func (t Text) WithText(s string) Text {
	if s == t.S {
		return t
	}
	t.S, t.Inline, t.Block = s, false, nil
	return t
}

// blockPos maps off in S to a line of Block and a 1-based column, walking
// the lines as YAML folded or kept them. ok is false when off is past the
// block (text appended by an override).
func (t Text) blockPos(off int) (line int, col int, ok bool) {
	acc := 0
	for i, ln := range t.Block {
		content := ""
		if len(ln) > t.Indent {
			content = ln[t.Indent:]
		}
		if strings.TrimSpace(content) == "" {
			if !t.Folded {
				acc++
			}
			continue
		}
		if off < acc+len(content) || off == acc+len(content) && i == len(t.Block)-1 {
			return i, t.Indent + off - acc + 1, true
		}
		acc += len(content) + 1
	}
	return 0, 0, false
}

// List is a list definition after merging.
type List struct {
	Name       string
	Items      []string
	Pos        Pos
	Index      int // evaluation/definition order (first definition)
	Visibility int // index of the last (re)definition
	Used       bool
}

// Macro is a macro definition after merging.
type Macro struct {
	Name       string
	Condition  Text
	Pos        Pos
	Index      int
	Visibility int
}

// ExceptionValue is one element of an exception values tuple: a scalar or
// a YAML list.
type ExceptionValue struct {
	Scalar string
	List   []string
	IsList bool
}

// Exception is one entry of a rule's exceptions.
type Exception struct {
	Name   string
	Fields []string
	Comps  []string
	Single bool // fields given as a scalar
	Values [][]ExceptionValue
	Pos    Pos
}

// Rule is a rule after merging.
type Rule struct {
	Name          string
	Condition     Text
	Output        string
	OutputAt      Text // where Output is, for output format errors
	Desc          string
	Priority      api.Priority
	Source        string
	Enabled       bool
	Tags          []string
	Exceptions    []Exception
	SkipIfUnknown bool
	WarnEvttypes  bool
	Pos           Pos
	Index         int
}

// PluginRequirement is one entry of required_plugin_versions.
type PluginRequirement struct {
	Name         string
	Version      string
	Alternatives []PluginRequirement
}

// FileStats counts the items each file defined and names the ones it
// changed (append or override of an item defined before).
type FileStats struct {
	Name                 string
	Rules, Macros, Lists int
	// Overrides names each list, macro or rule the file appended to or
	// overrode, with the keys and operations, e.g. "rule 'Terminal shell
	// in container' (enabled: replace)".
	Overrides []string
}

// Set is the merged content of all loaded files.
type Set struct {
	Lists          []*List
	Macros         []*Macro
	Rules          []*Rule
	RequiredEngine string // highest required_engine_version seen, "" if none
	Plugins        []PluginRequirement
	Files          []FileStats
	Warnings       []string
}

// Error is a load error located in a file, with the offending line and a
// caret under the column.
type Error struct {
	Pos  Pos
	Msg  string
	Line string // the source line, "" if unknown
	Col  int    // caret column in Line (1-based)
}

// Error formats e as file:line:col: message, then the source line and a
// caret under the column when the line is known.
func (e *Error) Error() string {
	s := e.Pos.String() + ": " + e.Msg
	if e.Line != "" {
		s += "\n    " + e.Line + "\n    " + strings.Repeat(" ", max(e.Col-1, 0)) + "^"
	}
	return s
}

// Errorf returns an error at offset off of t, e.g. a parse error.
func (t Text) Errorf(off int, format string, a ...any) *Error {
	msg := fmt.Sprintf(format, a...)
	off = min(max(off, 0), len(t.S))
	if t.Inline {
		p := t.Pos
		p.Col += t.Shift + off
		return &Error{Pos: p, Msg: msg, Line: t.S, Col: off + 1}
	}
	if i, col, ok := t.blockPos(off); ok {
		p := t.Pos
		p.Line += i
		p.Col = col
		return &Error{Pos: p, Msg: msg, Line: t.Block[i], Col: col}
	}
	// Multi-line: show the line of S holding off.
	ls := strings.LastIndexByte(t.S[:off], '\n') + 1
	le := strings.IndexByte(t.S[off:], '\n')
	if le < 0 {
		le = len(t.S)
	} else {
		le += off
	}
	p := t.Pos
	p.Line += strings.Count(t.S[:ls], "\n")
	if ls > 0 {
		p.Col = 1 + off - ls
	} else {
		p.Col += off
	}
	return &Error{Pos: p, Msg: msg, Line: t.S[ls:le], Col: off - ls + 1}
}
