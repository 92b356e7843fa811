package ui

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/history"
	"github.com/lookout-sec/lookout/router/internal/noise"
)

type fixture struct {
	srv   *httptest.Server
	hist  *history.SQL
	noise *noise.Stage
	hub   *Hub
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	h, err := history.OpenSQLite(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	st, err := noise.New(noise.Config{Policies: []noise.Policy{{Name: "slack", New: true}}}, nil, noise.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{hist: h, noise: st, hub: NewHub()}
	ui, err := New(Options{
		AdminTokens: []string{"adm1n"}, ViewerTokens: []string{"v1ew"}, History: h, Hub: f.hub, Noise: st,
		Outputs: []string{"slack"}, Gatherer: prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	r.Mount("/ui", ui)
	f.srv = httptest.NewServer(r)
	t.Cleanup(f.srv.Close)
	return f
}

// client logs in with tok and returns the client and the CSRF token.
func (f *fixture) client(t *testing.T, tok string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.PostForm(f.srv.URL+"/ui/login", url.Values{"token": {tok}, "name": {"alice"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %s", resp.Status)
	}
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token on the page after login:\n%s", body)
	}
	return c, string(m[1])
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestLoginAndHeaders(t *testing.T) {
	f := newFixture(t)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(f.srv.URL + "/ui/search?rule=x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/login?next=%2Fui%2Fsearch%3Frule%3Dx" {
		t.Fatalf("not logged in: %s %s", resp.Status, resp.Header.Get("Location"))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("CSP: %q", csp)
	}
	resp, err = noRedirect.PostForm(f.srv.URL+"/ui/login", url.Values{"token": {"wrong"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
		t.Fatalf("wrong token: %s, cookies %v", resp.Status, resp.Cookies())
	}
	resp, err = noRedirect.PostForm(f.srv.URL+"/ui/login", url.Values{"token": {"adm1n"}, "next": {"//evil.example/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cs := resp.Cookies()
	if len(cs) != 1 || !cs[0].HttpOnly || cs[0].SameSite != http.SameSiteStrictMode || cs[0].Secure || cs[0].Path != "/ui/" {
		t.Fatalf("session cookie: %+v", cs)
	}
	if resp.Header.Get("Location") != "/ui/" {
		t.Fatalf("login redirected to %q: only pages of the UI are allowed", resp.Header.Get("Location"))
	}
	// Another site's form is refused even with a valid session.
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/ui/login", strings.NewReader("token=adm1n"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	resp, err = noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site login: %s", resp.Status)
	}
}

func TestCSRFAndRoles(t *testing.T) {
	f := newFixture(t)
	admin, csrf := f.client(t, "adm1n")
	form := url.Values{"matchers": {`rule = "Terminal shell in container"`}, "comment": {"x"}, "duration": {"1h"}}
	resp, err := admin.PostForm(f.srv.URL+"/ui/silences", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || len(f.noise.Silences("all")) != 0 {
		t.Fatalf("POST without the CSRF token: %s, %d silences", resp.Status, len(f.noise.Silences("all")))
	}
	form.Set("csrf", csrf)
	resp, err = admin.PostForm(f.srv.URL+"/ui/silences", form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(f.noise.Silences("all")) != 1 || !strings.Contains(string(body), "created") {
		t.Fatalf("POST with the token: %s, %d silences\n%s", resp.Status, len(f.noise.Silences("all")), body)
	}
	if s := f.noise.Silences("all")[0]; s.CreatedBy != "alice" {
		t.Fatalf("created_by %q, want the login's name", s.CreatedBy)
	}

	viewer, vcsrf := f.client(t, "v1ew")
	form.Set("csrf", vcsrf)
	resp, err = viewer.PostForm(f.srv.URL+"/ui/silences", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || len(f.noise.Silences("all")) != 1 {
		t.Fatalf("viewer POST: %s", resp.Status)
	}
	if code, body := get(t, viewer, f.srv.URL+"/ui/silences"); code != http.StatusOK || strings.Contains(body, ">Expire<") {
		t.Fatalf("viewer silences page: %d, expire button shown: %v", code, strings.Contains(body, ">Expire<"))
	}
}

func TestPagesRenderAndEscape(t *testing.T) {
	f := newFixture(t)
	now := time.Now().UTC()
	evil := `<script>alert("x")</script>`
	err := f.hist.Append(context.Background(), []history.Alert{{
		UUID: "u-1", Time: now, Rule: evil, Priority: api.PriorityCritical, Source: "syscall", Hostname: "node-1",
		Output: "shell " + evil, Fields: map[string]any{"proc.name": evil, "k8s.ns.name": "prod"}, Outputs: map[string]string{"slack": "expected"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := f.client(t, "adm1n")
	for _, p := range []string{"/ui/", "/ui/?r=1h", "/ui/?r=7d", "/ui/?r=custom&since=2026-01-01T00:00", "/ui/live", "/ui/search",
		"/ui/search?fields=proc.name%3D" + url.QueryEscape(evil), "/ui/alerts/u-1", "/ui/findings", "/ui/silences", "/ui/silences/new?from=u-1", "/ui/outputs"} {
		code, body := get(t, c, f.srv.URL+p)
		if code != http.StatusOK {
			t.Errorf("%s: %d\n%s", p, code, body)
		}
		if strings.Contains(body, "<script>alert") {
			t.Errorf("%s: unescaped value in the page", p)
		}
		if strings.Contains(body, "<script>") || strings.Contains(body, " style=") || strings.Contains(body, " on") && regexp.MustCompile(` on[a-z]+=`).MatchString(body) {
			t.Errorf("%s: inline script or style", p)
		}
	}
	if _, body := get(t, c, f.srv.URL+"/ui/search?fields=proc.name%3D"+url.QueryEscape(evil)); !strings.Contains(body, "1 alert(s)") {
		t.Errorf("search by the field did not find the alert:\n%s", body)
	}
	if _, body := get(t, c, f.srv.URL+"/ui/alerts/u-1"); !strings.Contains(body, "held back: expected") {
		t.Errorf("the alert page does not say why it was held back")
	}
	if code, _ := get(t, c, f.srv.URL+"/ui/alerts/nope"); code != http.StatusNotFound {
		t.Errorf("unknown alert: %d", code)
	}
	if code, body := get(t, c, f.srv.URL+"/ui/?r=forever"); code != http.StatusOK || !strings.Contains(body, "1h, 24h, 7d or custom") {
		t.Errorf("bad range: %d", code)
	}
}

func TestLiveStream(t *testing.T) {
	f := newFixture(t)
	c, _ := f.client(t, "adm1n")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.srv.URL+"/ui/live/stream?priority=Warning&q=shell", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	rd := bufio.NewReader(resp.Body)
	if l, _ := rd.ReadString('\n'); !strings.HasPrefix(l, "retry:") {
		t.Fatalf("first line %q", l)
	}
	// Wait until the stream is subscribed, then publish 300 alerts: one
	// filtered out by priority, one by words.
	for deadline := time.Now().Add(30 * time.Second); ; {
		f.hub.mu.Lock()
		n := len(f.hub.subs)
		f.hub.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the stream never subscribed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var as []history.Alert
	for range 300 {
		as = append(as, history.Alert{UUID: "u", Rule: "r", Priority: api.PriorityError, Output: "a shell"})
	}
	as = append(as, history.Alert{Priority: api.PriorityDebug, Output: "a shell"}, history.Alert{Priority: api.PriorityError, Output: "other"})
	f.hub.Publish(as)
	for {
		l, err := rd.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if d, ok := strings.CutPrefix(l, "data: "); ok {
			if !strings.Contains(d, `"matched":300`) || strings.Count(d, `"uuid"`) != liveMax {
				t.Fatalf("event: %s", d)
			}
			return
		}
	}
}
