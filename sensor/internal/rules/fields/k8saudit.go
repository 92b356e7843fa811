package fields

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lookout-sec/lookout/sensor/internal/event"
	"github.com/valyala/fastjson"
)

// NewK8sAuditTable returns the field table of the k8s_audit source: the
// k8saudit plugin's ka.* fields, the json plugin's jevt.* and json.*
// fields, and the evt.* time fields, all extracted from ev.Audit. The
// semantics follow the plugin's: every ka.* field is a string (numbers,
// booleans and objects render as their JSON text), a missing key makes the
// field unavailable, and list fields yield one value per element.
func NewK8sAuditTable() *Table {
	t := &Table{defs: make(map[string]*def), Loc: time.Local}
	sys := NewTable()
	for _, n := range []string{"evt.num", "evt.time", "evt.time.s", "evt.time.iso8601", "evt.datetime", "evt.rawtime"} {
		t.defs[n] = sys.defs[n]
	}
	t.str("evt.source", "event source: always k8s_audit", func(_ *event.Event, dst []Value) []Value {
		return append(dst, sv("k8s_audit"))
	})
	t.addKA()
	t.addKAPod()
	t.addJSON()
	for n := range t.defs {
		t.names = append(t.names, n)
	}
	sort.Strings(t.names)
	return t
}

// doc returns the event's parsed JSON, or nil for a non-audit event.
func doc(ev *event.Event) *fastjson.Value {
	if ev.Audit == nil {
		return nil
	}
	return ev.Audit.JSON
}

// jsonString renders v as the plugin does: a string as is, anything else
// as its JSON text.
func jsonString(v *fastjson.Value) string {
	if v.Type() == fastjson.TypeString {
		return string(v.GetStringBytes())
	}
	return string(v.MarshalTo(nil))
}

// keyStr is a string field at a fixed path.
func keyStr(keys ...string) extractFn {
	return func(ev *event.Event, dst []Value) []Value {
		d := doc(ev)
		if d == nil {
			return dst
		}
		v := d.Get(keys...)
		if v == nil {
			return dst
		}
		return append(dst, sv(jsonString(v)))
	}
}

// keyList is a list field at a fixed path: one value per element of the
// array there (unavailable when it is not an array).
func keyList(keys ...string) extractFn {
	return func(ev *event.Event, dst []Value) []Value {
		d := doc(ev)
		if d == nil {
			return dst
		}
		v := d.Get(keys...)
		if v == nil || v.Type() != fastjson.TypeArray {
			return dst
		}
		for _, e := range v.GetArray() {
			dst = append(dst, sv(jsonString(e)))
		}
		return dst
	}
}

func (t *Table) kaStr(name, desc string, keys ...string) {
	t.add(&def{name: name, kind: KindString, desc: desc, ex: keyStr(keys...)})
}

func (t *Table) kaList(name, desc string, keys ...string) {
	t.add(&def{name: name, kind: KindString, desc: desc, multi: true, ex: keyList(keys...)})
}

// indexed declares a list field with an optional [N] index argument, as
// the plugin's: a numeric argument keeps only element N of the array the
// field iterates, anything else is ignored.
func (t *Table) indexed(name, desc string, ex func(index int) extractFn) {
	t.add(&def{name: name, kind: KindString, desc: desc, argDoc: "[N] optional", multi: true,
		build: func(arg string) (extractFn, bool, error) {
			idx := -1
			if n, err := strconv.Atoi(arg); err == nil {
				idx = n
			}
			return ex(idx), true, nil
		}})
}

// keyed declares a field that requires a [key] argument.
func (t *Table) keyed(name, desc string, ex func(arg string) extractFn) {
	t.add(&def{name: name, kind: KindString, desc: desc, argDoc: "[key]",
		build: func(arg string) (extractFn, bool, error) {
			if arg == "" {
				return nil, false, fmt.Errorf("requires a key argument")
			}
			return ex(arg), false, nil
		}})
}

// array returns the array at keys, or only its element index (index >= 0);
// ok is false when there is no array or no such element.
func array(d *fastjson.Value, index int, keys ...string) ([]*fastjson.Value, bool) {
	v := d.Get(keys...)
	if v == nil || v.Type() != fastjson.TypeArray {
		return nil, false
	}
	arr := v.GetArray()
	if index >= 0 {
		if index >= len(arr) {
			return nil, false
		}
		return arr[index : index+1], true
	}
	return arr, true
}

