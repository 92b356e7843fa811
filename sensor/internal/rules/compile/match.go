package compile

import (
	"bytes"
	"path"
	"strings"

	"github.com/lookout-sec/lookout/router/api/glob"
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
		return glob.Match(l.v.Str, a.Str, false)
	case opIglob:
		return glob.Match(l.v.Str, a.Str, true)
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
