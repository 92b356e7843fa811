package k8saudit

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestWebhookRejectsBadInput sends what a misconfigured client or an
// attacker may send: each gets a clear 4xx naming the problem and is
// counted by reason, and nothing of a bad batch is evaluated.
func TestWebhookRejectsBadInput(t *testing.T) {
	var c collector
	s := newTestSource(t, &c)
	s.opts.MaxBodyBytes = 1 << 20
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	good := string(fixtureLines(t)[0])
	cases := []struct {
		name, method, body, encoding string
		code                         int
		reason, msg                  string
	}{
		{"malformed", "POST", `{"kind":"EventList",`, "", 400, "json", "malformed JSON"},
		{"not an object", "POST", `[1,2]`, "", 400, "json", "expected a JSON object"},
		{"wrong apiVersion", "POST", `{"kind":"EventList","apiVersion":"audit.k8s.io/v1beta1","items":[]}`, "", 400, "api_version", `apiVersion "audit.k8s.io/v1beta1": expected "audit.k8s.io/v1"`},
		{"wrong kind", "POST", `{"kind":"Policy","apiVersion":"audit.k8s.io/v1"}`, "", 400, "kind", `kind "Policy": expected EventList or Event`},
		{"item without auditID", "POST", `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[` + good + `,{"stage":"ResponseComplete"}]}`, "", 400, "event", "items[1]: missing or empty auditID"},
		{"GET", "GET", "", "", 405, "method", "POST an audit.k8s.io/v1 EventList"},
		{"gzip", "POST", good, "gzip", 415, "content_encoding", `Content-Encoding "gzip" is not supported`},
		{"oversized", "POST", `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[` + strings.Repeat(good+",", (1<<20)/len(good)+1) + good + `]}`, "", 413, "too_large", "body over 1048576 bytes"},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(tc.method, srv.URL, strings.NewReader(tc.body))
		if tc.encoding != "" {
			req.Header.Set("Content-Encoding", tc.encoding)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(string(b), tc.msg) {
			t.Errorf("%s: %d %q, want %d containing %q", tc.name, resp.StatusCode, b, tc.code, tc.msg)
		}
		if n := testutil.ToFloat64(s.rejected.WithLabelValues("webhook", tc.reason)); n < 1 {
			t.Errorf("%s: rejected{reason=%s} = %v", tc.name, tc.reason, n)
		}
	}
	if n := len(c.all()); n != 0 {
		t.Errorf("%d alerts from rejected requests", n)
	}
	// A good batch is accepted.
	resp, err := http.Post(srv.URL, "application/json", bytes.NewReader(eventList(fixtureLines(t))))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(c.all()) == 0 {
		t.Errorf("good batch: %d, %d alerts", resp.StatusCode, len(c.all()))
	}
}
