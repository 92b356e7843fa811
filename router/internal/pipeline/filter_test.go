package pipeline

import (
	"testing"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/config"
)

func TestFilterAllow(t *testing.T) {
	a := &api.Alert{Rule: "Terminal shell in container", Priority: api.PriorityNotice, Source: "syscall", Tags: []string{"container", "shell"}}
	cases := []struct {
		name string
		f    Filter
		want bool
	}{
		{"debug min", Filter{MinPriority: api.PriorityDebug}, true},
		{"notice min", Filter{MinPriority: api.PriorityNotice}, true},
		{"warning min", Filter{MinPriority: api.PriorityWarning}, false},
		{"rule include", Filter{MinPriority: api.PriorityDebug, Rules: config.Match{Include: []string{"Terminal*"}}}, true},
		{"rule include miss", Filter{MinPriority: api.PriorityDebug, Rules: config.Match{Include: []string{"Write*"}}}, false},
		{"rule exclude wins", Filter{MinPriority: api.PriorityDebug, Rules: config.Match{Include: []string{"*"}, Exclude: []string{"*shell*"}}}, false},
		{"tag include any", Filter{MinPriority: api.PriorityDebug, Tags: config.Match{Include: []string{"shell"}}}, true},
		{"tag exclude any", Filter{MinPriority: api.PriorityDebug, Tags: config.Match{Exclude: []string{"container"}}}, false},
		{"source exclude", Filter{MinPriority: api.PriorityDebug, Sources: config.Match{Exclude: []string{"sys*"}}}, false},
	}
	for _, c := range cases {
		if got := c.f.Allow(a); got != c.want {
			t.Errorf("%s: Allow = %v, want %v", c.name, got, c.want)
		}
	}
}
