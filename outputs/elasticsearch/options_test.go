package elasticsearch

import (
	"bufio"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/outputs"
	"github.com/lookout-sec/lookout/outputs/outputtest"
	"github.com/lookout-sec/lookout/router/api"
)

// bulkRequest is one _bulk request as the fake server saw it.
type bulkRequest struct {
	header http.Header
	ids    []string // document _ids in order
	bytes  int
}

// scripted is a fake Elasticsearch whose n-th bulk request is answered by
// answer(n, ids): a status and, for 2xx, per-item statuses.
func scripted(t *testing.T, tlsServer bool, answer func(n int, ids []string) (int, []int)) (*httptest.Server, func() []bulkRequest) {
	t.Helper()
	var mu sync.Mutex
	var reqs []bulkRequest
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Content-Type", "application/json")
		var ids []string
		size := 0
		sc := bufio.NewScanner(r.Body)
		sc.Buffer(make([]byte, 1<<20), 8<<20)
		for i := 0; sc.Scan(); i++ {
			size += len(sc.Bytes()) + 1
			if i%2 == 0 {
				_, id, _ := strings.Cut(sc.Text(), `"_id":"`)
				id, _, _ = strings.Cut(id, `"`)
				ids = append(ids, id)
			}
		}
		mu.Lock()
		n := len(reqs)
		reqs = append(reqs, bulkRequest{r.Header.Clone(), ids, size})
		mu.Unlock()
		status, items := answer(n, ids)
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "3")
		}
		w.WriteHeader(status)
		if status >= 300 {
			fmt.Fprintf(w, `{"error":{"type":"es_rejected_execution_exception"},"status":%d}`, status)
			return
		}
		var parts []string
		errs := false
		for _, s := range items {
			if s >= 300 {
				errs = true
				parts = append(parts, fmt.Sprintf(`{"index":{"status":%d,"error":{"type":"mapper_parsing_exception","reason":"bad field"}}}`, s))
			} else {
				parts = append(parts, fmt.Sprintf(`{"index":{"status":%d}}`, s))
			}
		}
		fmt.Fprintf(w, `{"took":1,"errors":%v,"items":[%s]}`, errs, strings.Join(parts, ","))
	})
	var srv *httptest.Server
	if tlsServer {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	return srv, func() []bulkRequest { mu.Lock(); defer mu.Unlock(); return append([]bulkRequest(nil), reqs...) }
}

func allOK(_ int, ids []string) (int, []int) {
	s := make([]int, len(ids))
	for i := range s {
		s[i] = 201
	}
	return 200, s
}

func numbered(n int) []*api.Alert {
	out := make([]*api.Alert, n)
	for i := range out {
		a := outputtest.Alert()
		a.UUID = fmt.Sprintf("id-%d", i)
		out[i] = a
	}
	return out
}

func TestFlushDocumentsSplits(t *testing.T) {
	cases := []struct {
		alerts, flush int
		want          []int // documents per request
	}{{1, 2, []int{1}}, {4, 2, []int{2, 2}}, {5, 2, []int{2, 2, 1}}, {5, 500, []int{5}}}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d by %d", c.alerts, c.flush), func(t *testing.T) {
			srv, reqs := scripted(t, false, allOK)
			o, err := New(Config{Addresses: []string{srv.URL}, FlushDocuments: c.flush}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := o.Send(context.Background(), numbered(c.alerts)); err != nil {
				t.Fatal(err)
			}
			var got []int
			next := 0
			for _, r := range reqs() {
				got = append(got, len(r.ids))
				for _, id := range r.ids {
					if id != fmt.Sprintf("id-%d", next) {
						t.Errorf("document %q out of order, want id-%d", id, next)
					}
					next++
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("documents per request %v, want %v", got, c.want)
			}
		})
	}
}

