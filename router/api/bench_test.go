package api

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// The alert codec's cost per alert: what every ingest request pays to decode
// (DecodeAlert, DecodeBatch) and every queue write to encode (issue 19).
func fixture(b testing.TB) []byte {
	b.Helper()
	raw, err := os.ReadFile("testdata/terminal_shell_in_container.json")
	if err != nil {
		b.Fatal(err)
	}
	return bytes.TrimSpace(raw)
}

func BenchmarkDecodeAlert(b *testing.B) {
	raw := fixture(b)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeAlert(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeBatch(b *testing.B) {
	raw := fixture(b)
	body := strings.Repeat(string(raw)+"\n", 100)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		as, err := DecodeBatch(strings.NewReader(body))
		if err != nil || len(as) != 100 {
			b.Fatal(len(as), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/alert")
}

func BenchmarkEncodeAlert(b *testing.B) {
	a, err := DecodeAlert(fixture(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(a); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAlertEncode(b *testing.B) {
	a, err := DecodeAlert(fixture(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Encode(); err != nil {
			b.Fatal(err)
		}
	}
}
