// Package glob is Falco's glob: fnmatch(3) without FNM_PATHNAME, so '*'
// crosses '/', '?' is one byte and [...] a class ([!...] or [^...]
// negated), with a backslash escaping the next byte. The sensor's rule
// engine (the glob and iglob operators, container.mount.*[PATTERN]) and the
// router's matchers (filters, silences) share it, so a pattern means the
// same on both sides.
package glob

// Match is fnmatch(pattern, s, 0), or with FNM_CASEFOLD (ASCII) when fold.
func Match(pat, s string, fold bool) bool {
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

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 32
	}
	return c
}
