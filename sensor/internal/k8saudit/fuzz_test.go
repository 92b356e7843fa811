package k8saudit

import (
	"testing"

	"github.com/valyala/fastjson"
)

// FuzzDecode feeds arbitrary bodies to the decoder: it must never panic,
// and whatever it accepts must be events with a string auditID and stage
// that the k8s_audit rules can evaluate.
func FuzzDecode(f *testing.F) {
	lines := fixtureLines(f)
	f.Add(eventList(lines[:3]))
	f.Add(lines[0])
	f.Add([]byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":null}`))
	f.Add([]byte(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","stage":"ResponseComplete","requestObject":{"spec":{"containers":[{}],"volumes":[1]}}}`))
	var c collector
	s := newTestSource(f, &c)
	f.Fuzz(func(t *testing.T, data []byte) {
		var p fastjson.Parser
		_, err := Decode(&p, data, func(v *fastjson.Value) {
			if len(v.GetStringBytes("auditID")) == 0 || len(v.GetStringBytes("stage")) == 0 {
				t.Fatalf("accepted an event without auditID or stage: %s", v)
			}
		})
		if err != nil {
			if _, ok := err.(*DecodeError); !ok {
				t.Fatalf("error %T is not a *DecodeError", err)
			}
			return
		}
		// Every field of every rule on the accepted events.
		_, _ = s.Process("fuzz", data)
	})
}
