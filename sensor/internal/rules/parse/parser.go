package parse

import (
	"fmt"
	"strings"
)

// Limits of the parser: Falco raises libs' recursion depth to 1000 for
// rules; MaxNodes bounds the AST size of one condition.
const (
	MaxDepth = 1000
	MaxNodes = 200000
)

// Error is a parse error at byte offset Off of the condition.
type Error struct {
	Off int
	Msg string
}

func (e *Error) Error() string { return fmt.Sprintf("offset %d: %s", e.Off, e.Msg) }

// Operator sets, in the order the lexer tries them (longest first where
// one is a prefix of another).
var (
	numOps  = []string{"<=", "<", ">=", ">"}
	symOps  = []string{"==", "=", "!="}
	wordOps = []string{"bcontains", "bstartswith", "contains", "endswith", "glob", "icontains", "iglob", "startswith", "regex"}
	listOps = []string{"intersects", "in", "pmatch"}
	mods    = []string{"oneof", "anyof", "allof"}
	transf  = []string{"tolower", "toupper", "b64", "basename", "len", "join", "concat", "getopt"}
)

type parser struct {
	s     string
	i     int
	depth int
	nodes int
}

// Parse parses a whole condition. The input must be consumed entirely.
func Parse(s string) (n Node, err error) {
	p := &parser{s: s}
	defer func() {
		if r := recover(); r != nil {
			pe, ok := r.(*Error)
			if !ok {
				panic(r)
			}
			n, err = nil, pe
		}
	}()
	p.blanks()
	if p.i >= len(p.s) {
		p.fail("empty condition")
	}
	n = p.or()
	p.blanks()
	if p.i < len(p.s) {
		p.fail("unexpected token after '%s', expecting 'or', 'and'", lastToken(p.s[:p.i]))
	}
	return n, nil
}

func lastToken(s string) string {
	s = strings.TrimRight(s, " \b\t\n\r")
	if j := strings.LastIndexAny(s, " \b\t\n\r"); j >= 0 {
		s = s[j+1:]
	}
	return s
}

func (p *parser) fail(format string, a ...any) {
	panic(&Error{Off: p.i, Msg: fmt.Sprintf(format, a...)})
}

func (p *parser) count() {
	p.nodes++
	if p.nodes > MaxNodes {
		p.fail("condition too large (more than %d nodes)", MaxNodes)
	}
}

