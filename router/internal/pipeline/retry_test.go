package pipeline

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/outputs"
)

func TestBackoff(t *testing.T) {
	p := RetryPolicy{InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}
	cases := []struct {
		attempts int
		jitter   string // "min" or "max"
		want     time.Duration
	}{
		{1, "max", 100 * time.Millisecond},
		{2, "min", 100 * time.Millisecond},
		{2, "max", 200 * time.Millisecond},
		{4, "max", 800 * time.Millisecond},
		{5, "max", time.Second},
		{50, "max", time.Second},
		{50, "min", 100 * time.Millisecond},
	}
	for _, c := range cases {
		p.Jitter = func(n int64) int64 {
			if c.jitter == "max" {
				return n - 1
			}
			return 0
		}
		if got := p.Backoff(c.attempts); got != c.want {
			t.Errorf("Backoff(%d) with %s jitter = %v, want %v", c.attempts, c.jitter, got, c.want)
		}
	}
}

func TestDecide(t *testing.T) {
	p := RetryPolicy{MaxAttempts: 5, MaxAge: time.Hour, InitialBackoff: time.Second, MaxBackoff: time.Second}
	cases := []struct {
		name     string
		err      error
		attempts int
		age      time.Duration
		dead     bool
		wait     time.Duration
	}{
		{"5xx retries", outputs.ClassifyStatus(503, 0, nil), 1, 0, false, time.Second},
		{"429 honours Retry-After", outputs.ClassifyStatus(429, 30*time.Second, nil), 1, 0, false, 30 * time.Second},
		{"network error retries", errors.New("connection refused"), 1, 0, false, time.Second},
		{"timeout retries", context.DeadlineExceeded, 1, 0, false, time.Second},
		{"400 is permanent", outputs.ClassifyStatus(400, 0, nil), 1, 0, true, 0},
		{"404 is permanent", outputs.ClassifyStatus(404, 0, nil), 1, 0, true, 0},
		{"attempts spent", outputs.ClassifyStatus(500, 0, nil), 5, 0, true, 0},
		{"age spent", outputs.ClassifyStatus(500, 0, nil), 1, time.Hour, true, 0},
		{"Retry-After past max age", outputs.ClassifyStatus(429, 2*time.Hour, nil), 1, 0, true, 0},
	}
	for _, c := range cases {
		d := p.Decide(c.err, c.attempts, c.age)
		if d.DeadLetter != c.dead || d.Wait != c.wait {
			t.Errorf("%s: got %+v, want dead=%v wait=%v", c.name, d, c.dead, c.wait)
		}
	}
	unlimited := RetryPolicy{InitialBackoff: time.Second, MaxBackoff: time.Second}
	if d := unlimited.Decide(outputs.ClassifyStatus(500, 0, nil), 1000, 1000*time.Hour); d.DeadLetter {
		t.Error("max_attempts 0 and max_age 0 must not cap")
	}
}
