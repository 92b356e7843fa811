// Package ruleset embeds the sensor's default rules: Falco's upstream stable
// rules file (falco_rules.yaml, Apache-2.0, copied unmodified from
// falcosecurity/rules; see its header for the licence and NOTICE.md here for
// its origin).
package ruleset

import _ "embed"

// DefaultName is the name the embedded file is reported under.
const DefaultName = "falco_rules.yaml"

// Default is the content of the upstream stable rules file.
//
//go:embed falco_rules.yaml
var Default []byte
