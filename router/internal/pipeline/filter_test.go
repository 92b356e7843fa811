package pipeline

import (
	"testing"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/config"
	"github.com/lookout-sec/lookout/router/internal/match"
)

// The issue that started it: exclude ["Execution*"] let "Execution from
// /dev/shm" through, because path.Match's '*' stops at '/'.
func TestFilterGlobCrossesSlash(t *testing.T) {
	a := &api.Alert{Rule: "Execution from /dev/shm", Priority: api.PriorityWarning}
	f := Filter{MinPriority: api.PriorityDebug, Rules: config.Match{Exclude: []string{"Execution*"}}}
	if f.Allow(a) {
		t.Fatal(`exclude ["Execution*"] let "Execution from /dev/shm" through`)
	}
}

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
		{"field include", Filter{MinPriority: api.PriorityDebug, Fields: config.FieldMatch{Include: []match.All{{match.MustParse("k8s.ns.name glob dev-*")}}}}, true},
		{"field include miss", Filter{MinPriority: api.PriorityDebug, Fields: config.FieldMatch{Include: []match.All{{match.MustParse("k8s.ns.name = prod")}}}}, false},
		{"field include any entry", Filter{MinPriority: api.PriorityDebug, Fields: config.FieldMatch{Include: []match.All{{match.MustParse("k8s.ns.name = prod")}, {match.MustParse("proc.name = bash")}}}}, true},
		{"field include entry is a conjunction", Filter{MinPriority: api.PriorityDebug, Fields: config.FieldMatch{Include: []match.All{{match.MustParse("k8s.ns.name = dev-a"), match.MustParse("proc.name = sh")}}}}, false},
		{"field exclude", Filter{MinPriority: api.PriorityDebug, Fields: config.FieldMatch{Exclude: []match.All{{match.MustParse("proc.name in (bash, sh)")}}}}, false},
	}
	a.OutputFields = map[string]any{"k8s.ns.name": "dev-a", "proc.name": "bash"}
	for _, c := range cases {
		if got := c.f.Allow(a); got != c.want {
			t.Errorf("%s: Allow = %v, want %v", c.name, got, c.want)
		}
	}
}
