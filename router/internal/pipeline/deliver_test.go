package pipeline

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/router/api"
)

// eventually polls cond until it holds, failing after a generous bound.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func exactlyOnce(t *testing.T, got, want []string) {
	t.Helper()
	seen := map[string]int{}
	for _, u := range got {
		seen[u]++
	}
	for _, u := range want {
		if seen[u] != 1 {
			t.Errorf("alert %s delivered %d times", u, seen[u])
		}
	}
	if len(got) != len(want) {
		t.Errorf("sink got %d alerts, want %d", len(got), len(want))
	}
}

func TestSinkDownThenBack(t *testing.T) {
	s := newSink(t, nil)
	s.stop()
	r := newRouter(t, t.TempDir(), outSpec{name: "hook", url: s.url(), policy: fastPolicy(), timeout: 5 * time.Second, conc: 2})
	want := r.ingest(t, 0, 50)
	eventually(t, "failed attempts while the sink is down", func() bool { return r.counter(t, "lookout_router_output_failed_total", "hook") >= 3 })
	s.start()
	s.wait(len(want))
	eventually(t, "the queue to empty", func() bool { return r.store.Stats("hook").Len == 0 })
	exactlyOnce(t, s.wait(len(want)), want)
	if n := r.counter(t, "lookout_router_output_delivered_total", "hook"); n != 50 {
		t.Errorf("delivered counter %v", n)
	}
}

func TestRetryThenSuccess(t *testing.T) {
	cases := []struct {
		name      string
		respond   func(n int, _ string, w http.ResponseWriter) bool
		tries     int
		minWait   time.Duration // between the first and second attempt
		retried   float64
		deadAfter bool
	}{
		{"500 three times then 200", func(n int, _ string, w http.ResponseWriter) bool {
			if n <= 3 {
				w.WriteHeader(http.StatusInternalServerError)
				return false
			}
			return true
		}, 4, 0, 3, false},
		{"429 with Retry-After: 1", func(n int, _ string, w http.ResponseWriter) bool {
			if n == 1 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return false
			}
			return true
		}, 2, time.Second, 1, false},
		{"408 then 200", func(n int, _ string, w http.ResponseWriter) bool {
			if n == 1 {
				w.WriteHeader(http.StatusRequestTimeout)
				return false
			}
			return true
		}, 2, 0, 1, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSink(t, c.respond)
			r := newRouter(t, t.TempDir(), outSpec{name: "hook", url: s.url(), policy: fastPolicy(), timeout: 5 * time.Second})
			want := r.ingest(t, 0, 1)
			exactlyOnce(t, s.wait(1), want)
			tries := s.attempts()
			if len(tries) != c.tries {
				t.Fatalf("%d attempts, want %d", len(tries), c.tries)
			}
			if gap := tries[1].Sub(tries[0]); gap < c.minWait {
				t.Errorf("second attempt %v after the first, want at least %v (Retry-After)", gap, c.minWait)
			}
			eventually(t, "the ack", func() bool { return r.store.Stats("hook").Len == 0 })
			if n := r.counter(t, "lookout_router_output_retried_total", "hook"); n != c.retried {
				t.Errorf("retried counter %v, want %v", n, c.retried)
			}
		})
	}
}

func TestHungOutputDoesNotSlowOthers(t *testing.T) {
	release := make(chan struct{})
	var hungTries atomic.Int32
	hung := newSink(t, func(int, string, http.ResponseWriter) bool {
		hungTries.Add(1)
		<-release
		return false
	})
	defer close(release) // before the sinks stop (cleanups run after defers)
	healthy := newSink(t, nil)
	r := newRouter(t, t.TempDir(),
		outSpec{name: "hung", url: hung.url(), policy: fastPolicy(), timeout: 100 * time.Millisecond, conc: 2},
		outSpec{name: "healthy", url: healthy.url(), policy: fastPolicy(), timeout: 5 * time.Second})
	want := r.ingest(t, 0, 200)
	exactlyOnce(t, healthy.wait(len(want)), want)
	eventually(t, "the hung output's timeouts", func() bool { return r.counter(t, "lookout_router_output_failed_total", "hung") >= 2 })
	if st := r.store.Stats("hung"); st.Len != 200 {
		t.Errorf("hung output's queue holds %d, want all 200 (nothing lost, nothing delivered)", st.Len)
	}
	if hungTries.Load() == 0 {
		t.Error("the hung sink saw no request")
	}
}

