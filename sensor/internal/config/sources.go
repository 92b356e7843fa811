package config

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cast"
)

// Sources are the event sources the sensor reads (the sources: block).
type Sources struct {
	// Syscall is the eBPF probe; default on. A cluster-level Deployment
	// that only receives audit events turns it off.
	Syscall bool
	// K8sAudit receives Kubernetes audit events; on when Listen or
	// LogFile is set.
	K8sAudit K8sAuditSource
}

// K8sAuditSource configures the k8s_audit source.
type K8sAuditSource struct {
	// Listen is the webhook's address (":9765"); "" disables the webhook.
	Listen string
	// Path is the webhook's URL path; default /k8s-audit.
	Path string
	// TLS serves the webhook over TLS (recommended; the API server's
	// webhook kubeconfig names the CA).
	TLS TLSFiles
	// LogFile is an audit log file to follow (--audit-log-path); "" none.
	LogFile string
	// LogFromStart reads LogFile from its beginning instead of its end.
	LogFromStart bool
	// MaxBodyBytes bounds one webhook body and one log line.
	MaxBodyBytes int64
	// DedupWindow is how long an (auditID, stage) is remembered to drop
	// the API server's retries.
	DedupWindow time.Duration
}

// TLSFiles are PEM files.
type TLSFiles struct {
	CertFile     string
	KeyFile      string
	ClientCAFile string // require client certificates signed by it
}

// Enabled reports whether the k8s_audit source has a receiver.
func (k K8sAuditSource) Enabled() bool { return k.Listen != "" || k.LogFile != "" }

// Names lists the enabled sources, as the rule engine names them.
func (s Sources) Names() []string {
	var out []string
	if s.Syscall {
		out = append(out, "syscall")
	}
	if s.K8sAudit.Enabled() {
		out = append(out, "k8s_audit")
	}
	return out
}

func defaultSources() Sources {
	return Sources{Syscall: true, K8sAudit: K8sAuditSource{Path: "/k8s-audit", MaxBodyBytes: 64 << 20, DedupWindow: 10 * time.Minute}}
}

var sourceKeys = []keySpec{
	{"sources.syscall.enabled", boolean(func(c *Config) *bool { return &c.Sources.Syscall })},
	{"sources.k8s_audit.listen", str(func(c *Config) *string { return &c.Sources.K8sAudit.Listen })},
	{"sources.k8s_audit.path", str(func(c *Config) *string { return &c.Sources.K8sAudit.Path })},
	{"sources.k8s_audit.tls.cert_file", str(func(c *Config) *string { return &c.Sources.K8sAudit.TLS.CertFile })},
	{"sources.k8s_audit.tls.key_file", str(func(c *Config) *string { return &c.Sources.K8sAudit.TLS.KeyFile })},
	{"sources.k8s_audit.tls.client_ca_file", str(func(c *Config) *string { return &c.Sources.K8sAudit.TLS.ClientCAFile })},
	{"sources.k8s_audit.log_file", str(func(c *Config) *string { return &c.Sources.K8sAudit.LogFile })},
	{"sources.k8s_audit.log_from_start", boolean(func(c *Config) *bool { return &c.Sources.K8sAudit.LogFromStart })},
	{"sources.k8s_audit.max_body_bytes", func(c *Config, v any) error {
		n, err := cast.ToInt64E(v)
		if err != nil {
			return fmt.Errorf("expected an integer number of bytes, got %q", fmt.Sprint(v))
		}
		c.Sources.K8sAudit.MaxBodyBytes = n
		return nil
	}},
	{"sources.k8s_audit.dedup_window", duration(func(c *Config) *time.Duration { return &c.Sources.K8sAudit.DedupWindow })},
}

// allKeys is every configuration key: the general ones and the sources.
func allKeys() []keySpec { return append(slices.Clone(keys), sourceKeys...) }

// validateSources checks the sources: block.
func (c *Config) validateSources(bad func(key, format string, a ...any)) {
	s := c.Sources
	if !s.Syscall && !s.K8sAudit.Enabled() {
		bad("sources", "no source enabled: sources.syscall.enabled is false and sources.k8s_audit has neither listen nor log_file")
	}
	k := s.K8sAudit
	if k.Listen != "" {
		if _, _, err := net.SplitHostPort(k.Listen); err != nil {
			bad("sources.k8s_audit.listen", "must be host:port (\":9765\"), got %q", k.Listen)
		}
	}
	if !strings.HasPrefix(k.Path, "/") {
		bad("sources.k8s_audit.path", "must start with /, got %q", k.Path)
	}
	if (k.TLS.CertFile == "") != (k.TLS.KeyFile == "") {
		bad("sources.k8s_audit.tls", "cert_file and key_file go together (got cert_file %q, key_file %q)", k.TLS.CertFile, k.TLS.KeyFile)
	}
	if k.TLS.ClientCAFile != "" && k.TLS.CertFile == "" {
		bad("sources.k8s_audit.tls.client_ca_file", "needs cert_file and key_file")
	}
	if k.MaxBodyBytes < 1<<20 {
		bad("sources.k8s_audit.max_body_bytes", "must be at least 1048576, got %d", k.MaxBodyBytes)
	}
	if k.DedupWindow <= 0 {
		bad("sources.k8s_audit.dedup_window", "must be a positive duration, got %s", k.DedupWindow)
	}
}
