package noise

import (
	"time"

	"github.com/lookout-sec/lookout/router/internal/match"
)

// Finding statuses.
const (
	StatusNew      = "new"
	StatusExpected = "expected"
	StatusResolved = "resolved"
)

// Reasons an alert was held back from a notifying output (the values of
// api.Annotation.Held and of the decision metric's label).
const (
	HeldSilenced = "silenced" // an active silence matched
	HeldExpected = "expected" // its finding is marked expected
	HeldLearning = "learning" // first seen while a baseline is being learnt
	HeldRepeat   = "repeat"   // this output was told about the finding already
	HeldGrouped  = "grouped"  // folded into the group's digest
)

// Decisions other than held, for the metric.
const (
	DecisionNotified = "notified" // handed to the output
	DecisionRecorded = "recorded" // a record output: every alert goes
)

// Finding is every alert with one fingerprint.
type Finding struct {
	ID        string            `json:"id"`
	Rule      string            `json:"rule"`
	Source    string            `json:"source"`
	Priority  string            `json:"priority"` // highest seen
	Fields    map[string]string `json:"fields"`   // the fingerprint's values
	FirstSeen time.Time         `json:"first_seen"`
	LastSeen  time.Time         `json:"last_seen"`
	Count     int64             `json:"count"`
	Status    string            `json:"status"`
	// Who set the status, when, why, and until when (expected only).
	StatusBy     string    `json:"status_by,omitempty"`
	StatusAt     time.Time `json:"status_at,omitzero"`
	StatusReason string    `json:"status_reason,omitempty"`
	ExpiresAt    time.Time `json:"expires_at,omitzero"`
	// LearnedIn is the learning window that saw it while it was new.
	LearnedIn string `json:"learned_in,omitempty"`
	// Notified is, per output, when it was last told and by which alert
	// (a retried request with the same uuid is told again, so a failed
	// commit never swallows a first notification).
	Notified map[string]Notice `json:"notified,omitempty"`
	// SampleUUID is the uuid of the sample alert (the first one).
	SampleUUID string `json:"sample_uuid,omitempty"`

	// changed marks a change a decision depends on (created, status,
	// learning window, notices): written with the alerts that made it.
	// Count and last-seen alone are written by the next flush.
	changed bool
}

// Notice is one output's last notification about a finding.
type Notice struct {
	At   time.Time `json:"at"`
	UUID string    `json:"uuid"`
}

// Silence holds back matching alerts from notifying outputs between
// StartsAt and EndsAt (zero: no end).
type Silence struct {
	ID           string    `json:"id"`
	Matchers     match.All `json:"matchers"`
	StartsAt     time.Time `json:"starts_at"`
	EndsAt       time.Time `json:"ends_at,omitzero"`
	CreatedBy    string    `json:"created_by"`
	Comment      string    `json:"comment"`
	MarkExpected bool      `json:"mark_expected,omitempty"` // also mark the findings it matches expected
	Origin       string    `json:"origin"`                  // config or api
	HeldBack     int64     `json:"held_back"`               // alerts it held back
}

// State of a silence at a time.
const (
	SilenceActive  = "active"
	SilencePending = "pending"
	SilenceExpired = "expired"
)

// StateAt is the silence's state at now.
func (s *Silence) StateAt(now time.Time) string {
	switch {
	case now.Before(s.StartsAt):
		return SilencePending
	case !s.EndsAt.IsZero() && !now.Before(s.EndsAt):
		return SilenceExpired
	}
	return SilenceActive
}

// Window is a learning period: findings first seen inside it (and matching
// Scope) notify nobody and become expected when it ends.
type Window struct {
	ID       string    `json:"id"`
	Scope    match.All `json:"scope,omitempty"` // empty: everything
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at"`
	By       string    `json:"by"`
	Done     bool      `json:"done"`    // its findings were marked expected
	Learned  int       `json:"learned"` // findings it marked expected
}

// Active reports whether w covers now.
func (w *Window) Active(now time.Time) bool {
	return !w.Done && !now.Before(w.StartsAt) && now.Before(w.EndsAt)
}

// Policy is one output's notification policy.
type Policy struct {
	Name string
	// Record: the output receives every alert that passes its filters,
	// annotated; silences, statuses and grouping do not apply.
	Record bool
	// New: notify only the first time a finding appears (and again after
	// RepeatInterval when that is set); otherwise every alert notifies.
	New            bool
	RepeatInterval time.Duration
	// GroupBy, when set, folds what would notify into one digest per group
	// of equal values, sent GroupWait after the group's first alert and at
	// most every GroupInterval after that.
	GroupBy       []string
	GroupWait     time.Duration
	GroupInterval time.Duration
}

// Config configures a Stage.
type Config struct {
	Fingerprints []FingerprintRule
	// LearnFor starts a baseline window of this length the first time the
	// router runs with it set (0: no baseline).
	LearnFor time.Duration
	// Retention bounds the findings kept: not seen for MaxAge, or beyond
	// MaxFindings (least recently seen first), they are deleted.
	MaxAge      time.Duration
	MaxFindings int
	// Silences from the config file (automation rules kept in git). They
	// replace the config silences stored before.
	Silences []Silence
	Policies []Policy
}

// Defaults for Config.
const (
	DefaultMaxAge        = 90 * 24 * time.Hour
	DefaultMaxFindings   = 100_000
	DefaultGroupWait     = 30 * time.Second
	DefaultGroupInterval = 5 * time.Minute
)
