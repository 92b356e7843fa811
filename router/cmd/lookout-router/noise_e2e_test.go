package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// shellAlert is a Terminal shell alert from a pod of the dev/web Deployment.
func shellAlert(i int, ns string) (string, string) {
	id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
	return id, fmt.Sprintf(`{"hostname":"node-1","output":"shell %d","output_fields":{"k8s.ns.name":%q,"k8s.pod.name":"web-7d9f8b6c4-%s","proc.exepath":"/bin/bash","proc.pid":%d},"priority":"Warning","rule":"Terminal shell in container","source":"syscall","tags":["container"],"time":"2026-11-23T10:00:00.000000000Z","uuid":%q}`,
		i, ns, []string{"xk2lp", "q8zz7", "bcdfg", "zzzzz", "wxwxw"}[i%5], 1000+i, id)
}

func postAlert(t *testing.T, addr, body string) {
	t.Helper()
	resp, err := http.Post("http://"+addr+"/", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ingest: %s", resp.Status)
	}
}

// cli runs the router binary's subcommand against addr.
func cli(t *testing.T, addr string, args ...string) string {
	t.Helper()
	cmd := exec.Command(routerBinary(t), append(args, "--url", "http://"+addr)...)
	cmd.Env = append(os.Environ(), "LOOKOUT_ADMIN_TOKEN=adm1n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("lookout-router %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestNoiseEndToEnd drives the baseline workflow against the real binary:
// a new finding notifies once, repeats are held back but recorded, a
// finding marked expected with the CLI stays quiet, a silence made with
// the CLI holds back another namespace, and all of it survives kill -9.
func TestNoiseEndToEnd(t *testing.T) {
	dir := t.TempDir()
	notifyAddr, recordAddr, addr := freeAddr(t), freeAddr(t), freeAddr(t)
	notify := newCountingSink(t, notifyAddr, 0)
	record := newCountingSink(t, recordAddr, 0)
	cfg := writeConfig(t, dir, fmt.Sprintf(`
listen: %s
admin: {tokens: [adm1n]}
queue: {dir: %s/q}
outputs:
  - {name: slack, type: webhook, notify: new, webhook: {url: "http://%s/"}}
  - {name: es, type: webhook, record: true, webhook: {url: "http://%s/"}}
`, addr, dir, notifyAddr, recordAddr))
	router := startRouter(t, cfg, addr)

	id1, a1 := shellAlert(1, "dev")
	postAlert(t, addr, a1)
	notify.waitFor(t, []string{id1}, 20*time.Second)
	var ids []string
	for i := 2; i <= 5; i++ {
		id, a := shellAlert(i, "dev")
		postAlert(t, addr, a)
		ids = append(ids, id)
	}
	record.waitFor(t, append(ids, id1), 20*time.Second)
	if _, total := notify.duplicates(); total != 1 {
		t.Fatalf("the notifying output got %d alerts for one finding, want 1", total)
	}

	out := cli(t, addr, "findings", "list", "--status", "new")
	if !strings.Contains(out, "Terminal shell in container") || !strings.Contains(out, "k8s.workload.name=web") {
		t.Fatalf("findings list:\n%s", out)
	}
	var fs []struct {
		ID    string `json:"id"`
		Count int    `json:"count"`
	}
	if err := json.Unmarshal([]byte(cli(t, addr, "findings", "list", "--json")), &fs); err != nil || len(fs) != 1 || fs[0].Count != 5 {
		t.Fatalf("findings list --json: %+v %v", fs, err)
	}
	if out := cli(t, addr, "findings", "mark", "expected", fs[0].ID, "--by", "alice", "--comment", "SREs debug web"); !strings.Contains(out, "1 finding(s) marked expected") {
		t.Fatalf("mark: %s", out)
	}
	silence := strings.TrimSpace(cli(t, addr, "silence", "add", "k8s.ns.name glob staging-*", "--comment", "staging is noisy", "--author", "bob", "--duration", "1h"))
	if len(silence) != 16 {
		t.Fatalf("silence add printed %q, want an id", silence)
	}
	if out := cli(t, addr, "silence", "list"); !strings.Contains(out, silence) || !strings.Contains(out, `k8s.ns.name glob "staging-*"`) {
		t.Fatalf("silence list:\n%s", out)
	}

	// kill -9: the finding's status and the silence are as durable as the queue.
	_ = router.Process.Signal(syscall.SIGKILL)
	_ = router.Wait()
	startRouter(t, cfg, addr)
	id6, a6 := shellAlert(6, "dev")
	id7, a7 := shellAlert(7, "staging-3")
	id8, a8 := shellAlert(8, "prod")
	postAlert(t, addr, a6)
	postAlert(t, addr, a7)
	postAlert(t, addr, a8)
	record.waitFor(t, []string{id6, id7, id8}, 20*time.Second)
	notify.waitFor(t, []string{id8}, 20*time.Second)
	notify.mu.Lock()
	held6, held7 := notify.count[id6], notify.count[id7]
	notify.mu.Unlock()
	if held6 != 0 || held7 != 0 {
		t.Fatalf("expected finding notified %d, silenced one %d (want 0, 0)", held6, held7)
	}
	if out := cli(t, addr, "silence", "list", "--json"); !strings.Contains(out, `"held_back":1`) {
		t.Fatalf("silence held-back count after a restart: %s", out)
	}
	cli(t, addr, "silence", "expire", silence)
	if out := cli(t, addr, "silence", "list", "--state", "expired"); !strings.Contains(out, silence) {
		t.Fatalf("expired silences:\n%s", out)
	}
	out = cli(t, addr, "learn", "start", "--for", "1h", "--match", "k8s.ns.name = qa")
	if !strings.Contains(out, "learning until") {
		t.Fatalf("learn start: %s", out)
	}
	if out := cli(t, addr, "learn", "status"); !strings.Contains(out, "k8s.ns.name = \"qa\"") {
		t.Fatalf("learn status:\n%s", out)
	}
}
