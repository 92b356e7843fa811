package k8saudit

import (
	"testing"
	"time"
)

// BenchmarkSource measures the k8s_audit source on one core: decoding an
// EventList of the captured events and evaluating Falco's 48 k8s_audit
// rules on each (dedup included: every iteration is made new by moving
// the clock past the window). Run with -cpu 1; reports events/s.
func BenchmarkSource(b *testing.B) {
	var c collector
	s := newTestSource(b, &c)
	now := time.Unix(0, 0)
	s.opts.Now = func() time.Time { return now }
	lines := fixtureLines(b)
	body := eventList(lines)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		now = now.Add(time.Hour)
		if _, err := s.Process("bench", body); err != nil {
			b.Fatal(err)
		}
		c.alerts = c.alerts[:0]
	}
	b.ReportMetric(float64(b.N*len(lines))/b.Elapsed().Seconds(), "events/s")
}
