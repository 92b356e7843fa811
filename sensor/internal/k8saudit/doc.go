// Package k8saudit is the sensor's k8s_audit event source: Kubernetes API
// server audit events (audit.k8s.io/v1) received from the API server's
// audit webhook backend (an EventList per POST) or read from its audit log
// file (one Event per line, followed across rotation), decoded with
// fastjson, deduplicated by auditID and stage within a window (the API
// server retries a batch it could not deliver), and evaluated by the rule
// engine's k8s_audit rules (Falco's k8s_audit_rules.yaml).
//
// Handlers may run concurrently; evaluation is serialized by the Source,
// so the engine sees one k8s_audit event at a time.
package k8saudit
