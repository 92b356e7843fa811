package api

// The router advertises its body limit so that a client can split batches
// under it: every response of POST PathAlert and POST PathBatch (a 413
// included) carries HeaderMaxBodyBytes, and GET PathLimits (same bearer
// token as ingest) answers Limits as JSON.
const (
	PathLimits         = "/v1/limits"
	HeaderMaxBodyBytes = "X-Lookout-Max-Body-Bytes"
)

// Limits is the body of GET PathLimits.
type Limits struct {
	MaxBodyBytes int64 `json:"max_body_bytes"` // largest request body, after gzip decoding too
}
