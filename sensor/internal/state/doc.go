// Package state keeps the sensor's view of the system that Falco calls
// threadinfo and fdinfo: a process table (one entry per thread, with Parent
// pointers for proc.aname[N]), a file-descriptor table per process, the
// users and groups of the host, and container ids from cgroup paths.
//
// Tables are seeded by Scan (a walk of /proc) and then kept current by Apply,
// which consumes the probe's events in order, updates the tables and sets
// Event.Proc and Event.FD for the rule engine.
//
// Concurrency: Tables is not safe for concurrent use. The sensor calls Scan
// and then Apply from a single goroutine (the event loop); the Process and FD
// values it hands out are owned by the tables and may be read only until the
// next call to Apply.
package state
