package noise_test

import (
	"fmt"
	"testing"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/noise"
)

// BenchmarkDecide is the noise stage's CPU cost per alert and output set
// (slack notify: new, pagerduty notify: new, es record), over 500
// findings, without the commit (which the queue's group commit pays once
// per batch anyway).
func BenchmarkDecide(b *testing.B) {
	st, err := noise.New(noise.Config{Policies: policies()}, nil, noise.Options{})
	if err != nil {
		b.Fatal(err)
	}
	alerts := make([]*api.Alert, 500)
	for i := range alerts {
		alerts[i] = shell(fmt.Sprintf("ns-%d", i%50), fmt.Sprintf("web%d-7d9f8b6c4-xk2lp", i%10))
	}
	uuids := make([]string, 1<<16)
	for i := range uuids {
		uuids[i] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		a := alerts[i%len(alerts)]
		a.UUID = uuids[i%len(uuids)] // a new alert of a known finding
		out, ch := st.Decide(map[string][]*api.Alert{"slack": {a}, "pagerduty": {a}, "es": {a}})
		_, _ = out, ch
	}
}