func (t *Table) addKA() {
	t.kaStr("ka.auditid", "the unique id of the audit event", "auditID")
	t.kaStr("ka.stage", "stage of the request (RequestReceived, ResponseComplete ...)", "stage")
	t.kaStr("ka.auth.decision", "the authorization decision (allow, forbid)", "annotations", "authorization.k8s.io/decision")
	t.kaStr("ka.auth.reason", "the authorization reason", "annotations", "authorization.k8s.io/reason")
	t.kaStr("ka.user.name", "the user name performing the request", "user", "username")
	t.kaList("ka.user.groups", "the groups to which the user belongs", "user", "groups")
	t.kaStr("ka.impuser.name", "the impersonated user name", "impersonatedUser", "username")
	t.kaStr("ka.verb", "the action being performed (get, create, delete ...)", "verb")
	t.kaStr("ka.uri", "the request URI as sent from client to server", "requestURI")
	t.keyed("ka.uri.param", "the first value of a query parameter of the URI (uri=/foo?key=val: ka.uri.param[key] is val)", func(arg string) extractFn {
		return func(ev *event.Event, dst []Value) []Value {
			d := doc(ev)
			if d == nil {
				return dst
			}
			v := d.Get("requestURI")
			if v == nil {
				return dst
			}
			u, err := url.Parse(jsonString(v))
			if err != nil {
				return dst
			}
			q, err := url.ParseQuery(u.RawQuery)
			if err != nil || len(q[arg]) == 0 {
				return dst
			}
			return append(dst, sv(q[arg][0]))
		}
	})
	t.kaStr("ka.target.name", "the target object name", "objectRef", "name")
	t.kaStr("ka.target.namespace", "the target object namespace", "objectRef", "namespace")
	t.kaStr("ka.target.resource", "the target object resource", "objectRef", "resource")
	t.kaStr("ka.target.subresource", "the target object subresource", "objectRef", "subresource")
	t.kaList("ka.req.binding.subjects", "for a (cluster) role binding, the subjects it binds (each as JSON)", "requestObject", "subjects")
	t.kaStr("ka.req.binding.role", "for a (cluster) role binding, the role it binds", "requestObject", "roleRef", "name")
	t.keyed("ka.req.binding.subject.has_name", "deprecated: always true, as the plugin", func(string) extractFn {
		return func(ev *event.Event, dst []Value) []Value {
			if doc(ev) == nil {
				return dst
			}
			return append(dst, sv("true"))
		}
	})
	t.kaStr("ka.req.configmap.name", "for a configmap, its name", "objectRef", "name")
	t.kaStr("ka.req.configmap.obj", "for a configmap, its data as JSON", "requestObject", "data")
	t.kaList("ka.req.role.rules", "for a (cluster) role, its rules (each as JSON)", "requestObject", "rules")
	for _, k := range []string{"apiGroups", "nonResourceURLs", "verbs", "resources"} {
		t.indexed("ka.req.role.rules."+k, "for a (cluster) role, the "+k+" of its rules", func(idx int) extractFn {
			return func(ev *event.Event, dst []Value) []Value {
				d := doc(ev)
				if d == nil {
					return dst
				}
				rules, ok := array(d, idx, "requestObject", "rules")
				if !ok {
					return dst
				}
				for _, r := range rules {
					if v := r.Get(k); v != nil && v.Type() == fastjson.TypeArray {
						for _, e := range v.GetArray() {
							if e != nil {
								dst = append(dst, sv(jsonString(e)))
							}
						}
					}
				}
				return dst
			}
		})
	}
	t.kaStr("ka.req.service.type", "for a service, its type", "requestObject", "spec", "type")
	t.indexed("ka.req.service.ports", "for a service, its ports (each as JSON)", func(idx int) extractFn {
		return func(ev *event.Event, dst []Value) []Value {
			d := doc(ev)
			if d == nil {
				return dst
			}
			ports, ok := array(d, idx, "requestObject", "spec", "ports")
			if !ok {
				return dst
			}
			for _, p := range ports {
				dst = append(dst, sv(jsonString(p)))
			}
			return dst
		}
	})
	t.kaStr("ka.resp.name", "the response object's name", "responseObject", "metadata", "name")
	t.kaStr("ka.response.code", "the response code (a string: 200, 403 ...)", "responseStatus", "code")
	t.kaStr("ka.response.reason", "the response reason (usually only for failures)", "responseStatus", "reason")
	t.kaStr("ka.useragent", "the user agent of the client", "userAgent")
	t.kaList("ka.sourceips", "the source IPs of the request (client and proxies)", "sourceIPs")
}

// addJSON adds the json plugin's fields (json.* and the legacy jevt.*).
func (t *Table) addJSON() {
	for _, p := range []string{"json", "jevt"} {
		t.add(&def{name: p + ".value", kind: KindString, argDoc: "[/json/pointer]",
			desc: "the value at a JSON pointer (RFC 6901) in the event, as a string (objects as JSON)",
			build: func(arg string) (extractFn, bool, error) {
				path, err := pointer(arg)
				if err != nil {
					return nil, false, err
				}
				return keyStr(path...), false, nil
			}})
		t.str(p+".obj", "the whole event as JSON", func(ev *event.Event, dst []Value) []Value {
			d := doc(ev)
			if d == nil {
				return dst
			}
			return append(dst, sv(string(d.MarshalTo(nil))))
		})
		t.typed(p+".rawtime", KindUint, "the event time in ns since the epoch", func(ev *event.Event, dst []Value) []Value {
			if ev.Audit == nil {
				return dst
			}
			return append(dst, uv(uint64(ev.TS)))
		})
	}
	t.defs["jevt.time"] = &def{name: "jevt.time", kind: KindAbsTime, desc: "the event time as local HH:MM:SS.nnnnnnnnn",
		ex: t.defs["evt.time"].ex, fmtv: t.defs["evt.time"].fmtv}
	t.defs["jevt.time.iso8601"] = &def{name: "jevt.time.iso8601", kind: KindAbsTime, desc: "the event time as ISO 8601 in UTC",
		ex: t.defs["evt.time.iso8601"].ex, fmtv: t.defs["evt.time.iso8601"].fmtv}
}

// pointer splits a JSON pointer into keys (~1 is /, ~0 is ~). fastjson's
// Get takes array indexes as decimal keys too.
func pointer(arg string) ([]string, error) {
	if !strings.HasPrefix(arg, "/") {
		return nil, fmt.Errorf("expected a JSON pointer starting with /, got %q", arg)
	}
	parts := strings.Split(arg[1:], "/")
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
	}
	return parts, nil
}