func TestPermanentFailureDeadLettersThenReplay(t *testing.T) {
	var reject atomic.Bool
	reject.Store(true)
	s := newSink(t, func(_ int, _ string, w http.ResponseWriter) bool {
		if reject.Load() {
			http.Error(w, "bad token", http.StatusBadRequest)
			return false
		}
		return true
	})
	r := newRouter(t, t.TempDir(), outSpec{name: "hook", url: s.url(), policy: fastPolicy(), timeout: 5 * time.Second})
	want := r.ingest(t, 0, 3)
	eventually(t, "three dead letters", func() bool { return r.counter(t, "lookout_router_output_dead_lettered_total", "hook") == 3 })
	dl, err := r.store.DeadLetters("hook")
	if err != nil {
		t.Fatal(err)
	}
	if len(dl) != 3 || dl[0].Attempts != 1 || !strings.Contains(dl[0].Error, "400") || !strings.Contains(dl[0].Error, "bad token") {
		t.Fatalf("dead letters: %+v", dl)
	}
	if len(s.attempts()) != 3 {
		t.Errorf("a 400 was retried: %d attempts for 3 alerts", len(s.attempts()))
	}
	reject.Store(false)
	if n, err := r.store.Replay("hook", nil); err != nil || n != 3 {
		t.Fatalf("replay: %d, %v", n, err)
	}
	got := s.wait(3)
	exactlyOnce(t, got, want)
	if !slices.Equal(got, want) {
		t.Errorf("replayed out of order: %v", got)
	}
}

func TestMaxAttemptsDeadLetters(t *testing.T) {
	s := newSink(t, func(_ int, _ string, w http.ResponseWriter) bool {
		w.WriteHeader(http.StatusServiceUnavailable)
		return false
	})
	p := fastPolicy()
	p.MaxAttempts = 3
	r := newRouter(t, t.TempDir(), outSpec{name: "hook", url: s.url(), policy: p, timeout: 5 * time.Second})
	r.ingest(t, 0, 1)
	eventually(t, "the dead letter", func() bool { return r.counter(t, "lookout_router_output_dead_lettered_total", "hook") == 1 })
	dl, _ := r.store.DeadLetters("hook")
	if len(dl) != 1 || dl[0].Attempts != 3 || len(s.attempts()) != 3 {
		t.Fatalf("dead letters %+v after %d attempts", dl, len(s.attempts()))
	}
}

func TestPartialBatchRetriesOnlyFailed(t *testing.T) {
	var failedOnce atomic.Bool
	third := testAlert(2).UUID
	s := newSink(t, func(_ int, uuid string, w http.ResponseWriter) bool {
		if uuid == third && !failedOnce.Swap(true) {
			w.WriteHeader(http.StatusBadGateway)
			return false
		}
		return true
	})
	r := newRouter(t, t.TempDir(), outSpec{name: "hook", url: s.url(), policy: fastPolicy(), timeout: 5 * time.Second, batch: 5})
	var batch []*api.Alert
	var want []string
	for i := range 5 {
		batch = append(batch, testAlert(i))
		want = append(want, testAlert(i).UUID)
	}
	if err := r.fan.Ingest(context.Background(), batch, false); err != nil {
		t.Fatal(err)
	}
	got := s.wait(5)
	exactlyOnce(t, got, want)
	if !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	if n := len(s.attempts()); n != 6 {
		t.Errorf("%d requests, want 6 (5, then the failed alert and the two the webhook did not send after it)", n)
	}
}

func TestOrderPreserved(t *testing.T) {
	cases := []struct {
		name  string
		batch int
	}{{"one by one", 1}, {"batches of 7", 7}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSink(t, nil)
			r := newRouter(t, t.TempDir(), outSpec{name: "hook", url: s.url(), policy: fastPolicy(), timeout: 5 * time.Second, conc: 1, batch: c.batch})
			want := r.ingest(t, 0, 100)
			got := s.wait(len(want))
			if !slices.Equal(got, want) {
				t.Fatalf("delivered out of order:\n got %v\nwant %v", got, want)
			}
		})
	}
}
