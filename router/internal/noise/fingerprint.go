package noise

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"sort"
	"strings"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/match"
)

// DefaultFingerprintFields are the output fields that identify *what* did
// something, in the order they are tried. Only the ones an alert carries
// (not null) count. Volatile values — pid, time, uuid, container id,
// command lines, ports — are never part of a fingerprint; fd.name is
// normalised (see NormalizePath) and pod names become workloads.
var DefaultFingerprintFields = []string{
	"k8s.ns.name", "k8s.workload.name", "container.image.repository",
	"proc.exepath", "proc.pname", "fd.name", "user.name",
	// k8s_audit
	"ka.user.name", "ka.verb", "ka.target.resource", "ka.target.namespace", "ka.target.name",
}

// FingerprintRule overrides the fields for rules matching any of Rules
// (Falco globs).
type FingerprintRule struct {
	Rules  []string `mapstructure:"rules"`
	Fields []string `mapstructure:"fields"`
}

// Fingerprinter computes the stable identity of an alert.
type Fingerprinter struct {
	Rules []FingerprintRule
	cache *workloadCache // nil: no cache
}

// workloadCache remembers pod → workload (the patterns are regexps, and a
// pod's alerts come in runs); it is used under the stage's lock and
// forgets everything when it reaches workloadCacheSize.
type workloadCache struct{ m map[string]string }

const workloadCacheSize = 10_000

func (c *workloadCache) get(pod string) string {
	if c == nil {
		w, _ := Workload(pod)
		return w
	}
	if w, ok := c.m[pod]; ok {
		return w
	}
	if c.m == nil || len(c.m) >= workloadCacheSize {
		c.m = make(map[string]string, 256)
	}
	w, _ := Workload(pod)
	c.m[pod] = w
	return w
}

// Key is an alert's fingerprint: an id and the values it was computed from.
type Key struct {
	ID     string            // 16 hex digits
	Fields map[string]string // field → normalised value
}

// Of returns a's fingerprint: the rule, the source, and the identity fields
// (the rule's override, or DefaultFingerprintFields). A host alert (no
// namespace, no image) also carries the hostname; a pod's random suffix
// never does: a pod name becomes its workload.
func (f Fingerprinter) Of(a *api.Alert) Key {
	fields := DefaultFingerprintFields
	custom := false
	for _, r := range f.Rules {
		for _, g := range r.Rules {
			if match.GlobMatch(g, a.Rule) {
				fields, custom = r.Fields, true
				break
			}
		}
		if custom {
			break
		}
	}
	vals := map[string]string{}
	for _, k := range fields {
		if v, ok := f.fieldValue(a, k); ok {
			vals[k] = v
		}
	}
	if !custom {
		if _, ok := vals["k8s.workload.name"]; !ok {
			if pod := match.Value(a, "k8s.pod.name"); pod != "" {
				vals["k8s.workload.name"] = f.cache.get(pod)
			}
		}
		if _, ok := vals["proc.exepath"]; !ok {
			if n := match.Value(a, "proc.name"); n != "" {
				vals["proc.name"] = n
			}
		}
		if vals["k8s.ns.name"] == "" && vals["container.image.repository"] == "" && a.Hostname != "" {
			vals["hostname"] = a.Hostname
		}
	}
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	h.Write([]byte(a.Source))
	h.Write([]byte{0})
	h.Write([]byte(a.Rule))
	for _, k := range keys {
		h.Write([]byte{0})
		h.Write([]byte(k))
		h.Write([]byte{'='})
		h.Write([]byte(vals[k]))
	}
	sum := h.Sum(nil)
	return Key{ID: hex.EncodeToString(sum[:8]), Fields: vals}
}

func (f Fingerprinter) fieldValue(a *api.Alert, k string) (string, bool) {
	switch k {
	case "hostname", "source", "priority":
		v := match.Value(a, k)
		return v, v != ""
	}
	raw, ok := a.OutputFields[k]
	if !ok || raw == nil {
		return "", false
	}
	v := match.FieldString(raw)
	if v == "" || v == "<NA>" {
		return "", false
	}
	switch k {
	case "fd.name":
		// A connection tuple "cip:cport->sip:sport" is identified by its
		// server side; the client address and port change every time.
		if _, server, ok := strings.Cut(v, "->"); ok {
			v = "*->" + server
		} else {
			v = NormalizePath(v)
		}
	case "proc.exepath", "proc.cwd", "fs.path.name", "fs.path.target":
		v = NormalizePath(v)
	case "k8s.pod.name", "ka.target.name":
		v = f.cache.get(v)
	}
	return v, true
}

// NormalizePath replaces the volatile components of a path — temp-file
// names, hashes, pids — with "*", so /tmp/cc8Xk2aB.o and /tmp/ccQ91zLm.o
// (or /proc/4211/environ and /proc/17/environ) are the same finding.
func NormalizePath(p string) string {
	if !strings.Contains(p, "/") {
		if volatile(p) {
			return "*"
		}
		return p
	}
	parts := strings.Split(p, "/")
	for i, c := range parts {
		if volatile(c) {
			parts[i] = "*"
		}
	}
	return strings.Join(parts, "/")
}

func volatile(c string) bool {
	if c == "" {
		return false
	}
	if strings.HasPrefix(c, "tmp.") || strings.HasPrefix(c, "tmp") && len(c) > 6 && digits(c) > 0 {
		return true
	}
	d := digits(c)
	switch {
	case d == len(c) && d >= 2: // pids, inode numbers
		return true
	case len(c) >= 8 && isHex(c) && d >= 2: // hashes
		return true
	case len(c) == 2 && isHex(c) && d >= 1: // hash fan-out directories ("3f")
		return true
	}
	// mkstemp-style names: an alphanumeric run of 6+ mixing letters and
	// digits, before any extension ("cc8Xk2aB.o"); names with separators
	// ("x86_64-linux-gnu") are words, not random.
	base, _, _ := strings.Cut(c, ".")
	if len(base) >= 6 && digits(base) >= 2 && letters(base) >= 2 && digits(base)+letters(base) == len(base) {
		return true
	}
	return false
}

func digits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	return n
}

func letters(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c >= 'a' && c <= 'z' {
			n++
		}
	}
	return n
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// Kubernetes' random suffixes use this alphabet (k8s.io/apimachinery
// rand.String: no vowels, no 0, 1 or 3), so they can be told from names.
const k8sAlphabet = "bcdfghjklmnpqrstvwxz2456789"

var (
	deploymentPod  = regexp.MustCompile(`^(.+)-[` + k8sAlphabet + `]{6,10}-[` + k8sAlphabet + `]{5}$`)
	daemonOrJobPod = regexp.MustCompile(`^(.+)-[` + k8sAlphabet + `]{5}$`)
	statefulPod    = regexp.MustCompile(`^(.+)-[0-9]+$`)
	cronJobPod     = regexp.MustCompile(`^(.+)-[0-9]{8,}-[` + k8sAlphabet + `]{5}$`)
)

// Workload derives a stable workload name from a pod name, the way the
// controllers name pods: a Deployment's "app-7d9f8b6c4-xk2lp" (ReplicaSet
// hash and random suffix), a CronJob's "job-28391040-x8k2p", a DaemonSet's
// or Job's "agent-x8k2p", a StatefulSet's "db-0". ok is false when the name
// follows none of these patterns (it is returned unchanged).
func Workload(pod string) (string, bool) {
	for _, re := range []*regexp.Regexp{cronJobPod, deploymentPod, daemonOrJobPod, statefulPod} {
		if m := re.FindStringSubmatch(pod); m != nil {
			return m[1], true
		}
	}
	return pod, false
}
