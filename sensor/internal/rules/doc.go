// Package rules is Lookout's Falco-compatible rule engine: it loads Falco
// rules files unmodified (Load, LoadPaths), compiles every rule's condition
// to a predicate indexed by event type, and evaluates events from the
// sensor (Engine.Eval), building api.Alert values shaped exactly as Falco's
// JSON alerts.
//
// The work is split in phases, each in its own package: parse (condition
// lexer and parser), spec (YAML loading and merging of lists, macros and
// rules), compile (list substitution, macro expansion, field resolution,
// typed literals, event-type sets, closures) and fields (the field table).
// This package ties them together and owns output formatting.
//
// An Engine is immutable once built. Eval uses per-engine scratch buffers,
// one set for syscall events and one for k8s_audit events (ev.Audit set),
// so it must be called from one goroutine at a time per source (the
// syscall loop and the audit source may run at once); every other method is
// read-only and safe for concurrent use. To reload rules, build a new Engine
// with Load and swap a pointer (e.g. an atomic.Pointer[Engine]) in the
// goroutine that calls Eval.
package rules
