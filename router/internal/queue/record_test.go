package queue

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/lookout-sec/lookout/router/api"
)

func TestNewRecordMatchesMarshal(t *testing.T) {
	for _, a := range []*api.Alert{alert(0), alert(12345), {Rule: `quo"te\`, Priority: api.PriorityDebug, OutputFields: map[string]any{"x": nil}}} {
		aj, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		var got, want record
		if err := json.Unmarshal(newRecord(aj, 1795428000000000123), &got); err != nil {
			t.Fatalf("newRecord is not JSON: %v", err)
		}
		b, _ := json.Marshal(record{Alert: aj, Queued: 1795428000000000123})
		_ = json.Unmarshal(b, &want)
		if string(got.Alert) != string(want.Alert) || got.Queued != want.Queued {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	}
}

// BenchmarkEnqueue measures durable single-alert enqueues from parallel
// callers (group commit shares fsyncs among them).
func BenchmarkEnqueue(b *testing.B) {
	s, err := Open(Options{Dir: b.TempDir(), Outputs: []OutputOptions{{Name: "a"}}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.Enqueue(context.Background(), map[string][]*api.Alert{"a": {alert(1)}}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