func TestFlushBytesSplits(t *testing.T) {
	srv, reqs := scripted(t, false, allOK)
	sizer, err := New(Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	one, _ := sizer.action(numbered(1)[0])
	limit := 2*len(one) + 10 // two documents fit, three don't
	o, err := New(Config{Addresses: []string{srv.URL}, FlushBytes: max(limit, 1024)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	perRequest := max(limit, 1024) / len(one)
	if err := o.Send(context.Background(), numbered(3*perRequest)); err != nil {
		t.Fatal(err)
	}
	rs := reqs()
	if len(rs) != 3 {
		t.Fatalf("%d requests, want 3 of %d documents", len(rs), perRequest)
	}
	for i, r := range rs {
		if r.bytes > max(limit, 1024) || len(r.ids) != perRequest {
			t.Errorf("request %d: %d bytes, %d documents", i, r.bytes, len(r.ids))
		}
	}
}

func TestItemFailuresAcrossChunks(t *testing.T) {
	srv, _ := scripted(t, false, func(n int, ids []string) (int, []int) {
		if n == 1 {
			return 200, []int{201, 400}
		}
		return allOK(n, ids)
	})
	o, _ := New(Config{Addresses: []string{srv.URL}, FlushDocuments: 2}, Options{})
	err := o.Send(context.Background(), numbered(5))
	var pe *outputs.PartialError
	if !errors.As(err, &pe) || len(pe.Failed) != 1 || pe.Failed[3] == nil || outputs.IsRetryable(pe.Failed[3]) {
		t.Fatalf("want only alert 3 failed, permanently; got %v", err)
	}
	if !strings.Contains(pe.Failed[3].Error(), "mapper_parsing_exception: bad field") {
		t.Errorf("the reason from Elasticsearch is lost: %v", pe.Failed[3])
	}
}

func TestWholeRequest429(t *testing.T) {
	t.Run("first request", func(t *testing.T) {
		srv, reqs := scripted(t, false, func(int, []string) (int, []int) { return 429, nil })
		o, _ := New(Config{Addresses: []string{srv.URL}, FlushDocuments: 2}, Options{})
		err := o.Send(context.Background(), numbered(5))
		var pe *outputs.PartialError
		if errors.As(err, &pe) || !outputs.IsRetryable(err) || outputs.RetryAfter(err) != 3*time.Second {
			t.Fatalf("want a plain retryable error with Retry-After 3s, got %v (after %v)", err, outputs.RetryAfter(err))
		}
		if n := len(reqs()); n != 1 {
			t.Errorf("%d requests after a 429, want 1 (the rest backs off)", n)
		}
	})
	t.Run("second request", func(t *testing.T) {
		srv, reqs := scripted(t, false, func(n int, ids []string) (int, []int) {
			if n == 1 {
				return 429, nil
			}
			return allOK(n, ids)
		})
		o, _ := New(Config{Addresses: []string{srv.URL}, FlushDocuments: 2}, Options{})
		err := o.Send(context.Background(), numbered(5))
		var pe *outputs.PartialError
		if !errors.As(err, &pe) || len(pe.Failed) != 3 || pe.Failed[1] != nil {
			t.Fatalf("want alerts 2-4 failed, got %v", err)
		}
		for i := 2; i < 5; i++ {
			if !outputs.IsRetryable(pe.Failed[i]) || outputs.RetryAfter(pe.Failed[i]) != 3*time.Second {
				t.Errorf("alert %d: %v", i, pe.Failed[i])
			}
		}
		if n := len(reqs()); n != 2 {
			t.Errorf("%d requests, want 2", n)
		}
	})
}

func TestMissingItemsRetryable(t *testing.T) {
	srv, _ := scripted(t, false, func(int, []string) (int, []int) { return 200, []int{201} })
	o, _ := New(Config{Addresses: []string{srv.URL}}, Options{})
	err := o.Send(context.Background(), numbered(3))
	var pe *outputs.PartialError
	if !errors.As(err, &pe) || len(pe.Failed) != 2 || !outputs.IsRetryable(pe.Failed[1]) || !outputs.IsRetryable(pe.Failed[2]) {
		t.Fatalf("items missing from the response must be retryable failures, got %v", err)
	}
}

func TestAuthAndHeaders(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want map[string]string
	}{
		{"basic", Config{Username: "elastic", Password: "pw"}, map[string]string{"Authorization": "Basic ZWxhc3RpYzpwdw=="}},
		{"api key", Config{APIKey: "a2V5OnNlY3JldA=="}, map[string]string{"Authorization": "APIKey a2V5OnNlY3JldA=="}},
		{"headers", Config{Headers: map[string]string{"X-Tenant": "sec", "X-Found-Cluster": "c1"}}, map[string]string{"X-Tenant": "sec", "X-Found-Cluster": "c1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, reqs := scripted(t, false, allOK)
			c.cfg.Addresses = []string{srv.URL}
			o, err := New(c.cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := o.Send(context.Background(), numbered(1)); err != nil {
				t.Fatal(err)
			}
			h := reqs()[0].header
			for k, v := range c.want {
				if h.Get(k) != v {
					t.Errorf("%s: %q, want %q", k, h.Get(k), v)
				}
			}
		})
	}
}

func TestCAFile(t *testing.T) {
	srv, _ := scripted(t, true, allOK)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	der := srv.Certificate().Raw
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "not.pem")
	_ = os.WriteFile(notPEM, []byte("hello"), 0o600)

	o, err := New(Config{Addresses: []string{srv.URL}, CAFile: ca}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Send(context.Background(), numbered(1)); err != nil {
		t.Fatalf("with ca_file: %v", err)
	}
	o, _ = New(Config{Addresses: []string{srv.URL}}, Options{})
	if err := o.Send(context.Background(), numbered(1)); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without ca_file the server's certificate must be refused, got %v", err)
	}
	if _, err := New(Config{CAFile: notPEM}, Options{}); err == nil || !strings.Contains(err.Error(), "elasticsearch.ca_file") {
		t.Fatalf("a file without PEM must be refused naming the key, got %v", err)
	}
}
