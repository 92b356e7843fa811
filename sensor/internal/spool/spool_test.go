package spool

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func recs(from, n, size int) []Record {
	out := make([]Record, n)
	for i := range out {
		out[i].Data = fmt.Appendf(nil, "%08d%s", from+i, bytes.Repeat([]byte("x"), size))
	}
	return out
}

// TestOrderAndReopen appends, closes, reopens (a restart) and reads back
// in order; removed records stay removed.
func TestOrderAndReopen(t *testing.T) {
	dir := t.TempDir()
	s, _, err := Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := s.Append(recs(i*10, 10, 10)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Peek(3, 1<<20)
	if err != nil || len(got) != 3 {
		t.Fatalf("peek: %v %d", err, len(got))
	}
	if err := s.Remove([]uint64{got[0].Seq, got[1].Seq, got[2].Seq}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, _, err = Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, _ := s.Len(); n != 47 {
		t.Fatalf("after reopen %d records, want 47", n)
	}
	all, _ := s.Peek(100, 1<<20)
	for i, r := range all {
		if want := fmt.Sprintf("%08d", i+3); string(r.Data[:8]) != want {
			t.Fatalf("record %d is %s, want %s", i, r.Data[:8], want)
		}
	}
	if _, err := s.Append(recs(50, 1, 1)); err != nil {
		t.Fatal(err)
	}
	all, _ = s.Peek(100, 1<<20)
	if last := all[len(all)-1]; string(last.Data[:8]) != "00000050" || last.Seq <= all[len(all)-2].Seq {
		t.Errorf("append after reopen: %s seq %d", last.Data[:8], last.Seq)
	}
}

// TestBoundDropsOldest fills the spool past its bound: the oldest records
// go, counted, internal ones apart, and the bytes stay under the bound.
func TestBoundDropsOldest(t *testing.T) {
	s, _, err := Open(t.TempDir(), 10_000)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	first := recs(0, 10, 100)
	first[0].Internal = true
	if _, err := s.Append(first); err != nil {
		t.Fatal(err)
	}
	var dropped Dropped
	for i := 1; i < 20; i++ {
		d, err := s.Append(recs(i*10, 10, 100))
		if err != nil {
			t.Fatal(err)
		}
		dropped.N += d.N
		dropped.Internal += d.Internal
	}
	n, b := s.Len()
	if b > 10_000 || dropped.N+n != 200 || dropped.Internal != 1 {
		t.Errorf("len %d bytes %d, dropped %+v", n, b, dropped)
	}
	all, _ := s.Peek(1000, 1<<20)
	if want := fmt.Sprintf("%08d", 200-n); string(all[0].Data[:8]) != want {
		t.Errorf("oldest kept is %s, want %s", all[0].Data[:8], want)
	}
	if d, _ := s.Append(recs(0, 1, 20_000)); d.N != 1 {
		t.Errorf("a record larger than the bound: %+v", d)
	}
}

// TestDamagedFileMovedAside: a spool file that is not a bbolt file is moved
// aside, named, and an empty spool starts; a second opener is refused.
func TestDamagedFileMovedAside(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), bytes.Repeat([]byte{0xde, 0xad}, 8192), 0o600); err != nil {
		t.Fatal(err)
	}
	s, moved, err := Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasPrefix(moved, filepath.Join(dir, FileName+".corrupt-")) {
		t.Errorf("moved to %q", moved)
	}
	if _, err := os.Stat(moved); err != nil {
		t.Error(err)
	}
	if _, _, err := Open(dir, 1<<20); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Errorf("second open: %v", err)
	}
}
