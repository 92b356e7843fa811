package api

import (
	"fmt"
	"strings"
)

// Priority is Falco's alert severity. Lower values are more severe, as in
// Falco: PriorityEmergency is 0 and PriorityDebug is 7.
type Priority int

// The priorities, most severe first.
const (
	PriorityEmergency Priority = iota
	PriorityAlert
	PriorityCritical
	PriorityError
	PriorityWarning
	PriorityNotice
	PriorityInformational
	PriorityDebug
)

var priorityNames = [...]string{"Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug"}

// AllowedPriorities lists the accepted spellings, for error messages.
const AllowedPriorities = "emergency, alert, critical, error, warning, notice, informational (or info), debug"

// ParsePriority parses a priority name case-insensitively and strictly: "info"
// is Informational, and any name that is not a priority is an error. It never
// falls back to a default, so a typo cannot silently disable a filter.
func ParsePriority(s string) (Priority, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "emergency":
		return PriorityEmergency, nil
	case "alert":
		return PriorityAlert, nil
	case "critical":
		return PriorityCritical, nil
	case "error":
		return PriorityError, nil
	case "warning":
		return PriorityWarning, nil
	case "notice":
		return PriorityNotice, nil
	case "informational", "info":
		return PriorityInformational, nil
	case "debug":
		return PriorityDebug, nil
	}
	return 0, fmt.Errorf("unknown priority %q (allowed: %s)", s, AllowedPriorities)
}

// String returns Falco's spelling of the priority ("Warning", "Informational").
func (p Priority) String() string {
	if p < PriorityEmergency || p > PriorityDebug {
		return fmt.Sprintf("Priority(%d)", int(p))
	}
	return priorityNames[p]
}

// Valid reports whether p is one of the eight priorities.
func (p Priority) Valid() bool { return p >= PriorityEmergency && p <= PriorityDebug }

// AtLeast reports whether p is as severe as min or more severe.
func (p Priority) AtLeast(min Priority) bool { return p <= min }

// MarshalText writes Falco's spelling.
func (p Priority) MarshalText() ([]byte, error) {
	if !p.Valid() {
		return nil, fmt.Errorf("invalid priority %d", int(p))
	}
	return []byte(priorityNames[p]), nil
}

// UnmarshalText parses strictly, as ParsePriority does.
func (p *Priority) UnmarshalText(b []byte) error {
	v, err := ParsePriority(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}
