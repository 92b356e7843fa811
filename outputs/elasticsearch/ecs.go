package elasticsearch

import (
	"strings"
	"time"

	"github.com/lookout-sec/lookout/router/api"
)

// ecsFields maps Falco output fields onto Elastic Common Schema fields
// (document: ecs). Fields not listed stay under falco.output_fields only.
var ecsFields = map[string]string{
	"proc.name":                  "process.name",
	"proc.pid":                   "process.pid",
	"proc.cmdline":               "process.command_line",
	"proc.exepath":               "process.executable",
	"proc.cwd":                   "process.working_directory",
	"proc.pname":                 "process.parent.name",
	"proc.ppid":                  "process.parent.pid",
	"proc.pcmdline":              "process.parent.command_line",
	"user.name":                  "user.name",
	"user.uid":                   "user.id",
	"group.gid":                  "group.id",
	"group.name":                 "group.name",
	"fd.name":                    "file.path",
	"fd.sip":                     "destination.ip",
	"fd.sport":                   "destination.port",
	"fd.cip":                     "source.ip",
	"fd.cport":                   "source.port",
	"container.id":               "container.id",
	"container.name":             "container.name",
	"container.image.repository": "container.image.name",
	"container.image.tag":        "container.image.tag",
	"k8s.ns.name":                "orchestrator.namespace",
	"k8s.pod.name":               "orchestrator.resource.name",
	"evt.type":                   "event.action",
}

// ecsSeverity is event.severity: Falco's priorities numbered like syslog
// severities (emergency 0 … debug 7).
func ecsSeverity(p api.Priority) int { return int(p - api.PriorityEmergency) }

// ecsDocument maps a onto ECS: @timestamp, message, event.*, rule.name,
// host.name, tags and the fields of ecsFields, with the whole alert kept
// under falco.* (falco.time keeps the nanoseconds).
func ecsDocument(a *api.Alert, fields map[string]any) map[string]any {
	ts := a.Time.UTC().Format(time.RFC3339Nano)
	d := map[string]any{
		"@timestamp": ts,
		"message":    a.Output,
		"ecs":        map[string]any{"version": "8.11.0"},
		"event": map[string]any{
			"kind": "alert", "module": "falco", "dataset": "falco.alerts", "provider": a.Source,
			"severity": ecsSeverity(a.Priority), "created": ts,
		},
		"rule": map[string]any{"name": a.Rule},
		"host": map[string]any{"name": a.Hostname, "hostname": a.Hostname},
		"falco": map[string]any{
			"priority": a.Priority.String(), "rule": a.Rule, "source": a.Source,
			"time": ts, "output_fields": fields, "hostname": a.Hostname,
		},
	}
	if a.UUID != "" {
		d["event"].(map[string]any)["id"] = a.UUID
		d["falco"].(map[string]any)["uuid"] = a.UUID
	}
	if len(a.Tags) > 0 {
		d["tags"] = a.Tags
	}
	for k, v := range a.OutputFields {
		if e, ok := ecsFields[k]; ok && v != nil {
			setPath(d, e, v)
		}
	}
	return d
}

// setPath sets a dotted path in nested maps, creating the maps on the way.
func setPath(d map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	m := d
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
}
