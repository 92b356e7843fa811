package event

import "github.com/valyala/fastjson"

// K8sAudit is one Kubernetes audit event (an audit.k8s.io/v1 Event), the
// k8s_audit source's payload. JSON is the parsed event; it belongs to the
// parser that produced it and is valid only while the event is handled.
type K8sAudit struct {
	JSON *fastjson.Value
}
