package api

// TestReport is the body POST /test answers with: what happened to the
// test alert at every output.
type TestReport struct {
	UUID     string       `json:"uuid"`
	Accepted int          `json:"accepted"` // outputs that queued it
	Filters  string       `json:"filters"`  // "bypassed" (default) or "applied" (?filters=apply)
	Outputs  []TestResult `json:"outputs"`
}

// TestResult is the test alert's fate at one output.
type TestResult struct {
	Output string `json:"output"`
	// Result is "queued" (it will be delivered, retried as any alert),
	// "filtered" (the output's filters dropped it) or "held" (noise
	// control kept it back).
	Result string `json:"result"`
	// Reason says why it was filtered or held (silenced, expected,
	// learning, repeat, grouped), or how it was queued (notified,
	// recorded) when noise control decided.
	Reason string `json:"reason,omitempty"`
	// WouldFilter, with filters bypassed, says why the output's filters
	// would drop a real alert like this one ("" when they would pass it).
	WouldFilter string `json:"would_filter,omitempty"`
}
