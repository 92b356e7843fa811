package parse

import (
	"strconv"
	"strings"
)

func (p *parser) opWord(w string, needBlank bool) bool {
	if !strings.HasPrefix(p.s[p.i:], w) {
		return false
	}
	j := p.i + len(w)
	if needBlank {
		if j >= len(p.s) || !isBlank(p.s[j]) {
			return false
		}
	} else if j < len(p.s) && isAlnum(p.s[j]) {
		return false
	}
	p.i = j
	return true
}

func (p *parser) condition(f *Field) Node {
	c := &Check{P: f.P, Field: f}
	p.blanks()
	if p.opWord("exists", false) {
		c.Op = "exists"
		return c
	}
	for _, op := range numOps {
		if p.lit(op) {
			c.Op = op
			p.blanks()
			if v := p.fieldValue(); v != nil {
				c.Value = v
				return c
			}
			st := p.i
			n := p.number()
			if n == "" {
				p.fail("expected a number after '%s'", op)
			}
			c.Value = &Value{P: st, Text: n}
			return c
		}
	}
	for _, op := range listOps {
		if p.opWord(op, false) {
			c.Op = op
			p.blanks()
			c.Value = p.listValue()
			return c
		}
	}
	matched := false
	for _, op := range symOps {
		if p.lit(op) {
			c.Op, matched = op, true
			break
		}
	}
	if !matched {
		for _, op := range wordOps {
			if p.opWord(op, true) {
				c.Op, matched = op, true
				break
			}
		}
	}
	if !matched {
		p.fail("expected an operator after field '%s'", String(f))
	}
	p.blanks()
	for _, m := range mods {
		if p.opWord(m, true) {
			c.Modifier = m
			p.blanks()
			c.Value = p.listValue()
			return c
		}
	}
	if v := p.fieldValue(); v != nil {
		c.Value = v
		return c
	}
	c.Value = p.strValue("after '" + c.Op + "'")
	return c
}

// fieldValue parses val(field) or a transformer on the right-hand side.
func (p *parser) fieldValue() Node {
	st := p.i
	if p.lit("val(") {
		p.blanks()
		name := p.fieldName()
		if name == "" {
			p.fail("expected a field inside val()")
		}
		f := &Field{P: st, Name: name}
		p.fieldArg(f)
		p.blanks()
		if !p.lit(")") {
			p.fail("expected ')' to close val(")
		}
		return f
	}
	if f := p.transformer(); f != nil {
		return f
	}
	return nil
}

func (p *parser) listValue() Node {
	st := p.i
	if p.i < len(p.s) && p.s[p.i] == '(' {
		return p.list()
	}
	if v := p.fieldValue(); v != nil {
		return v
	}
	if id := p.ident(); id != "" {
		return &List{P: st, Items: []*Value{{P: st, Text: id}}}
	}
	p.fail("expected a list")
	return nil
}

func (p *parser) list() *List {
	l := &List{P: p.i}
	p.i++ // '('
	p.blanks()
	if p.lit(")") {
		return l
	}
	for {
		p.blanks()
		l.Items = append(l.Items, p.strValue("in list"))
		p.count()
		p.blanks()
		if p.lit(",") {
			continue
		}
		if p.lit(")") {
			return l
		}
		p.fail("expected ',' or ')' in list")
	}
}

func (p *parser) strValue(ctx string) *Value {
	st := p.i
	if p.i < len(p.s) && (p.s[p.i] == '"' || p.s[p.i] == '\'') {
		return &Value{P: st, Text: p.quoted(), Quoted: true}
	}
	for p.i < len(p.s) && !strings.ContainsRune(" \b\t\n\r(),=\"'", rune(p.s[p.i])) {
		p.i++
	}
	if p.i == st {
		p.fail("expected a value %s", ctx)
	}
	return &Value{P: st, Text: p.s[st:p.i]}
}

// number lexes HexNumber | Number, or returns "".
func (p *parser) number() string {
	s, i := p.s, p.i
	if strings.HasPrefix(s[i:], "0x") || strings.HasPrefix(s[i:], "0X") {
		j := i + 2
		for j < len(s) && strings.IndexByte("0123456789abcdefABCDEF", s[j]) >= 0 {
			j++
		}
		if j > i+2 {
			p.i = j
			return s[i:j]
		}
	}
	j := i
	if j < len(s) && (s[j] == '+' || s[j] == '-') {
		j++
	}
	d := j
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == d {
		return ""
	}
	if j < len(s) && s[j] == '.' {
		j++
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
	}
	if j+2 < len(s) && (s[j] == 'e' || s[j] == 'E') && (s[j+1] == '+' || s[j+1] == '-') && s[j+2] >= '0' && s[j+2] <= '9' {
		j += 2
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
	}
	p.i = j
	return s[i:j]
}

// quoted lexes a quoted string at p.i and returns it unescaped with libs'
// unescape_str rules.
func (p *parser) quoted() string {
	q := p.s[p.i]
	st := p.i
	p.i++
	var b strings.Builder
	for {
		if p.i >= len(p.s) {
			p.i = st
			p.fail("unterminated quoted string")
		}
		c := p.s[p.i]
		if c == q {
			p.i++
			return b.String()
		}
		if c != '\\' {
			b.WriteByte(c)
			p.i++
			continue
		}
		if p.i+1 >= len(p.s) {
			p.i = st
			p.fail("unterminated quoted string")
		}
		e := p.s[p.i+1]
		switch {
		case e == 'b':
			b.WriteByte('\b')
		case e == 'f':
			b.WriteByte('\f')
		case e == 'n':
			b.WriteByte('\n')
		case e == 'r':
			b.WriteByte('\r')
		case e == 't':
			b.WriteByte('\t')
		case e == '\\':
			b.WriteByte('\\')
		case e == '/':
			b.WriteByte('/')
		case e == ' ':
			b.WriteString("\\ ")
		case e == q:
			b.WriteByte(q)
		case e == 'x':
			if p.i+3 >= len(p.s) {
				p.fail("invalid \\x escape")
			}
			v, err := strconv.ParseUint(p.s[p.i+2:p.i+4], 16, 8)
			if err != nil {
				p.fail("invalid \\x escape")
			}
			b.WriteByte(byte(v))
			p.i += 2
		default:
			p.fail("invalid escape sequence '\\%c'", e)
		}
		p.i += 2
	}
}
