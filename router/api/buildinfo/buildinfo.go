// Package buildinfo is the build identity of Lookout's programs: version,
// commit and build date. The Makefile sets them with -ldflags -X (the one
// place the linker can put them, hence package variables); what is unset
// comes from the VCS stamp Go embeds when it builds outside a workspace.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set at link time: -X github.com/lookout-sec/lookout/router/api/buildinfo.Version=v0.3.0-12-gabc123
var (
	Version = "dev"
	Commit  = ""
	Date    = ""
)

// Info is one binary's build identity.
type Info struct {
	Version  string `json:"version"`
	Commit   string `json:"commit"`
	Date     string `json:"date"`
	Modified bool   `json:"modified,omitempty"` // built from a tree with uncommitted changes
	Go       string `json:"go"`
}

// Get returns the running binary's build identity.
func Get() Info {
	in := Info{Version: Version, Date: Date, Commit: Commit, Go: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if in.Commit == "" {
					in.Commit = s.Value
				}
			case "vcs.time":
				if in.Date == "" {
					in.Date = s.Value
				}
			case "vcs.modified":
				in.Modified = s.Value == "true"
			}
		}
	}
	if in.Date == "" {
		in.Date = "unknown"
	}
	if in.Commit == "" {
		in.Commit = "unknown"
	}
	return in
}

// String is the one-line form `--version` prints.
func (in Info) String() string {
	commit := in.Commit
	if len(commit) > 12 {
		commit = commit[:12]
	}
	if in.Modified {
		commit += "+dirty"
	}
	return fmt.Sprintf("%s (commit %s, built %s, %s)", in.Version, commit, in.Date, in.Go)
}
