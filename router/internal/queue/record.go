package queue

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"
)

// record is what the store keeps per queued alert.
type record struct {
	Alert    json.RawMessage `json:"alert"`
	Queued   int64           `json:"queued"` // unix ns, acceptance
	Attempts int             `json:"attempts,omitempty"`
	First    int64           `json:"first,omitempty"` // unix ns, first attempt
	Last     int64           `json:"last,omitempty"`  // unix ns, last attempt
	Next     int64           `json:"next,omitempty"`  // unix ns, not before
	Err      string          `json:"err,omitempty"`   // last error
}

// DeadLetter is an alert an output gave up on.
type DeadLetter struct {
	ID           uint64          `json:"id"`     // key in the output's dead-letter bucket
	Output       string          `json:"output"` // output name
	Alert        json.RawMessage `json:"alert"`
	Error        string          `json:"error"` // last error
	Attempts     int             `json:"attempts"`
	Queued       time.Time       `json:"queued"`
	FirstAttempt time.Time       `json:"first_attempt"`
	LastAttempt  time.Time       `json:"last_attempt"`
	DeadAt       time.Time       `json:"dead_at"`
	// Raw holds the stored bytes of a record that could not be decoded
	// (Alert is then null); see poison.go.
	Raw []byte `json:"raw,omitempty"`
}

type deadRecord struct {
	record
	Output string `json:"output"`
	Dead   int64  `json:"dead"`
	Raw    []byte `json:"raw,omitempty"` // an undecodable record, kept as stored
}

func key(seq uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	return k[:]
}

func seqOf(k []byte) (uint64, error) {
	if len(k) != 8 {
		return 0, fmt.Errorf("bad key of %d bytes", len(k))
	}
	return binary.BigEndian.Uint64(k), nil
}

func unixTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

func (d deadRecord) toDeadLetter(id uint64) DeadLetter {
	return DeadLetter{
		ID: id, Output: d.Output, Alert: d.Alert, Error: d.Err, Attempts: d.Attempts,
		Queued: unixTime(d.Queued), FirstAttempt: unixTime(d.First), LastAttempt: unixTime(d.Last), DeadAt: unixTime(d.Dead),
		Raw: d.Raw,
	}
}
