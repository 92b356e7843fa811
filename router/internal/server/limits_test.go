package server

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/metrics"
	"github.com/lookout-sec/lookout/router/internal/pipeline"
	"github.com/lookout-sec/lookout/router/internal/queue"
)

func limitServer(t *testing.T, lim Limits) *httptest.Server {
	t.Helper()
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	q, err := queue.Open(queue.Options{Outputs: []queue.OutputOptions{{Name: "q"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	fan := pipeline.NewFanout([]pipeline.Route{{Name: "q", Filter: pipeline.Filter{MinPriority: api.PriorityDebug}}}, q, m, nil)
	h := New(Options{Tokens: []string{"s3cret"}, BodyLimit: 200, Ingester: fan, Metrics: m, Gatherer: reg,
		Logger: slog.New(slog.DiscardHandler), Limits: lim})
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = lim.Listener(srv.Listener)
	srv.Config = lim.HTTPServer(h)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, method, url, auth, ctype string, body io.Reader) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, body)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// TestAuthContentTypeAndAdvertisedLimit: issue 16 items 5 and 9 (bearer
// scheme case), and the body-limit contract the sensor splits batches by.
func TestAuthContentTypeAndAdvertisedLimit(t *testing.T) {
	srv := limitServer(t, Limits{})
	cases := []struct {
		name, path, auth, ctype, body string
		code                          int
	}{
		{"Bearer", "/", "Bearer s3cret", "application/json", good, 200},
		{"bearer lower case", "/", "bearer s3cret", "application/json", good, 200},
		{"BEARER", "/v1/alerts", "BEARER s3cret", "application/x-ndjson", good, 200},
		{"json with charset", "/v1/alerts", "Bearer s3cret", "application/json; charset=utf-8", "[" + good + "]", 200},
		{"basic scheme", "/", "Basic s3cret", "application/json", good, 401},
		{"no space", "/", "Bearers3cret", "application/json", good, 401},
		{"text/plain (a cross-site simple POST)", "/", "Bearer s3cret", "text/plain", good, 415},
		{"form", "/v1/alerts", "Bearer s3cret", "application/x-www-form-urlencoded", good, 415},
		{"no content type", "/", "Bearer s3cret", "", good, 415},
		{"too large", "/", "Bearer s3cret", "application/json", strings.Repeat(" ", 300) + good, 413},
		{"too large batch", "/v1/alerts", "Bearer s3cret", "application/json", strings.Repeat(" ", 300) + good, 413},
		{"bad alert", "/v1/alerts", "Bearer s3cret", "application/json", "{}", 400},
		{"no token", "/v1/alerts", "", "application/json", good, 401},
	}
	for _, c := range cases {
		resp, b := do(t, "POST", srv.URL+c.path, c.auth, c.ctype, strings.NewReader(c.body))
		if resp.StatusCode != c.code {
			t.Errorf("%s: %d %q, want %d", c.name, resp.StatusCode, b, c.code)
		}
		if got := resp.Header.Get(api.HeaderMaxBodyBytes); got != "200" {
			t.Errorf("%s: %s = %q, want 200", c.name, api.HeaderMaxBodyBytes, got)
		}
	}
	if resp, b := do(t, "GET", srv.URL+api.PathLimits, "Bearer s3cret", "", nil); resp.StatusCode != 200 || b != `{"max_body_bytes":200}`+"\n" {
		t.Errorf("GET /v1/limits: %d %q", resp.StatusCode, b)
	}
	if resp, _ := do(t, "GET", srv.URL+api.PathLimits, "", "", nil); resp.StatusCode != 401 {
		t.Errorf("GET /v1/limits without a token: %d, want 401", resp.StatusCode)
	}
}

// TestMaxRequestsAnswers503: a client holding its body back keeps its slot;
// the next request beyond max_requests gets 503 at once, and once the slow
// one finishes a request goes through again.
func TestMaxRequestsAnswers503(t *testing.T) {
	srv := limitServer(t, Limits{MaxRequests: 1, BodyTimeout: time.Minute})
	pr, pw := io.Pipe()
	slow := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", srv.URL+"/", pr)
		req.Header.Set("Authorization", "Bearer s3cret")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			slow <- 0
			return
		}
		resp.Body.Close()
		slow <- resp.StatusCode
	}()
	_, _ = pw.Write([]byte(good[:10]))
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, b := do(t, "POST", srv.URL+"/", "Bearer s3cret", "application/json", strings.NewReader(good))
		if resp.StatusCode == 503 {
			if !strings.Contains(b, "server.max_requests=1") || resp.Header.Get("Retry-After") == "" {
				t.Errorf("503 body %q, Retry-After %q", b, resp.Header.Get("Retry-After"))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 503 while a slow request holds the only slot (last: %d %q)", resp.StatusCode, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, _ = pw.Write([]byte(good[10:]))
	_ = pw.Close()
	if code := <-slow; code != 200 {
		t.Fatalf("slow request: %d", code)
	}
	if resp, b := do(t, "POST", srv.URL+"/", "Bearer s3cret", "application/json", strings.NewReader(good)); resp.StatusCode != 200 {
		t.Fatalf("after the slow one: %d %q", resp.StatusCode, b)
	}
}

// TestMaxConnections: connections past the cap get a bare 503 and are
// closed; closing one frees its slot.
func TestMaxConnections(t *testing.T) {
	srv := limitServer(t, Limits{MaxConnections: 2})
	addr := strings.TrimPrefix(srv.URL, "http://")
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	// The listener accepts in order: the third connection is refused once
	// the first two are accepted; retry until it is (accepting is async).
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if strings.HasPrefix(line, "HTTP/1.1 503") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("third connection answered %q, want 503", line)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, c := range held {
		c.Close()
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(srv.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("after closing the held connections: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
