package api

import (
	"runtime"
	"testing"
)

// TestDecodedAlertHeap bounds the heap a decoded alert holds: the queue's
// hot cache and the in-memory queue keep thousands of them. The fixture
// (837 bytes, 17 output fields) takes about 1.9 KB; a decoder that sizes
// output_fields for 64 keys took 6.1 KB.
func TestDecodedAlertHeap(t *testing.T) {
	raw := fixture(t)
	keep := make([]*Alert, 10000)
	var err error
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range keep {
		if keep[i], err = DecodeAlert(append([]byte(nil), raw...)); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / float64(len(keep))
	t.Logf("heap per decoded alert: %.0f bytes (its JSON: %d)", per, len(raw))
	if per > 3000 {
		t.Errorf("a decoded alert holds %.0f bytes of heap, want at most 3000", per)
	}
	runtime.KeepAlive(keep)
}

// TestEncodeHoldsNoSpare: the queue's hot cache keeps encoded alerts, so
// Encode's result carries no spare capacity.
func TestEncodeHoldsNoSpare(t *testing.T) {
	a, err := DecodeAlert(fixture(t))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 { // the second and third from a reused scratch buffer
		b, err := a.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if cap(b) != len(b) {
			t.Fatalf("Encode: %d bytes in a buffer of %d", len(b), cap(b))
		}
	}
}
