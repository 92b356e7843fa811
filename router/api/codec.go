package api

import (
	"github.com/bytedance/sonic"
)

// The alert codec's fast path uses sonic (github.com/bytedance/sonic, a JIT
// JSON codec; plain encoding/json on CPUs it does not support), configured
// to decode and encode exactly as encoding/json does here: numbers in
// interface values as json.Number, strings copied out of the input, invalid
// UTF-8 replaced by U+FFFD, map keys sorted, no HTML escaping. Anything the
// fast path refuses is decoded again by encoding/json, whose errors are the
// ones users see (FieldError). FuzzCodec checks that both paths agree.
//
// These are frozen configurations (immutable, safe for concurrent use),
// not state.
var (
	fastDecoder = sonic.Config{UseNumber: true, CopyString: true, ValidateString: true}.Froze()
	fastEncoder = sonic.Config{SortMapKeys: true, ValidateString: true}.Froze()
)

// Encode returns the alert's JSON in Falco's shape (what MarshalJSON
// writes), without the re-scan encoding/json gives a Marshaler's output.
func (a *Alert) Encode() ([]byte, error) {
	return fastEncoder.Marshal(a.wire())
}
