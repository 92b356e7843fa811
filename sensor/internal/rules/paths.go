package rules

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// LoadPaths reads rules files: each path is a file, or a directory whose
// *.yaml and *.yml files (not recursive) are read in lexical order. Sources
// are named by their path. Errors name the path.
func LoadPaths(paths []string) ([]Source, error) {
	var out []Source
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("rules path: %w", err)
		}
		if !st.IsDir() {
			data, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("rules file: %w", err)
			}
			out = append(out, Source{Name: p, Data: data})
			continue
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("rules directory: %w", err)
		}
		var names []string
		for _, e := range ents {
			n := e.Name()
			if e.Type().IsRegular() || e.Type()&os.ModeSymlink != 0 {
				if strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml") {
					names = append(names, n)
				}
			}
		}
		sort.Strings(names)
		for _, n := range names {
			fp := filepath.Join(p, n)
			data, err := os.ReadFile(fp)
			if err != nil {
				return nil, fmt.Errorf("rules file in %s: %w", p, err)
			}
			out = append(out, Source{Name: fp, Data: data})
		}
	}
	return out, nil
}

// timeOf converts an event timestamp (ns since the epoch) to the alert time
// in UTC.
func timeOf(ns int64) time.Time { return time.Unix(0, ns).UTC() }
