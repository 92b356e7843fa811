package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// writeQueue writes records straight into output out's bucket of a new
// queue file under dir, keyed 1, 2, … in order, as an older router (or a
// damaged disk) might have left them.
func writeQueue(t *testing.T, dir, out string, recs [][]byte) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, "queue.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("queue/" + out))
		if err != nil {
			return err
		}
		for i, r := range recs {
			var k [8]byte
			binary.BigEndian.PutUint64(k[:], uint64(i+1))
			if err := b.Put(k[:], r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func storedRecord(alert string) []byte {
	return []byte(`{"alert":` + alert + `,"queued":1795428000000000000}`)
}

// TestPoisonRecordsNeverStopDelivery injects records no current ingest would
// accept straight into the bbolt file: JSON nested past encoding/json's
// depth limit, alerts whose time does not read back, garbage bytes, an
// alert with no rule. The router must start, deliver every good alert once
// and keep the poison ones, with the reason, in dead letters.
func TestPoisonRecordsNeverStopDelivery(t *testing.T) {
	dir := t.TempDir()
	qdir := filepath.Join(dir, "queue")
	addr, sinkAddr := freeAddr(t), freeAddr(t)
	deep := strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000)
	poison := map[string][]byte{
		"deep":     storedRecord(`{"rule":"r","priority":"Warning","time":"2026-11-23T10:00:00Z","output_fields":` + deep + `}`),
		"time9999": storedRecord(`{"rule":"r","priority":"Warning","time":"10000-01-01T23:58:59.000000000Z","output_fields":{}}`),
		"time0000": storedRecord(`{"rule":"r","priority":"Warning","time":"0000-01-01T00:00:00+01:00","output_fields":{}}`),
		"garbage":  {0xff, 0x00, '{', 0x13, 'x'},
		"norule":   storedRecord(`{"priority":"Warning","time":"2026-11-23T10:00:00Z"}`),
		"crlfuuid": storedRecord(`{"rule":"r","priority":"Warning","time":"2026-11-23T10:00:00Z","uuid":"a\r\nb"}`),
	}
	var (
		recs [][]byte
		good []string
	)
	// Good and poison records interleaved: each poison one sits between two
	// good ones, so a worker that stopped on it would leave good ones behind.
	for i, name := range []string{"deep", "time9999", "time0000", "garbage", "norule", "crlfuuid"} {
		for j := range 2 {
			id, body := alertBody(10*i + j)
			recs, good = append(recs, storedRecord(body)), append(good, id)
		}
		recs = append(recs, poison[name])
	}
	if err := mkdir(qdir); err != nil {
		t.Fatal(err)
	}
	writeQueue(t, qdir, "sink", recs)

	sink := newCountingSink(t, sinkAddr, 0)
	cfg := writeConfig(t, dir, fmt.Sprintf(`
listen: %s
queue: {dir: %s}
admin: {tokens: [adm]}
outputs:
  - name: sink
    type: webhook
    concurrency: 4
    retry: {initial_backoff: 10ms, max_backoff: 100ms}
    webhook: {url: "http://%s/hook"}
`, addr, qdir, sinkAddr))
	router := startRouter(t, cfg, addr)
	sink.waitFor(t, good, 60*time.Second)
	// A fresh alert after the poison still goes through.
	id, body := alertBody(999)
	if code := post(t, "http://"+addr+"/", body); code != 200 {
		t.Fatalf("post after poison: %d", code)
	}
	sink.waitFor(t, []string{id}, 30*time.Second)
	for deadline := time.Now().Add(30 * time.Second); deadCount(t, addr, "sink") < len(poison); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d poison records in dead letters", deadCount(t, addr, "sink"), len(poison))
		}
	}
	stopRouter(t, router)
	if dups, total := sink.duplicates(); dups != 0 || total != len(good)+1 {
		t.Errorf("sink got %d alerts with %d duplicates, want %d and 0", total, dups, len(good)+1)
	}

	out, err := exec.Command(routerBinary(t), "deadletter", "list", "--json", "--config", cfg).CombinedOutput()
	if err != nil {
		t.Fatalf("deadletter list: %v\n%s", err, out)
	}
	var dead []struct {
		Error string `json:"error"`
		Raw   []byte `json:"raw"`
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var d struct {
			Error string `json:"error"`
			Raw   []byte `json:"raw"`
		}
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("deadletter list line %q: %v", sc.Text(), err)
		}
		dead = append(dead, d)
	}
	if len(dead) != len(poison) {
		t.Fatalf("%d dead letters, want %d:\n%s", len(dead), len(poison), out)
	}
	var raws int
	for _, d := range dead {
		if !strings.HasPrefix(d.Error, "undecodable queued record: ") {
			t.Errorf("dead letter reason %q does not say the record was undecodable", d.Error)
		}
		if d.Raw != nil {
			raws++
			if !bytes.Equal(d.Raw, poison["deep"]) && !bytes.Equal(d.Raw, poison["garbage"]) {
				t.Errorf("dead letter keeps %q, not the stored bytes", d.Raw[:min(len(d.Raw), 40)])
			}
		}
	}
	if raws != 2 { // deep and garbage do not decode as records at all
		t.Errorf("%d dead letters keep raw bytes, want 2 (deep, garbage)", raws)
	}
	t.Logf("injected %d good and %d poison records: %d delivered once, %d dead letters", len(good), len(poison), len(good), len(dead))
}
