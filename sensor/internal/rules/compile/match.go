package compile

import (
	"bytes"
	"path"
	"strings"

	"github.com/lookout-sec/lookout/sensor/internal/rules/fields"
)

func eq(a fields.Value, l *lit) bool {
	if l.isPfx {
		return l.pfx.Contains(a.Addr.Unmap())
	}
	switch a.Kind {
	case fields.KindString:
		return a.Str == l.v.Str
	case fields.KindInt, fields.KindRelTime, fields.KindAbsTime:
		return a.Int == l.v.Int
	case fields.KindUint, fields.KindPort:
		return a.Uint == l.v.Uint
	case fields.KindBool:
		return a.Bool == l.v.Bool
	case fields.KindIPAddr, fields.KindIPNet:
		return a.Addr.Unmap() == l.v.Addr.Unmap()
	case fields.KindBytes:
		return bytes.Equal(a.Bytes, l.v.Bytes)
	}
	return false
}

func order(a fields.Value, l *lit) int {
	switch a.Kind {
	case fields.KindString:
		return strings.Compare(a.Str, l.v.Str)
	case fields.KindInt, fields.KindRelTime, fields.KindAbsTime:
		return cmp3(a.Int < l.v.Int, a.Int > l.v.Int)
	case fields.KindUint, fields.KindPort:
		return cmp3(a.Uint < l.v.Uint, a.Uint > l.v.Uint)
	}
	return 0
}

func cmp3(lt, gt bool) int {
	if lt {
		return -1
	}
	if gt {
		return 1
	}
	return 0
}

// opCode is an operator resolved at compile time, so evaluation does not
// compare operator strings.
type opCode uint8

const (
	opNone opCode = iota
	opEq
	opNe
	opLt
	opLe
	opGt
	opGe
	opContains
	opBcontains
	opBstartswith
	opIcontains
	opStartswith
	opEndswith
	opGlob
	opIglob
	opRegex
	opPmatch
)

var opCodes = map[string]opCode{"=": opEq, "==": opEq, "!=": opNe, "<": opLt, "<=": opLe, ">": opGt, ">=": opGe,
	"contains": opContains, "bcontains": opBcontains, "bstartswith": opBstartswith, "icontains": opIcontains,
	"startswith": opStartswith, "endswith": opEndswith, "glob": opGlob, "iglob": opIglob, "regex": opRegex,
	"pmatch": opPmatch, "in": opEq, "intersects": opEq}

// opOf returns the scalar operation of op ("in" and "intersects" compare
// each element with =).
func opOf(op string) opCode { return opCodes[op] }

// match applies a scalar operator to one value.
func match(op opCode, a fields.Value, l *lit) bool {
	switch op {
	case opEq:
		return eq(a, l)
	case opNe:
		return !eq(a, l)
	case opLt:
		return order(a, l) < 0
	case opLe:
		return order(a, l) <= 0
	case opGt:
		return order(a, l) > 0
	case opGe:
		return order(a, l) >= 0
	case opContains:
		if a.Kind == fields.KindBytes {
			return bytes.Contains(a.Bytes, l.v.Bytes)
		}
		return strings.Contains(a.Str, l.v.Str)
	case opBcontains:
		return bytes.Contains(a.Bytes, l.v.Bytes)
	case opBstartswith:
		return bytes.HasPrefix(a.Bytes, l.v.Bytes)
	case opIcontains:
		return containsFold(a.Str, l.v.Str)
	case opStartswith:
		if a.Kind == fields.KindBytes {
			return bytes.HasPrefix(a.Bytes, l.v.Bytes)
		}
		return strings.HasPrefix(a.Str, l.v.Str)
	case opEndswith:
		if a.Kind == fields.KindBytes {
			return bytes.HasSuffix(a.Bytes, l.v.Bytes)
		}
		return strings.HasSuffix(a.Str, l.v.Str)
	case opGlob:
		return Glob(l.v.Str, a.Str, false)
	case opIglob:
		return Glob(l.v.Str, a.Str, true)
	case opRegex:
		return l.re.MatchString(a.Str)
	case opPmatch:
		return pmatch(l.v.Str, a.Str)
	}
	return false
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 32
	}
	return c
}

// containsFold is strcasestr on ASCII; needle is already lower case.
func containsFold(s, needle string) bool {
	n := len(needle)
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for j < n && lowerASCII(s[i+j]) == needle[j] {
			j++
		}
		if j == n {
			return true
		}
	}
	return false
}

// Glob is fnmatch(pattern, s, 0) (FNM_CASEFOLD when fold): '*' crosses '/'.
func Glob(pat, s string, fold bool) bool {
	px, sx := 0, 0
	nextPx, nextSx := -1, -1
	for px < len(pat) || sx < len(s) {
		if px < len(pat) {
			switch c := pat[px]; c {
			case '*':
				nextPx, nextSx = px, sx+1
				px++
				continue
			case '?':
				if sx < len(s) {
					px++
					sx++
					continue
				}
			case '[':
				if sx < len(s) {
					if ok, w := class(pat[px:], s[sx], fold); w > 0 {
						if ok {
							px += w
							sx++
							continue
						}
						break
					}
				}
				fallthrough
			default:
				if c == '\\' && px+1 < len(pat) {
					c = pat[px+1]
					if sx < len(s) && eqc(c, s[sx], fold) {
						px += 2
						sx++
						continue
					}
					break
				}
				if sx < len(s) && eqc(c, s[sx], fold) {
					px++
					sx++
					continue
				}
			}
		}
		if nextSx > 0 && nextSx <= len(s) {
			px, sx = nextPx, nextSx
			continue
		}
		return false
	}
	return true
}

func eqc(a, b byte, fold bool) bool {
	if fold {
		return lowerASCII(a) == lowerASCII(b)
	}
	return a == b
}

// class matches a bracket expression at the start of p; w is its width,
// 0 if p does not hold a complete one (then '[' is literal).
func class(p string, c byte, fold bool) (bool, int) {
	i := 1
	neg := false
	if i < len(p) && (p[i] == '!' || p[i] == '^') {
		neg = true
		i++
	}
	ok := false
	first := true
	for i < len(p) && (first || p[i] != ']') {
		first = false
		lo := p[i]
		hi := lo
		if i+2 < len(p) && p[i+1] == '-' && p[i+2] != ']' {
			hi = p[i+2]
			i += 2
		}
		i++
		if fold {
			lc := lowerASCII(c)
			if lowerASCII(lo) <= lc && lc <= lowerASCII(hi) {
				ok = true
			}
		} else if lo <= c && c <= hi {
			ok = true
		}
	}
	if i >= len(p) {
		return false, 0
	}
	return ok != neg, i + 1
}

// pmatch is Falco's path prefix match on whole components; components of
// the pattern may be globs that do not cross '/'.
func pmatch(prefix, s string) bool {
	prefix = strings.TrimRight(prefix, "/")
	if prefix == "" {
		return strings.HasPrefix(s, "/")
	}
	if !strings.ContainsAny(prefix, "*?[") {
		return s == prefix || strings.HasPrefix(s, prefix) && len(s) > len(prefix) && s[len(prefix)] == '/'
	}
	pc := strings.Split(prefix, "/")
	sc := strings.Split(s, "/")
	if len(sc) < len(pc) {
		return false
	}
	for i := range pc {
		if ok, _ := path.Match(pc[i], sc[i]); !ok {
			return false
		}
	}
	return true
}
