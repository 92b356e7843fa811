package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser starts headless Chromium (Debian's chromium, installed by
// `make test-deps-ui`) at a 1280 px wide window.
func browser(t testing.TB) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium is missing: %v", err)
		}
		t.Skipf("chromium is missing (%v); `make test-deps-ui` installs it", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(t.TempDir()))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	// The first call starts the browser, which lives as long as ctx (no
	// timeout on it; every later step has its own).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// artifacts is where failing browser tests leave screenshots:
// $LOOKOUT_TEST_ARTIFACTS, else testdata/artifacts (git-ignored).
func artifacts(t *testing.T) string {
	dir := os.Getenv("LOOKOUT_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("testdata", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("artifacts: %v", err)
	}
	return dir
}

type page struct {
	t    *testing.T
	ctx  context.Context
	base string
	shot int
}

// stepTimeout bounds one group of steps (generous: a loaded 2-core
// machine renders slowly).
const stepTimeout = 60 * time.Second

func (p *page) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.fail("%s: %v", what, err)
	}
}

// click clicks the element sel, trying again for a while when the node
// went away between finding and clicking it (a page still loading or
// re-rendering a list: "Could not find node with given id").
func (p *page) click(what, sel string) {
	p.t.Helper()
	var err error
	for range 10 {
		ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
		err = chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
		cancel()
		if err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	p.fail("%s: %v", what, err)
}

// eval returns the value of a JavaScript expression.
func eval[T any](p *page, what, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.fail("%s: %v", what, err)
	}
	return v
}

// fail saves a screenshot of the page as it is and fails the test.
func (p *page) fail(format string, args ...any) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	url, _ := chromedp.Run(ctx, chromedp.Location())
	if buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		f := filepath.Join(artifacts(p.t), fmt.Sprintf("%s-%d.png", strings.ReplaceAll(p.t.Name(), "/", "_"), p.shot))
		p.shot++
		if err := os.WriteFile(f, buf, 0o644); err == nil {
			p.t.Logf("screenshot of %s saved to %s", url, f)
		}
	}
	p.t.Fatalf(format, args...)
}

