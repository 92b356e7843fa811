package api

import "time"

// Annotation is what the router's noise stage adds to an alert under the
// top-level key "lookout": the finding the alert belongs to, which outputs
// were notified, and for each output that held it back, why. Outputs that
// record everything (Elasticsearch, a webhook with record: true) receive
// every alert with it, so a held-back alert is still found, with its reason.
type Annotation struct {
	Finding  *FindingRef       `json:"finding,omitempty"`
	Notified []string          `json:"notified,omitempty"` // outputs this alert notifies (or joins a group digest for)
	Held     map[string]string `json:"held,omitempty"`     // output → reason: silenced, expected, learning, repeat, grouped
	Silences []string          `json:"silences,omitempty"` // ids of the silences that matched
	Digest   *Digest           `json:"digest,omitempty"`   // set on a group digest the router made
	// State is StateUnavailable when the shared state store could not be
	// reached: the alert went to every output its filters allow, with no
	// finding, silence or grouping applied (docs/replicas.md).
	State string `json:"state,omitempty"`
}

// StateUnavailable is Annotation.State in the noise stage's safe mode.
const StateUnavailable = "unavailable"

// FindingRef identifies an alert's finding and its state when the alert
// arrived.
type FindingRef struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"` // new, expected, resolved
	FirstSeen time.Time `json:"first_seen"`
	Count     int64     `json:"count"`
}

// Digest describes a group notification: the alerts it stands for.
type Digest struct {
	Group  string            `json:"group"`            // output and group key
	Labels map[string]string `json:"labels,omitempty"` // the group_by values
	Count  int               `json:"count"`            // alerts folded into this digest
	Since  time.Time         `json:"since"`            // time of the first of them
	UUIDs  []string          `json:"uuids,omitempty"`  // up to 20 of them
}
