// Package ruleset embeds Falco's upstream rules files (Apache-2.0, copied
// unmodified from falcosecurity/rules; see each file's header for the
// licence and NOTICE.md here for their origin): the stable file, the
// sensor's default rules, and the incubating, sandbox and deprecated files,
// which users may load on top of it and which the tests load to check that
// every rule compiles.
package ruleset

import _ "embed"

// DefaultName is the name the embedded file is reported under.
const DefaultName = "falco_rules.yaml"

// Default is the content of the upstream stable rules file.
//
//go:embed falco_rules.yaml
var Default []byte

// File is one embedded upstream rules file.
type File struct {
	Name string // the upstream file name, e.g. "falco-sandbox_rules.yaml"
	Data []byte
}

//go:embed falco-incubating_rules.yaml
var incubating []byte

//go:embed falco-sandbox_rules.yaml
var sandbox []byte

//go:embed falco-deprecated_rules.yaml
var deprecated []byte

// Extra returns the upstream incubating, sandbox and deprecated rules
// files. Each builds on the stable file's macros and lists: load it after
// Default.
func Extra() []File {
	return []File{
		{Name: "falco-incubating_rules.yaml", Data: incubating},
		{Name: "falco-sandbox_rules.yaml", Data: sandbox},
		{Name: "falco-deprecated_rules.yaml", Data: deprecated},
	}
}
