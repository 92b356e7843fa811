package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestEndpointKeepsQuery checks that the batch path is joined to the base
// URL's path, before its query (issue 16: it was appended after it).
func TestEndpointKeepsQuery(t *testing.T) {
	tests := []struct{ base, want string }{
		{"http://r:2801", "http://r:2801/v1/alerts"},
		{"http://r:2801/", "http://r:2801/v1/alerts"},
		{"https://r/lookout/?token=s3cret", "https://r/lookout/v1/alerts?token=s3cret"},
		{"http://u:p@r:2801?a=1&b=2", "http://u:p@r:2801/v1/alerts?a=1&b=2"},
	}
	for _, tt := range tests {
		got, err := Endpoint(tt.base, PathBatch)
		if err != nil || got != tt.want {
			t.Errorf("Endpoint(%q) = %q, %v; want %q", tt.base, got, err, tt.want)
		}
	}
}

// TestRedactURL checks that user info and query values never survive.
func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://r:2801/v1/alerts", "http://r:2801/v1/alerts"},
		{"https://r/x/v1/alerts?token=s3cret&env=prod", "https://r/x/v1/alerts?env=REDACTED&token=REDACTED"},
		{"http://user:s3cret@r:2801/", "http://REDACTED@r:2801/"},
		{"http://r/#s3cret", "http://r/"},
		{"http://r/%zz?token=s3cret", "[unparsable URL redacted]"},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestSendQueryURL posts to a router URL with a query: the request goes to
// /v1/alerts with the query kept, and a network error does not show the
// query's token.
func TestSendQueryURL(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Path + "?" + r.URL.RawQuery
		w.Header().Set(HeaderMaxBodyBytes, "4096")
		w.WriteHeader(http.StatusOK)
	}))
	c := &Client{URL: srv.URL + "/base?token=s3cret"}
	max, err := c.SendJSON(context.Background(), []byte("[]"))
	if err != nil || got != "/base/v1/alerts?token=s3cret" || max != 4096 {
		t.Fatalf("SendJSON: %v, path %q, max %d", err, got, max)
	}
	srv.Close()
	err = c.Send(context.Background(), []Alert{{Rule: "r"}})
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "token=REDACTED") {
		t.Fatalf("error after the server closed: %v", err)
	}
}
