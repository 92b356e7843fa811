// Package pipeline carries accepted alerts to outputs as a chain of small
// stages, one per file: filter (min priority, rule/tag/source patterns,
// applied once here and never in outputs) → fan-out to one Queue per output
// → a worker per output that takes items from its queue and delivers them.
//
// Queue is the seam for durability: Enqueue returns only once the alerts are
// stored as durably as the implementation promises, so the server may answer
// 2xx exactly when every routed output's Enqueue succeeded. This package
// ships an in-memory MemQueue; the bbolt-backed durable queue (issue 3)
// implements the same interface and replaces it without touching the server.
package pipeline
