package queue

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// damageLeaf overwrites the header of one leaf page of the queue file in
// dir (the middle one of output a's records) and returns its page id.
func damageLeaf(t *testing.T, dir string) uint64 {
	t.Helper()
	path := filepath.Join(dir, FileName)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ps := int(binary.LittleEndian.Uint32(b[24:])) // meta page 0: header, magic, version, page size
	var leaves []int
	for id := 2; (id+1)*ps <= len(b); id++ {
		p := b[id*ps:]
		if binary.LittleEndian.Uint64(p) == uint64(id) && binary.LittleEndian.Uint16(p[8:]) == leafFlag && binary.LittleEndian.Uint16(p[10:]) > 5 {
			leaves = append(leaves, id)
		}
	}
	if len(leaves) < 3 {
		t.Fatalf("only %d leaf pages", len(leaves))
	}
	id := leaves[len(leaves)/2]
	copy(b[id*ps:], []byte("garbage!garbage!"))
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return uint64(id)
}

// TestCheckAndSalvage: a queue file with one destroyed leaf page is refused
// at Open; Check names the damage; Salvage copies every other record into a
// new queue that opens and holds exactly the readable records; the lost
// ones are counted as missing keys.
func TestCheckAndSalvage(t *testing.T) {
	const n = 600
	dir := copyDir(t, filledQueue(t, n))
	path := filepath.Join(dir, FileName)
	damageLeaf(t, dir)
	if _, err := Open(Options{Dir: dir, Outputs: []OutputOptions{{Name: "a"}}, Logger: quiet}); err == nil {
		t.Fatal("damaged file opened")
	}
	rep, err := Check(path)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || len(rep.Damage) != 1 {
		t.Fatalf("check: %s", rep)
	}
	to := filepath.Join(t.TempDir(), "new")
	rep, err = Salvage(path, to)
	if err != nil {
		t.Fatal(err)
	}
	var got int
	var missing uint64
	for _, b := range rep.Buckets {
		if b.Bucket == "queue/a" {
			got, missing = b.Records, b.Missing
		}
	}
	if got == 0 || got >= n || uint64(got)+missing != n {
		t.Fatalf("salvage: %d records + %d missing, want %d in all:\n%s", got, missing, n, rep)
	}
	s, err := Open(Options{Dir: to, Outputs: []OutputOptions{{Name: "a"}}, Logger: quiet})
	if err != nil {
		t.Fatalf("open the salvaged queue: %v", err)
	}
	defer s.Close()
	if read := drain(t, s); read != got {
		t.Errorf("salvaged queue: read %d, report says %d", read, got)
	}
	if _, err := os.Stat(filepath.Join(to, MarkerName)); err != nil {
		t.Errorf("salvaged queue has no marker: %v", err)
	}
	t.Logf("%d stored, one leaf page destroyed: %d salvaged, %d lost (reported missing)", n, got, missing)
}
