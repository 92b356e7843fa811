package api

import (
	"fmt"
	"strings"
	"time"
)

// Limits on what ingest accepts. They are chosen so that everything the
// router stores can be read back by the queue and the outputs: the stored
// record ({"alert": {... "output_fields": {...}}}) is two levels deeper
// than output_fields, far below encoding/json's nesting limit of 10,000.
const (
	// MaxFieldsDepth is the deepest nesting allowed in output_fields; the
	// object itself is depth 1 (Falco's fields are flat: depth 1).
	MaxFieldsDepth = 32
	// MaxFieldsBytes is the largest output_fields object in bytes of JSON.
	MaxFieldsBytes = 512 << 10
	// MaxUUIDLen is the length of a canonical RFC 4122 uuid.
	MaxUUIDLen = 36
)

// MinTime and MaxTime bound an alert's time: years 1970 to 2200 inclusive.
// A time outside is refused, so a stored alert's time always formats back
// to RFC 3339 and daily index names (lookout-2026.11.23) stay bounded.
var (
	MinTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(2201, 1, 1, 0, 0, 0, 0, time.UTC)
)

// ValidUUID reports whether s is a uuid in RFC 4122 canonical form:
// 8-4-4-4-12 hexadecimal digits (either case), nothing else.
func ValidUUID(s string) bool {
	if len(s) != MaxUUIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
			continue
		}
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// jsonDepth returns the deepest nesting of objects and arrays in b (an
// object is depth 1), without decoding it.
func jsonDepth(b []byte) int {
	depth, deepest := 0, 0
	inStr, esc := false, false
	for _, c := range b {
		switch {
		case esc:
			esc = false
		case inStr:
			switch c {
			case '\\':
				esc = true
			case '"':
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

// checkFields checks the raw output_fields before it is decoded.
func checkFields(raw []byte) error {
	if len(raw) > MaxFieldsBytes {
		return &FieldError{Field: "output_fields", Problem: fmt.Sprintf("is %d bytes of JSON, more than the limit of %d", len(raw), MaxFieldsBytes)}
	}
	if d := jsonDepth(raw); d > MaxFieldsDepth {
		return &FieldError{Field: "output_fields", Problem: fmt.Sprintf("nests %d levels deep, more than the limit of %d", d, MaxFieldsDepth)}
	}
	return nil
}

// checkTime checks an alert's time against [MinTime, MaxTime).
func checkTime(raw string, t time.Time) error {
	if t.Before(MinTime) || !t.Before(MaxTime) {
		return &FieldError{Field: "time", Problem: fmt.Sprintf("%q is outside the years 1970 to 2200 (UTC)", raw)}
	}
	return nil
}

// checkUUID checks a client-supplied uuid ("" lets the router assign one).
func checkUUID(u string) error {
	if u != "" && !ValidUUID(u) {
		return &FieldError{Field: "uuid", Problem: fmt.Sprintf("%q is not a uuid in RFC 4122 form (8-4-4-4-12 hex digits)", truncate(u, 64))}
	}
	return nil
}

// checkBatchUUIDs refuses a batch in which two alerts carry one uuid:
// outputs use the uuid as the document id, so one would overwrite the other.
func checkBatchUUIDs(as []*Alert) error {
	seen := make(map[string]int, len(as))
	for i, a := range as {
		if a.UUID == "" {
			continue
		}
		u := strings.ToLower(a.UUID)
		if j, dup := seen[u]; dup {
			return &FieldError{Index: i, batch: true, Field: "uuid", Problem: fmt.Sprintf("%q is also the uuid of alert %d (uuids must be unique)", a.UUID, j)}
		}
		seen[u] = i
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// checkBounds checks the time window and uuid syntax of a decoded alert.
func (a *Alert) checkBounds() error {
	if err := checkTime(a.Time.Format(time.RFC3339Nano), a.Time); err != nil {
		return err
	}
	return checkUUID(a.UUID)
}