// waitFor evaluates cond (JavaScript, true when done) until it holds,
// reloading the page between tries when reload is set.
func (p *page) waitFor(what, cond string, reload bool) {
	p.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			p.fail("waiting for %s: %s never held", what, cond)
		}
		if reload {
			ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
			_ = chromedp.Do(ctx, chromedp.Reload())
			cancel()
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// freshAlert is shellAlert stamped now (the UI searches the last 24 h by
// default, and the history drops alerts past ui.history.max_age).
func freshAlert(i int, ns string) (string, string) {
	id, body := shellAlert(i, ns)
	return id, strings.Replace(body, "2026-11-23T10:00:00.000000000Z", time.Now().UTC().Format(time.RFC3339Nano), 1)
}

// postSpread posts n alerts of several rules, priorities and namespaces
// spread over the last hour in one batch.
func postSpread(t *testing.T, addr string, n int) {
	t.Helper()
	rules := []string{"Terminal shell in container", "Read sensitive file untrusted", "Write below etc", "Contact K8S API Server From Container", "Drop and execute new binary in container"}
	prios := []string{"Warning", "Notice", "Error", "Critical", "Informational"}
	var b strings.Builder
	now := time.Now().UTC()
	for i := range n {
		at := now.Add(-time.Duration((i*37)%3600) * time.Second)
		fmt.Fprintf(&b, `{"hostname":"node-%d","output":"spread %d","output_fields":{"k8s.ns.name":"team-%d","k8s.pod.name":"api-7d9f8b6c4-xk2lp","proc.name":"sh","n":%d},"priority":%q,"rule":%q,"source":"syscall","tags":["demo"],"time":%q}`+"\n",
			i%4, i, i%3, i%5, prios[(i*i)%len(prios)], rules[(i*7/3)%len(rules)], at.Format(time.RFC3339Nano))
	}
	resp, err := http.Post("http://"+addr+"/v1/alerts", "application/x-ndjson", strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("batch ingest: %s", resp.Status)
	}
}

func jsString(s string) string { b, _ := json.Marshal(s); return string(b) }

// textIn is JavaScript: the element sel contains text.
func textIn(sel, text string) string {
	return fmt.Sprintf(`(function(){var e=document.querySelector(%s);return !!e&&e.textContent.indexOf(%s)>=0})()`, jsString(sel), jsString(text))
}

// screenshot saves the viewport as PNG to $LOOKOUT_UI_SCREENSHOTS/name.png
// when that is set (make ui-screenshots writes docs/img).
func (p *page) screenshot(name string) {
	dir := os.Getenv("LOOKOUT_UI_SCREENSHOTS")
	if dir == "" {
		return
	}
	var (
		buf []byte
		err error
	)
	for range 3 { // a capture can stall on a loaded machine; try again
		ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
		buf, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
		cancel()
		if err == nil {
			break
		}
	}
	if err != nil {
		p.fail("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// flakySink fails every request with 400 (a permanent error: straight to
// the dead letters) until ok is set, then counts uuids.
type flakySink struct {
	ok atomic.Bool
	mu sync.Mutex
	n  map[string]int
}

func newFlakySink(t *testing.T, addr string) *flakySink {
	s := &flakySink{n: map[string]int{}}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a struct {
			UUID string `json:"uuid"`
		}
		_ = json.NewDecoder(r.Body).Decode(&a)
		if !s.ok.Load() {
			http.Error(w, "not today", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.n[a.UUID]++
		s.mu.Unlock()
	})}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

func (s *flakySink) got(uuid string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[uuid] > 0
}

// TestUIInBrowser drives the triage UI in headless Chromium against the
// real binary: log in with the keyboard, see a posted alert in the live
// stream, find it by an output field, mark its finding expected and see a
// second identical alert held back from the notify: new output, create a
// silence from an alert, replay a dead letter; check labels, keyboard
// focus and the 390 px layout on the way.
func TestUIInBrowser(t *testing.T) {
	ctx := browser(t)
	dir := t.TempDir()
	notifyAddr, dlqAddr, addr := freeAddr(t), freeAddr(t), freeAddr(t)
	notify := newCountingSink(t, notifyAddr, 0)
	dlq := newFlakySink(t, dlqAddr)
	cfg := writeConfig(t, dir, fmt.Sprintf(`
listen: %s
admin: {tokens: [adm1n]}
ui: {viewer_tokens: [v1ew]}
queue: {dir: %s/q}
outputs:
  - {name: slack, type: webhook, notify: new, webhook: {url: "http://%s/"}}
  - {name: archive, type: webhook, record: true, retry: {max_attempts: 1}, webhook: {url: "http://%s/"}}
`, addr, dir, notifyAddr, dlqAddr))
	startRouter(t, cfg, addr)
	p := &page{t: t, ctx: ctx, base: "http://" + addr}

	// Log in with the keyboard only: the token field has focus, Enter submits.
	p.run("login page", chromedp.Navigate(p.base+"/ui/"), chromedp.WaitVisible(chromedp.CSS("#token")))
	p.checkLabels("login")
	p.screenshot("login")
	p.run("log in", chromedp.SendKeys(chromedp.CSS("#token"), "adm1n"), chromedp.SendKeys(chromedp.CSS("#name"), "alice"), chromedp.SendKeys(chromedp.CSS("#name"), "\r"))
	p.waitFor("the overview after login", textIn("h1", "Overview"), false)

	// Live: the posted alert shows up (a generous wait, not a timing test).
	p.run("live page", chromedp.Navigate(p.base+"/ui/live"), chromedp.WaitVisible(chromedp.CSS("#live-body")))
	p.waitFor("the live stream to connect", textIn("#live-status", "live"), false)
	id1, a1 := freshAlert(101, "shop")
	posted := time.Now()
	postAlert(t, addr, a1)
	p.waitFor("the alert in the live stream", textIn("#live-body", "shell 101"), false)
	t.Logf("posted alert drawn in the live stream after %s (issue 13: within 2 s; measured, not asserted)", time.Since(posted).Round(time.Millisecond))
	p.checkLabels("live")
	p.screenshot("live")
	p.run("pause", chromedp.Click(chromedp.CSS("#live-pause")))
	p.waitFor("paused", textIn("#live-status", "paused"), false)
	p.run("resume", chromedp.Click(chromedp.CSS("#live-pause")))
	notify.waitFor(t, []string{id1}, 30*time.Second)

	// Search by an output field, open the alert.
	p.run("search", chromedp.Navigate(p.base+"/ui/search"), chromedp.WaitVisible(chromedp.CSS("#s-fields")),
		chromedp.SendKeys(chromedp.CSS("#s-fields"), "proc.pid=1101"), chromedp.Click(chromedp.CSS(`form.search button[type="submit"]`)))
	p.waitFor("the alert in the results", fmt.Sprintf(`!!document.querySelector('a[href="/ui/alerts/%s"]')`, id1), true)
	p.checkLabels("search")
	p.screenshot("search")
	p.click("open the alert", fmt.Sprintf(`a[href="/ui/alerts/%s"]`, id1))
	p.waitFor("the alert page", textIn("#finding-status", "new"), false)
	p.waitFor("the delivery table", textIn("main", "queued for delivery"), false)

	// Mark its finding expected; a second identical alert is held back.
	p.run("mark expected", chromedp.SendKeys(chromedp.CSS(`form.mark input[name="comment"]`), "shop team debugs here"),
		chromedp.Click(chromedp.CSS(`form.mark button[value="expected"]`)))
	p.waitFor("the finding marked expected", textIn("#finding-status", "expected"), false)
	p.screenshot("alert")
	id2, a2 := freshAlert(102, "shop")
	postAlert(t, addr, a2)
	p.run("second alert", chromedp.Navigate(p.base+"/ui/alerts/"+id2))
	p.waitFor("the second alert held back", textIn("main", "held back: expected"), true)
	notify.mu.Lock()
	got2 := notify.count[id2]
	notify.mu.Unlock()
	if got2 != 0 {
		p.fail("the notify: new output got the second alert of an expected finding")
	}

	// Create a silence from the alert: matchers are pre-filled.
	p.run("silence from alert", chromedp.Click(chromedp.CSS(`a[href^="/ui/silences/new?from="]`)), chromedp.WaitVisible(chromedp.CSS("#n-matchers")))
	matchers := eval[string](p, "read matchers", `document.getElementById("n-matchers").value`)
	if !strings.Contains(matchers, `rule = "Terminal shell in container"`) || !strings.Contains(matchers, `k8s.ns.name = "shop"`) {
		p.fail("matchers not pre-filled from the alert: %q", matchers)
	}
	p.checkLabels("new silence")
	p.screenshot("silence-new")
	p.run("create silence", chromedp.SendKeys(chromedp.CSS("#n-comment"), "maintenance window"), chromedp.Click(chromedp.CSS(`form[aria-label="New silence"] button`)))
	p.waitFor("the silence listed", textIn("main", "maintenance window"), false)
	p.waitFor("the notice", textIn(".notice", "created"), false)
	p.screenshot("silences")

	// Findings page: bulk form, keyboard reachable.
	p.run("findings", chromedp.Navigate(p.base+"/ui/findings"), chromedp.WaitVisible(chromedp.CSS("#select-all")))
	p.checkLabels("findings")
	p.screenshot("findings")

	// The archive output dead-lettered both alerts (400 is permanent);
	// once it recovers, replay one from the outputs page.
	p.run("outputs", chromedp.Navigate(p.base+"/ui/outputs"))
	p.waitFor("dead letters listed", textIn(`section[aria-labelledby="o-archive"]`, "not today"), true)
	p.screenshot("outputs")
	dlq.ok.Store(true)
	p.click("replay one", `section[aria-labelledby="o-archive"] td form[action$="/replay"] button`)
	p.waitFor("the replay notice", textIn(".notice", "1 dead letter(s) of archive queued again"), false)
	deadline := time.Now().Add(30 * time.Second)
	for !dlq.got(id1) && !dlq.got(id2) {
		if time.Now().After(deadline) {
			p.fail("the replayed dead letter never reached the output")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Overview: a spread of alerts over the last hour draws the charts.
	postSpread(t, addr, 400)
	p.run("overview", chromedp.Navigate(p.base+"/ui/?r=1h"))
	p.waitFor("the chart's bars", `document.querySelectorAll("svg.chart rect").length > 20`, true)
	p.checkLabels("overview")
	p.screenshot("overview")

	// Keyboard: the first Tab reaches the skip link.
	p.run("tab", chromedp.KeyEvent("\t"))
	active := eval[string](p, "focus", `document.activeElement.textContent`)
	if active != "Skip to content" {
		p.fail("first Tab focused %q, want the skip link", active)
	}

	// 390 px: nothing wider than the screen on any page.
	p.run("narrow", chromedp.EmulateViewport(390, 844))
	for _, u := range []string{"/ui/?r=1h", "/ui/live", "/ui/search", "/ui/alerts/" + id1, "/ui/findings", "/ui/silences", "/ui/outputs"} {
		p.run("narrow "+u, chromedp.Navigate(p.base+u), chromedp.WaitVisible(chromedp.CSS("main")))
		w := eval[int](p, "width", `document.documentElement.scrollWidth`)
		if w > 390 {
			p.fail("%s at 390 px is %d px wide (scrolls sideways)", u, w)
		}
	}
	p.run("narrow search", chromedp.Navigate(p.base+"/ui/search?r=24h"), chromedp.WaitVisible(chromedp.CSS("main")))
	p.screenshot("search-390")

	// A viewer sees the pages but no buttons that change anything.
	p.run("log out", chromedp.EmulateViewport(1280, 900), chromedp.Click(chromedp.CSS(".logout button")), chromedp.WaitVisible(chromedp.CSS("#token")))
	p.run("viewer login", chromedp.SendKeys(chromedp.CSS("#token"), "v1ew\r"))
	p.waitFor("the overview after login", textIn("h1", "Overview"), false)
	p.run("viewer alert", chromedp.Navigate(p.base+"/ui/alerts/"+id1), chromedp.WaitVisible(chromedp.CSS("#finding-status")))
	marks := eval[int](p, "count forms", `document.querySelectorAll('form.mark, a[href^="/ui/silences/new"]').length`)
	if marks != 0 {
		p.fail("a viewer sees %d change controls", marks)
	}
}

// checkLabels fails when a visible form control has no label.
func (p *page) checkLabels(name string) {
	p.t.Helper()
	unlabelled := eval[[]string](p, "labels "+name, `Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))
		.filter(function(e){ return !(e.labels && e.labels.length) && !e.getAttribute('aria-label') })
		.map(function(e){ return e.outerHTML })`)
	if len(unlabelled) > 0 {
		p.fail("%s: controls without a label: %v", name, unlabelled)
	}
}
