package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/router/api"
)

// received is one alert that reached the sink, with its arrival time.
type received struct {
	a  *api.Alert
	at time.Time
}

// sink is the webhook destination: a real HTTP server on 127.0.0.1.
type sink struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  []received
	more chan struct{} // signalled on every arrival
}

func newSink(t *testing.T) *sink {
	s := &sink{more: make(chan struct{}, 1)}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		a, err := api.DecodeAlert(body)
		if err != nil {
			t.Errorf("sink: router delivered an invalid alert: %v\n%s", err, body)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.got = append(s.got, received{a: a, at: time.Now()})
		s.mu.Unlock()
		select {
		case s.more <- struct{}{}:
		default:
		}
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sink) all() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got...)
}

// tryWait returns the first alert that satisfies match, waiting up to
// limit for it to arrive; ok is false when none did.
func (s *sink) tryWait(limit time.Duration, match func(*api.Alert) bool) (r received, ok bool) {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		for _, r := range s.all() {
			if match(r.a) {
				return r, true
			}
		}
		select {
		case <-s.more:
		case <-deadline.C:
			return received{}, false
		}
	}
}

// summary lists what the sink holds, for failure messages.
func (s *sink) summary() string {
	var rules []string
	for _, r := range s.all() {
		rules = append(rules, fmt.Sprintf("%s (%v)", r.a.Rule, r.a.OutputFields["proc.cmdline"]))
	}
	return fmt.Sprintf("%d alerts: %s", len(rules), strings.Join(rules, "; "))
}

// waitFor is tryWait that fails the test when no alert arrives.
func (s *sink) waitFor(t *testing.T, what string, limit time.Duration, match func(*api.Alert) bool) received {
	t.Helper()
	r, ok := s.tryWait(limit, match)
	if !ok {
		t.Fatalf("no alert for %s reached the sink within %s; the sink has %s", what, limit, s.summary())
	}
	return r
}

// binaries are built once per test run into binDir (removed by TestMain).
var (
	buildOnce            sync.Once
	binDir               string
	routerBin, sensorBin string
	buildErr             error
)

// build compiles the two programs once, with the flags `make build` uses
// so the build cache is shared.
func build(t testing.TB) (router, sensor string) {
	t.Helper()
	buildOnce.Do(func() {
		root, err := filepath.Abs("../..")
		if err != nil {
			buildErr = err
			return
		}
		if binDir, err = os.MkdirTemp("", "lookout-e2e-bin-"); err != nil {
			buildErr = err
			return
		}
		routerBin, sensorBin = filepath.Join(binDir, "lookout-router"), filepath.Join(binDir, "lookout-sensor")
		for _, b := range []struct{ out, pkg string }{{routerBin, "./router/cmd/lookout-router"}, {sensorBin, "./sensor/cmd/lookout-sensor"}} {
			cmd := exec.Command("go", "build", "-trimpath", "-o", b.out, b.pkg)
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", b.pkg, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return routerBin, sensorBin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func writeFile(t testing.TB, path, body string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startRouter runs the router with a webhook output to the sink and waits
// for /healthz.
func startRouter(t *testing.T, bin, dir, sinkURL string) string {
	t.Helper()
	return startRouterAt(t, bin, dir, sinkURL, freeAddr(t), "")
}

// startRouterAt is startRouter on a given address, with extra top-level
// YAML (e.g. auth) in its config.
func startRouterAt(t *testing.T, bin, dir, sinkURL, addr, extra string) string {
	t.Helper()
	cfg := writeFile(t, filepath.Join(dir, "router.yaml"), fmt.Sprintf(`listen: %s
queue: {dir: %s}
`+extra+`
outputs:
  - name: sink
    type: webhook
    min_priority: debug
    webhook: {url: %s}
`, addr, filepath.Join(dir, "queue"), sinkURL))
	cmd := exec.Command(bin, "--config", cfg)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	for range 400 {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return "http://" + addr
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("router did not answer on %s", addr)
	return ""
}

// sensorProc is a running lookout-sensor.
type sensorProc struct {
	cmd     *exec.Cmd
	mu      sync.Mutex
	log     strings.Builder
	lines   chan string
	exited  chan struct{}
	waitErr error
}

// startSensor runs the sensor with extra arguments and waits until it logs
// that it is running (the probe is attached and /proc scanned).
func startSensor(t testing.TB, bin string, args ...string) *sensorProc {
	t.Helper()
	s := &sensorProc{lines: make(chan string, 1024), exited: make(chan struct{})}
	s.cmd = exec.Command(bin, args...)
	// Each sensor spools in its own directory (the default is shared).
	s.cmd.Env = append(os.Environ(), "LOOKOUT_SPOOL_DIR="+t.TempDir())
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stdout = os.Stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.mu.Lock()
			s.log.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			select {
			case s.lines <- sc.Text():
			default:
			}
		}
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		<-s.exited
		if t.Failed() {
			t.Logf("sensor log:\n%s", s.logText())
		}
	})
	deadline := time.After(2 * time.Minute)
	for {
		select {
		case l := <-s.lines:
			if strings.Contains(l, `msg="sensor running"`) {
				return s
			}
		case <-s.exited:
			t.Fatalf("lookout-sensor exited at start-up (%v):\n%s", s.waitErr, s.logText())
		case <-deadline:
			t.Fatalf("lookout-sensor did not start within 2m:\n%s", s.logText())
		}
	}
}

func (s *sensorProc) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// waitLog waits for a log line containing want.
func (s *sensorProc) waitLog(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		if strings.Contains(s.logText(), want) {
			return
		}
		select {
		case <-s.lines:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("sensor never logged %q:\n%s", want, s.logText())
		}
	}
}

// stop sends SIGINT and waits for a clean exit.
func (s *sensorProc) stop(t testing.TB) {
	t.Helper()
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(time.Minute):
		t.Fatalf("sensor did not stop within a minute of SIGINT")
	}
	if s.waitErr != nil {
		t.Errorf("sensor exit after SIGINT: %v\n%s", s.waitErr, s.logText())
	}
}

// field returns an output field as a string ("" when absent or null).
func field(a *api.Alert, k string) string {
	v, ok := a.OutputFields[k]
	if !ok || v == nil {
		return ""
	}
	if n, ok := v.(json.Number); ok {
		return n.String()
	}
	return fmt.Sprint(v)
}

// scrape reads the sensor's /metrics at the address it logged.
func scrape(t testing.TB, s *sensorProc) string {
	t.Helper()
	log := s.logText()
	i := strings.Index(log, "msg=\"metrics endpoint\" url=")
	if i < 0 {
		t.Fatalf("the sensor did not log its metrics endpoint:\n%s", log)
	}
	url := strings.Fields(log[i+len("msg=\"metrics endpoint\" url="):])[0]
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

// kernelDrops returns the events the sensor reports lost in the kernel.
func kernelDrops(t *testing.T, s *sensorProc) float64 {
	t.Helper()
	var n float64
	for l := range strings.SplitSeq(scrape(t, s), "\n") {
		if strings.HasPrefix(l, "lookout_sensor_events_dropped_total{") {
			var v float64
			if _, err := fmt.Sscan(l[strings.LastIndexByte(l, ' ')+1:], &v); err == nil {
				n += v
			}
		}
	}
	return n
}
