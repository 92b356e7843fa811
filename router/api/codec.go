package api

import (
	"errors"
	"sync"

	fastjson "github.com/segmentio/encoding/json"
)

// The alert codec's fast path uses github.com/segmentio/encoding/json, a
// reflection-based codec that caches a decoder and an encoder per type and
// generates no code at run time: the binaries run where memory cannot be
// made executable after it was writable (systemd's MemoryDenyWriteExecute=,
// the kernel's PR_SET_MDWE), which the units in deploy/systemd ask for. A
// JIT codec (sonic, used before) panics at start there.
//
// It is set to decode and encode as encoding/json does here: numbers in
// interface values as json.Number, strings copied out of the input, map
// keys sorted, no HTML escaping. Anything the fast path refuses is decoded
// again by encoding/json, whose errors are the ones users see
// (FieldError). FuzzCodec checks that both paths agree.
const (
	decodeFlags = fastjson.UseNumber
	encodeFlags = fastjson.SortMapKeys
	encodeBuf   = 2 << 10  // a typical Falco alert's JSON fits
	maxScratch  = 64 << 10 // a bigger buffer is not kept for the next alert
)

// errTrailing refuses data after the value (the careful path then says
// where).
var errTrailing = errors.New("data after the JSON value")

// fastDecode decodes exactly one alert object from b into raw; trailing
// data (other than white space) is an error.
//
// output_fields starts as an empty map, which the decoder fills and grows as
// encoding/json does; given none, it makes one sized for 64 keys (3.5 KB
// more per alert, held as long as the alert is queued). Empty fields come
// back as nil, as for an alert without them.
func fastDecode(b []byte, raw *fieldsIn) error {
	raw.OutputFields = map[string]any{}
	rest, err := fastjson.Parse(b, raw, decodeFlags)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return errTrailing
	}
	if len(raw.OutputFields) == 0 {
		raw.OutputFields = nil
	}
	return nil
}

// encodeScratch holds the buffers Encode writes into before it copies the
// result out at its exact size: the queue's hot cache keeps encoded alerts,
// so their capacity is memory held.
var encodeScratch = sync.Pool{New: func() any { b := make([]byte, 0, encodeBuf); return &b }}

// Encode returns the alert's JSON in Falco's shape (what MarshalJSON
// writes), without the re-scan encoding/json gives a Marshaler's output.
func (a *Alert) Encode() ([]byte, error) {
	scratch := encodeScratch.Get().(*[]byte)
	b, err := fastjson.Append((*scratch)[:0], a.wire(), encodeFlags)
	var out []byte
	if err == nil {
		out = make([]byte, len(b)) // not bytes.Clone: it rounds the capacity up
		copy(out, b)
	}
	if cap(b) <= maxScratch {
		*scratch = b
		encodeScratch.Put(scratch)
	}
	return out, err
}
