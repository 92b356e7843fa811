package ruleset

import _ "embed"

// K8sAuditName is the name the embedded k8s audit rules file is reported
// under.
const K8sAuditName = "k8s_audit_rules.yaml"

// K8sAudit is the content of Falco's upstream Kubernetes audit rules file
// (falcosecurity/plugins, plugins/k8saudit/rules/, Apache-2.0, copied
// unmodified; see NOTICE.md): every rule has source k8s_audit. The sensor
// loads it when its k8s_audit source is enabled and the default rules are.
//
//go:embed k8s_audit_rules.yaml
var K8sAudit []byte
