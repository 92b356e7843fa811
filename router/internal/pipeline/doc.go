// Package pipeline carries accepted alerts to outputs as a chain of small
// stages, one per file: filter (min priority, rule/tag/source patterns,
// applied once here and never in outputs) → fan-out into the durable store
// (router/internal/queue), one queue per output, in a single group commit →
// per-output workers (deliver.go) that lease items, send them with a
// per-attempt timeout, and apply the retry policy (retry.go): backoff with
// full jitter, Retry-After, attempt and age budgets, dead letters.
//
// Fanout.Ingest returns only once the alerts are stored for every output
// they route to, so the server answers 2xx exactly then.
package pipeline
