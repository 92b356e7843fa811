package elasticsearch

import (
	"bytes"
	"context"
	"testing"

	"github.com/lookout-sec/lookout/outputs"
)

// FuzzItemErrors feeds arbitrary bulk responses to the per-item parser: it
// must never panic, and every failure it records must be a classified error
// for an alert of the chunk.
func FuzzItemErrors(f *testing.F) {
	for _, seed := range []string{
		`{"took":1,"errors":false,"items":[{"index":{"status":201}}]}`,
		`{"errors":true,"items":[{"index":{"status":201}},{"index":{"status":400,"error":{"type":"mapper_parsing_exception","reason":"x"}}},{"create":{"status":429}}]}`,
		`{"errors":true,"items":[]}`,
		`{"errors":true,"items":[{}, {"index":{}}]}`,
		`{"errors":false,"items":null}`,
		`not json`,
		``,
	} {
		f.Add([]byte(seed), uint8(3), uint8(2))
	}
	o, err := New(Config{}, Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, n, first uint8) {
		c := chunk{first: int(first), n: int(n)}
		failed := map[int]error{}
		err := o.itemErrors(context.Background(), bytes.NewReader(body), c, failed)
		if err != nil && len(failed) != 0 {
			t.Fatalf("a whole-response error must not also record items: %v %v", err, failed)
		}
		if err != nil && !outputs.IsRetryable(err) {
			t.Fatalf("an unreadable response must be retryable: %v", err)
		}
		for i, e := range failed {
			if i < c.first || i >= c.first+c.n {
				t.Fatalf("failure recorded for alert %d outside the chunk [%d,%d)", i, c.first, c.first+c.n)
			}
			var oe *outputs.Error
			if e == nil || !asError(e, &oe) {
				t.Fatalf("alert %d: unclassified error %v", i, e)
			}
		}
	})
}

func asError(err error, target **outputs.Error) bool {
	e, ok := err.(*outputs.Error)
	if ok {
		*target = e
	}
	return ok
}
