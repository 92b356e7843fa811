package pipeline

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/metrics"
	"github.com/lookout-sec/lookout/router/internal/noise"
	"github.com/lookout-sec/lookout/router/internal/queue"
)

// BenchmarkIngest is the CPU cost of ingest (filter, noise stage, encode
// and store) per alert on the in-memory store, with the noise stage off and
// on (three outputs, notify: all, so each gets every alert either way: the
// difference is the stage and its annotation), without fsync noise.
// Durable intake adds the commit on top.
func BenchmarkIngest(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("noise=%v", on), func(b *testing.B) {
			names := []string{"slack", "pagerduty", "es"}
			var routes []Route
			var qo []queue.OutputOptions
			for _, n := range names {
				routes = append(routes, Route{Name: n, Filter: Filter{MinPriority: api.PriorityDebug}})
				qo = append(qo, queue.OutputOptions{Name: n})
			}
			st, err := queue.Open(queue.Options{Outputs: qo})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			var stage *noise.Stage
			if on {
				stage, err = noise.New(noise.Config{Policies: []noise.Policy{{Name: "slack"}, {Name: "pagerduty"}, {Name: "es", Record: true}}}, nil, noise.Options{})
				if err != nil {
					b.Fatal(err)
				}
			}
			f := NewFanout(routes, st, metrics.New(prometheus.NewRegistry()), stage)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				a := &api.Alert{
					Rule: "Terminal shell in container", Priority: api.PriorityNotice, Source: "syscall", Hostname: "node-1",
					Output: "A shell was spawned in a container with an attached terminal (user=root shell=bash)", Tags: []string{"container", "shell", "mitre_execution"},
					Time: time.Unix(1700000000, 0), UUID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
					OutputFields: map[string]any{"k8s.ns.name": fmt.Sprintf("ns-%d", i%50), "k8s.pod.name": "web-7d9f8b6c4-xk2lp", "proc.exepath": "/bin/bash", "proc.cmdline": "bash", "container.id": "ee97d9c4186f"},
				}
				if err := f.Ingest(b.Context(), []*api.Alert{a}, false); err != nil {
					b.Fatal(err)
				}
				if i%1024 == 1023 { // keep the in-memory queues small
					for _, n := range names {
						if st.Stats(n).Len == 0 {
							continue
						}
						items, _ := st.Lease(b.Context(), n, 4096)
						_ = st.Ack(n, items...)
					}
				}
			}
		})
	}
}
