package fields

// Glob is fnmatch(pattern, s, 0) (FNM_CASEFOLD when fold): '*' crosses '/'.
// The rule engine's glob operator and the container.mount.*[PATTERN]
// fields use it.
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
		return lowerByte(a) == lowerByte(b)
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
			lc := lowerByte(c)
			if lowerByte(lo) <= lc && lc <= lowerByte(hi) {
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

func lowerByte(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 32
	}
	return c
}
