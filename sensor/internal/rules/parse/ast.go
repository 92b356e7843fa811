// Package parse is the lexer and parser of Falco's condition language
// (libs userspace/libsinsp/filter/parser.h): it turns a condition string
// into an AST with byte offsets, and reports errors with the position of
// the offending text. It knows nothing of fields, macros or lists.
package parse

import (
	"strings"
)

// Node is an AST node. Pos is the byte offset of the node in the source.
type Node interface {
	Pos() int
	node()
}

// And is an n-ary conjunction.
type And struct {
	P        int
	Children []Node
}

// Or is an n-ary disjunction.
type Or struct {
	P        int
	Children []Node
}

// Not negates X.
type Not struct {
	P int
	X Node
}

// Ident is a bare identifier in check position: a macro reference.
type Ident struct {
	P    int
	Name string
}

// Value is a literal string operand (quoted strings already unescaped).
type Value struct {
	P      int
	Text   string
	Quoted bool
}

// List is a parenthesised list of values.
type List struct {
	P     int
	Items []*Value
}

// Field is a field reference, possibly wrapped in a transformer:
// proc.aname[2], tolower(proc.name), len(proc.args).
type Field struct {
	P      int
	Name   string // dotted name, "" for a transformer
	Arg    string // [argument] content
	HasArg bool
	// Transformer is "tolower", "toupper", "b64", "basename", "len", "join",
	// "concat" or "getopt" when this node is a transformer call; Args are
	// its arguments (*Field, *Value or *List).
	Transformer string
	Args        []Node
}

// Check is a comparison: Field Op [Modifier] Value. Value is *Value, *List,
// *List (a bare identifier after a list operator is a one-item list) or
// *Field (val(...) or a transformer). Value is nil for "exists".
type Check struct {
	P        int
	Field    *Field
	Op       string
	Modifier string // "", "oneof", "anyof", "allof"
	Value    Node
}

func (n *And) Pos() int   { return n.P }
func (n *Or) Pos() int    { return n.P }
func (n *Not) Pos() int   { return n.P }
func (n *Ident) Pos() int { return n.P }
func (n *Value) Pos() int { return n.P }
func (n *List) Pos() int  { return n.P }
func (n *Field) Pos() int { return n.P }
func (n *Check) Pos() int { return n.P }

func (*And) node()   {}
func (*Or) node()    {}
func (*Not) node()   {}
func (*Ident) node() {}
func (*Value) node() {}
func (*List) node()  {}
func (*Field) node() {}
func (*Check) node() {}

// String prints n the way libs' string_visitor does: and/or wrapped in
// parentheses, lists as (a, b), values quoted only when needed.
func String(n Node) string {
	var b strings.Builder
	write(&b, n)
	return b.String()
}

func write(b *strings.Builder, n Node) {
	switch n := n.(type) {
	case *And:
		writeNary(b, n.Children, " and ")
	case *Or:
		writeNary(b, n.Children, " or ")
	case *Not:
		b.WriteString("not ")
		write(b, n.X)
	case *Ident:
		b.WriteString(n.Name)
	case *Value:
		b.WriteString(quoteIfNeeded(n.Text))
	case *List:
		b.WriteByte('(')
		for i, it := range n.Items {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quoteIfNeeded(it.Text))
		}
		b.WriteByte(')')
	case *Field:
		if n.Transformer != "" {
			b.WriteString(n.Transformer)
			b.WriteByte('(')
			for i, a := range n.Args {
				if i > 0 {
					b.WriteString(", ")
				}
				write(b, a)
			}
			b.WriteByte(')')
		} else {
			b.WriteString(n.Name)
		}
		if n.HasArg {
			b.WriteByte('[')
			b.WriteString(n.Arg)
			b.WriteByte(']')
		}
	case *Check:
		write(b, n.Field)
		b.WriteByte(' ')
		b.WriteString(n.Op)
		if n.Modifier != "" {
			b.WriteByte(' ')
			b.WriteString(n.Modifier)
		}
		if n.Value != nil {
			b.WriteByte(' ')
			if f, ok := n.Value.(*Field); ok && f.Transformer == "" {
				b.WriteString("val(")
				write(b, f)
				b.WriteByte(')')
			} else {
				write(b, n.Value)
			}
		}
	}
}

func writeNary(b *strings.Builder, ch []Node, sep string) {
	b.WriteByte('(')
	for i, c := range ch {
		if i > 0 {
			b.WriteString(sep)
		}
		write(b, c)
	}
	b.WriteByte(')')
}

func quoteIfNeeded(s string) string {
	if s != "" && !strings.ContainsAny(s, " \b\t\n\r(),=\"'\\") {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		case '\b':
			b.WriteString(`\b`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
