package state

import (
	"path"
	"strings"
)

// atFDCWD is AT_FDCWD as the kernel passes it (and Falco reports it).
const atFDCWD = -100

// maxInterned bounds the resolved-name intern table; it is cleared when
// full (a cache, so forgetting is only a cost).
const maxInterned = 8192

// resolvePath turns name into the absolute, cleaned path Falco shows as
// fd.name: absolute names are cleaned ("/etc/../etc/shadow" becomes
// "/etc/shadow"), relative names are joined to base (the dirfd's directory
// or the cwd) and cleaned, ".." stopping at "/". An empty or non-absolute
// base (a dirfd that is not a directory) leaves the result relative.
func resolvePath(base, name string) string {
	if name == "" {
		return ""
	}
	if name[0] == '/' && isClean(name) {
		return name
	}
	if name[0] != '/' && (base == "" || base[0] != '/') {
		return relJoin(base, name)
	}
	var buf [256]byte
	return string(appendResolved(buf[:0], base, name))
}

// resolve is resolvePath with the result interned: a process opening the
// same relative name again gets the same string without allocating.
func (t *Tables) resolve(base, name string) string {
	if name == "" {
		return ""
	}
	if name[0] == '/' && isClean(name) {
		return name
	}
	if name[0] != '/' && (base == "" || base[0] != '/') {
		return relJoin(base, name)
	}
	t.pathBuf = appendResolved(t.pathBuf[:0], base, name)
	if s, ok := t.names[string(t.pathBuf)]; ok {
		return s
	}
	if t.names == nil || len(t.names) >= maxInterned {
		t.names = make(map[string]string, 256)
	}
	s := string(t.pathBuf)
	t.names[s] = s
	return s
}

// relJoin handles the rare relative results: no base, or a base that is not
// an absolute directory.
func relJoin(base, name string) string {
	if base == "" {
		return path.Clean(name)
	}
	return path.Clean(base + "/" + name)
}

// appendResolved appends the clean absolute path of name (joined to the
// absolute base when name is relative) to dst. It is path.Clean for
// absolute paths, without the intermediate strings.
func appendResolved(dst []byte, base, name string) []byte {
	start := len(dst)
	if name[0] != '/' {
		dst = appendSegments(dst, start, base)
	}
	dst = appendSegments(dst, start, name)
	if len(dst) == start {
		dst = append(dst, '/')
	}
	return dst
}

// appendSegments appends the segments of p to dst[start:] ("/a/b", no
// trailing slash, empty for the root), dropping "." and empty segments and
// letting ".." remove the last segment.
func appendSegments(dst []byte, start int, p string) []byte {
	for i := 0; i < len(p); {
		for i < len(p) && p[i] == '/' {
			i++
		}
		j := i
		for j < len(p) && p[j] != '/' {
			j++
		}
		seg := p[i:j]
		i = j
		switch seg {
		case "", ".":
		case "..":
			k := len(dst) - 1
			for k >= start && dst[k] != '/' {
				k--
			}
			if k < start {
				k = start
			}
			dst = dst[:k]
		default:
			dst = append(dst, '/')
			dst = append(dst, seg...)
		}
	}
	return dst
}

// isClean reports whether p is already in path.Clean's form: no empty,
// "." or ".." segment and no trailing slash.
func isClean(p string) bool {
	if len(p) > 1 && p[len(p)-1] == '/' {
		return false
	}
	// Every unclean path has "//" or "/." in it: two vectorized searches
	// settle most paths (the byte loop below was 4 % of the sensor's time
	// on an open-heavy load).
	if !strings.Contains(p, "//") && !strings.Contains(p, "/.") {
		return true
	}
	for i := 0; i < len(p); i++ {
		if p[i] != '/' {
			continue
		}
		rest := p[i+1:]
		if len(rest) > 0 && rest[0] == '/' {
			return false
		}
		if rest == "." || rest == ".." || hasPrefixSeg(rest, ".") || hasPrefixSeg(rest, "..") {
			return false
		}
	}
	return true
}

func hasPrefixSeg(s, seg string) bool {
	return len(s) > len(seg) && s[:len(seg)] == seg && s[len(seg)] == '/'
}

// cwdString renders a directory with the trailing slash Falco uses for
// proc.cwd.
func cwdString(dir string) string {
	if dir == "" || dir[len(dir)-1] == '/' {
		return dir
	}
	return dir + "/"
}
