package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// capture is a local server that hands every request body to a channel,
// answering like Slack's webhook and Elasticsearch's bulk API.
func capture(t *testing.T) (string, chan string) {
	t.Helper()
	got := make(chan string, 16)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		switch {
		case r.URL.Path == "/_bulk":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"errors":false,"items":[{"index":{"status":201}}]}`)
		default:
			_, _ = io.WriteString(w, "ok")
		}
		got <- r.URL.Path + " " + string(b)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String(), got
}

// TestConfigImportEndToEnd converts a Falcosidekick config whose Slack and
// Elasticsearch outputs point at local capture servers, runs the real
// router with the result, posts a Falco alert and checks that Slack gets
// Falcosidekick's layout and Elasticsearch Falcosidekick's document.
func TestConfigImportEndToEnd(t *testing.T) {
	dir := t.TempDir()
	slackURL, slackGot := capture(t)
	esURL, esGot := capture(t)
	addr := freeAddr(t)
	host, port, _ := net.SplitHostPort(addr)
	src := fmt.Sprintf("listenaddress: %s\nlistenport: %s\nslack:\n  webhookurl: %s/services/T/B/x\n  minimumpriority: warning\n"+
		"elasticsearch:\n  hostport: %s\n  flattenfields: true\n", host, port, slackURL, esURL)
	in, out := filepath.Join(dir, "falcosidekick.yaml"), filepath.Join(dir, "lookout.yaml")
	if err := os.WriteFile(in, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(routerBinary(t), "config", "import", in, "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("config import: %v\n%s", err, b)
	}
	cmd := exec.Command(routerBinary(t), "--config", out, "--log-level", "warn")
	cmd.Env = append(os.Environ(), "LOOKOUT_QUEUE_DIR="+filepath.Join(dir, "queue"))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	before := time.Now().UTC().Format("2006.01.02")
	var resp *http.Response
	var err error
	for range 400 {
		if resp, err = http.Post("http://"+addr+"/", "application/json", strings.NewReader(mustRead(t, "../../api/testdata/terminal_shell_in_container.json"))); err == nil {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("router never answered: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	wait := func(ch chan string, what string) string {
		select {
		case s := <-ch:
			return s
		case <-time.After(60 * time.Second):
			t.Fatalf("no %s request within 60s", what)
			return ""
		}
	}
	var msg struct {
		Username    string `json:"username"`
		Attachments []struct {
			Footer string `json:"footer"`
			Fields []struct {
				Title string `json:"title"`
			} `json:"fields"`
		} `json:"attachments"`
	}
	body := strings.TrimPrefix(wait(slackGot, "Slack"), "/services/T/B/x ")
	if err := json.Unmarshal([]byte(body), &msg); err != nil || len(msg.Attachments) != 1 {
		t.Fatalf("slack body %s: %v", body, err)
	}
	if a := msg.Attachments[0]; msg.Username != "Falcosidekick" || a.Footer != "https://github.com/falcosecurity/falcosidekick" ||
		len(a.Fields) == 0 || a.Fields[0].Title != "rule" {
		t.Errorf("slack message is not Falcosidekick's layout: %s", body)
	}
	bulk := strings.TrimPrefix(wait(esGot, "Elasticsearch"), "/_bulk ")
	sc := bufio.NewScanner(strings.NewReader(bulk))
	var lines [][]byte
	for sc.Scan() {
		lines = append(lines, bytes.Clone(sc.Bytes()))
	}
	if len(lines) != 2 {
		t.Fatalf("bulk body %q", bulk)
	}
	after := time.Now().UTC().Format("2006.01.02")
	if !bytes.Contains(lines[0], []byte(`"_index":"falco-`+before+`"`)) && !bytes.Contains(lines[0], []byte(`"_index":"falco-`+after+`"`)) {
		t.Errorf("index is not today's (ingest date): %s", lines[0])
	}
	var doc map[string]any
	if err := json.Unmarshal(lines[1], &doc); err != nil {
		t.Fatal(err)
	}
	fields, _ := doc["output_fields"].(map[string]any)
	if doc["@timestamp"] != "2023-05-25T13:44:05.478445995Z" || fields["proc_name"] != "sh" || doc["uuid"] == nil {
		t.Errorf("document is not Falcosidekick's shape: %s", lines[1])
	}
}
