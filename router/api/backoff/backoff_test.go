package backoff

import (
	"testing"
	"time"
)

func TestDelay(t *testing.T) {
	p := Policy{Initial: 100 * time.Millisecond, Max: time.Second}
	for _, c := range []struct {
		n      int
		jitter string // "min" or "max"
		want   time.Duration
	}{
		{0, "max", 100 * time.Millisecond},
		{1, "min", 100 * time.Millisecond},
		{1, "max", 200 * time.Millisecond},
		{3, "max", 800 * time.Millisecond},
		{4, "max", time.Second},
		{49, "max", time.Second},
		{49, "min", 100 * time.Millisecond},
	} {
		p.Jitter = func(n int64) int64 {
			if c.jitter == "max" {
				return n - 1
			}
			return 0
		}
		if got := p.Delay(c.n); got != c.want {
			t.Errorf("Delay(%d) with %s jitter = %v, want %v", c.n, c.jitter, got, c.want)
		}
	}
}

func TestDelayRandomInRange(t *testing.T) {
	p := Policy{Initial: 10 * time.Millisecond, Max: 80 * time.Millisecond}
	for n := range 10 {
		hi := min(80*time.Millisecond, 10*time.Millisecond<<n)
		for range 200 {
			if d := p.Delay(n); d < 10*time.Millisecond || d > hi {
				t.Fatalf("Delay(%d) = %v, want in [10ms, %v]", n, d, hi)
			}
		}
	}
	if d := (Policy{}).Delay(3); d < time.Millisecond || d > 8*time.Millisecond {
		t.Errorf("zero policy: %v", d)
	}
	if d := (Policy{Initial: time.Second, Jitter: func(n int64) int64 { return n - 1 }}).Delay(200); d < 1<<61 {
		t.Errorf("no cap, many retries: %v", d)
	}
}

func TestWaitHonoursRetryAfter(t *testing.T) {
	p := Policy{Initial: 10 * time.Millisecond, Max: 20 * time.Millisecond}
	if got := p.Wait(5, 30*time.Second); got != 30*time.Second {
		t.Errorf("Wait with Retry-After 30s = %v", got)
	}
	if got := p.Wait(0, time.Millisecond); got != 10*time.Millisecond {
		t.Errorf("Wait with a short Retry-After = %v", got)
	}
}
