package state

import "path"

// atFDCWD is AT_FDCWD as the kernel passes it (and Falco reports it).
const atFDCWD = -100

// resolvePath turns name into the absolute, cleaned path Falco shows as
// fd.name: absolute names are cleaned ("/etc/../etc/shadow" becomes
// "/etc/shadow"), relative names are joined to base (the dirfd's directory
// or the cwd). An empty base leaves a relative name relative but cleaned.
func resolvePath(base, name string) string {
	if name == "" {
		return ""
	}
	if name[0] == '/' {
		return cleanAbs(name)
	}
	if base == "" {
		return path.Clean(name)
	}
	return cleanAbs(base + "/" + name)
}

// cleanAbs cleans an absolute path without allocating when it is already
// clean, which is the common case.
func cleanAbs(p string) string {
	if isClean(p) {
		return p
	}
	return path.Clean(p)
}

func isClean(p string) bool {
	if len(p) > 1 && p[len(p)-1] == '/' {
		return false
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