func (p *parser) enter() {
	p.depth++
	if p.depth > MaxDepth {
		p.fail("exceeded max depth limit of %d", MaxDepth)
	}
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\b' }

func (p *parser) blanks() bool {
	st := p.i
	for p.i < len(p.s) && isBlank(p.s[p.i]) {
		p.i++
	}
	return p.i > st
}

// word consumes w if it is next and followed by a blank or '(' (keywords).
func (p *parser) keyword(w string, needBlankOrParen bool) bool {
	if !strings.HasPrefix(p.s[p.i:], w) {
		return false
	}
	j := p.i + len(w)
	if needBlankOrParen && j < len(p.s) && !isBlank(p.s[j]) && p.s[j] != '(' {
		return false
	}
	p.i = j
	return true
}

func (p *parser) lit(w string) bool {
	if strings.HasPrefix(p.s[p.i:], w) {
		p.i += len(w)
		return true
	}
	return false
}

func (p *parser) or() Node {
	p.enter()
	defer func() { p.depth-- }()
	start := p.i
	first := p.and()
	ch := []Node{first}
	for {
		save := p.i
		p.blanks()
		if !p.keyword("or", true) {
			p.i = save
			break
		}
		ch = append(ch, p.tail("or", p.and))
	}
	if len(ch) == 1 {
		return first
	}
	p.count()
	return &Or{P: start, Children: ch}
}

func (p *parser) and() Node {
	start := p.i
	first := p.not()
	ch := []Node{first}
	for {
		save := p.i
		p.blanks()
		if !p.keyword("and", true) {
			p.i = save
			break
		}
		ch = append(ch, p.tail("and", p.not))
	}
	if len(ch) == 1 {
		return first
	}
	p.count()
	return &And{P: start, Children: ch}
}

// tail parses what follows 'and'/'or': blank + operand, or '(' Expr ')'.
func (p *parser) tail(kw string, next func() Node) Node {
	if p.blanks() {
		if p.i >= len(p.s) {
			p.fail("expected a condition after '%s'", kw)
		}
		return next()
	}
	if p.i < len(p.s) && p.s[p.i] == '(' {
		p.i++
		n := p.or()
		p.blanks()
		if !p.lit(")") {
			p.fail("expected ')' to close the '(' after '%s'", kw)
		}
		return n
	}
	p.fail("expected a blank or '(' after '%s'", kw)
	return nil
}

func (p *parser) not() Node {
	start := p.i
	negs := 0
	for {
		p.blanks()
		if strings.HasPrefix(p.s[p.i:], "not(") {
			p.i += 3
			negs++
			break
		}
		j := p.i + 3
		if strings.HasPrefix(p.s[p.i:], "not") && j < len(p.s) && isBlank(p.s[j]) {
			p.i = j
			negs++
			continue
		}
		break
	}
	p.blanks()
	n := p.check()
	for k := 0; k < negs; k++ {
		p.count()
		n = &Not{P: start, X: n}
	}
	return n
}

func (p *parser) check() Node {
	p.count()
	start := p.i
	if p.i >= len(p.s) {
		p.fail("expected a condition, found end of input")
	}
	if p.s[p.i] == '(' {
		p.i++
		p.enter()
		n := p.or()
		p.depth--
		p.blanks()
		if !p.lit(")") {
			p.fail("expected ')' or a boolean operator")
		}
		return n
	}
	if name := p.fieldName(); name != "" {
		f := &Field{P: start, Name: name}
		p.fieldArg(f)
		return p.condition(f)
	}
	if f := p.transformer(); f != nil {
		return p.condition(f)
	}
	if id := p.ident(); id != "" {
		return &Ident{P: start, Name: id}
	}
	p.fail("expected a field, a macro name, 'not' or '('")
	return nil
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isAlnum(c byte) bool { return isAlpha(c) || c >= '0' && c <= '9' || c == '_' }

// identAt returns the end of an Identifier starting at i, or i.
func (p *parser) identAt(i int) int {
	j := i
	for j < len(p.s) && isAlpha(p.s[j]) {
		j++
	}
	if j == i {
		return i
	}
	for j < len(p.s) && isAlnum(p.s[j]) {
		j++
	}
	return j
}

func (p *parser) ident() string {
	j := p.identAt(p.i)
	if j == p.i {
		return ""
	}
	s := p.s[p.i:j]
	p.i = j
	return s
}

func (p *parser) fieldName() string {
	j := p.identAt(p.i)
	if j == p.i {
		return ""
	}
	parts := 1
	for j < len(p.s) && p.s[j] == '.' {
		k := p.identAt(j + 1)
		if k == j+1 {
			break
		}
		j = k
		parts++
	}
	if parts < 2 {
		return ""
	}
	s := p.s[p.i:j]
	p.i = j
	return s
}

func (p *parser) fieldArg(f *Field) {
	if p.i >= len(p.s) || p.s[p.i] != '[' {
		return
	}
	p.i++
	f.HasArg = true
	if p.i < len(p.s) && (p.s[p.i] == '"' || p.s[p.i] == '\'') {
		f.Arg = p.quoted()
	} else {
		st := p.i
		for p.i < len(p.s) && !strings.ContainsRune(" \b\t\n\r[]\"'", rune(p.s[p.i])) {
			p.i++
		}
		if p.i == st {
			p.fail("expected a field argument")
		}
		f.Arg = p.s[st:p.i]
	}
	if !p.lit("]") {
		p.fail("expected ']' after the field argument")
	}
}

func (p *parser) transformer() *Field {
	start := p.i
	for _, t := range transf {
		if !p.lit(t + "(") {
			continue
		}
		f := &Field{P: start, Transformer: t}
		for {
			p.blanks()
			f.Args = append(f.Args, p.transformerArg())
			p.blanks()
			if p.lit(",") {
				continue
			}
			if p.lit(")") {
				break
			}
			p.fail("expected ',' or ')' in %s()", t)
		}
		p.fieldArg(f)
		return f
	}
	return nil
}

func (p *parser) transformerArg() Node {
	p.count()
	start := p.i
	if f := p.transformer(); f != nil {
		return f
	}
	if name := p.fieldName(); name != "" {
		f := &Field{P: start, Name: name}
		p.fieldArg(f)
		return f
	}
	if p.i < len(p.s) && (p.s[p.i] == '"' || p.s[p.i] == '\'') {
		return &Value{P: start, Text: p.quoted(), Quoted: true}
	}
	if n := p.number(); n != "" {
		return &Value{P: start, Text: n}
	}
	if p.i < len(p.s) && p.s[p.i] == '(' {
		return p.list()
	}
	p.fail("expected a field, a string, a number or a list as transformer argument")
	return nil
}
