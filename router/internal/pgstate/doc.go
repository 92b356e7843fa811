// Package pgstate keeps the noise stage's state in PostgreSQL, so that
// several router replicas share one set of findings, silences, learning
// windows and groups (docs/replicas.md). It speaks database/sql through
// pgx's stdlib driver, applies the versioned migrations embedded from
// migrations/ at start, and refuses a schema newer than it knows. The
// migrations also make the tables of the triage UI's alert history
// (router/internal/history's PostgreSQL dialect, over a pool from OpenDB):
// one schema version for everything the replicas share.
//
// The stage's decisions are made inside one database transaction per
// ingest request: the request's findings and groups are inserted if absent
// and locked (SELECT … FOR UPDATE, in key order), so two replicas deciding
// about the same finding take turns, and the second sees what the first
// wrote. Group digests are claimed with FOR UPDATE SKIP LOCKED on rows
// whose due_at has passed: one replica sends each digest.
package pgstate
