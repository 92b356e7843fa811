// Package api is the contract between Lookout's sensor, Falco and the router:
// the Alert type (Falco's JSON alert shape plus a uuid), the Priority scale
// with strict parsing, strict decoding of single alerts and batches, and a
// small HTTP client the sensor uses to post batches to the router.
//
// The module has no dependencies beyond the standard library so that any
// program can speak to the router without pulling in the router itself.
package api
