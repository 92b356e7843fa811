package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/viper"
)

// Defaults for the delivery keys (docs/router-delivery.md).
const (
	DefaultQueueDir       = "/var/lib/lookout/router"
	DefaultQueueMaxBytes  = 1 << 30
	DefaultConcurrency    = 1
	DefaultTimeout        = 10 * time.Second
	DefaultBatchSize      = 1
	DefaultMaxAge         = 24 * time.Hour
	DefaultInitialBackoff = 500 * time.Millisecond
	DefaultMaxBackoff     = time.Minute
)

// Queue configures the durable store.
type Queue struct {
	Dir      string // directory of the bbolt file; "" keeps queues in memory (not durable)
	MaxBytes int64  // bytes of queued alerts accepted across outputs; beyond: 503 + Retry-After
}

// Delivery is one output's worker, retry and overflow settings.
type Delivery struct {
	Concurrency int           // sends in flight at once
	Timeout     time.Duration // per attempt
	BatchSize   int           // alerts per Send
	DropOldest  bool          // overflow: drop_oldest (default: block, i.e. 503 at ingest)
	Retry       Retry
}

// Retry bounds an output's retries. Zero MaxAttempts or MaxAge means no cap
// of that kind.
type Retry struct {
	MaxAttempts    int
	MaxAge         time.Duration
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
}

func parseQueue(v *viper.Viper) (Queue, error) {
	if m, ok := v.Get("queue").(map[string]any); ok {
		for k := range m {
			if k != "dir" && k != "max_bytes" {
				return Queue{}, fmt.Errorf("queue.%s: unknown key (allowed: dir, max_bytes)", k)
			}
		}
	}
	q := Queue{Dir: v.GetString("queue.dir")}
	n, err := ParseBytes(v.Get("queue.max_bytes"))
	if err != nil || n <= 0 {
		return q, fmt.Errorf("queue.max_bytes: %v is not a positive size such as 1GiB, 512MiB or 1048576", v.Get("queue.max_bytes"))
	}
	q.MaxBytes = n
	return q, nil
}

var sizeUnits = []struct {
	suffix string
	mult   int64
}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}}

// ParseBytes reads a size: an integer number of bytes or a number with one
// of the suffixes B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB
// (powers of 1024).
func ParseBytes(x any) (int64, error) {
	switch n := x.(type) {
	case int:
		return int64(n), nil
	case int64:
		return n, nil
	case float64:
		if n == float64(int64(n)) {
			return int64(n), nil
		}
	case string:
		s := strings.TrimSpace(n)
		mult := int64(1)
		for _, u := range sizeUnits {
			if strings.HasSuffix(s, u.suffix) {
				s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
				break
			}
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err == nil && v >= 0 && v <= (1<<62)/mult {
			return v * mult, nil
		}
	}
	return 0, fmt.Errorf("%v is not a size", x)
}

func parseDelivery(m map[string]any) (Delivery, error) {
	d := Delivery{
		Concurrency: DefaultConcurrency, Timeout: DefaultTimeout, BatchSize: DefaultBatchSize,
		Retry: Retry{MaxAge: DefaultMaxAge, InitialBackoff: DefaultInitialBackoff, MaxBackoff: DefaultMaxBackoff},
	}
	var err error
	if d.Concurrency, err = intKey(m, "concurrency", d.Concurrency, 1); err != nil {
		return d, err
	}
	if d.BatchSize, err = intKey(m, "batch_size", d.BatchSize, 1); err != nil {
		return d, err
	}
	if d.Timeout, err = durationKey(m, "timeout", d.Timeout, false); err != nil {
		return d, err
	}
	switch ov := m["overflow"]; ov {
	case nil, "block":
	case "drop_oldest":
		d.DropOldest = true
	default:
		return d, fmt.Errorf("overflow: %v is not allowed (allowed: block, drop_oldest)", ov)
	}
	if r, ok := m["retry"]; ok {
		rm, ok := r.(map[string]any)
		if !ok {
			return d, errors.New("retry: must be a mapping of max_attempts, max_age, initial_backoff, max_backoff")
		}
		allowed := map[string]bool{"max_attempts": true, "max_age": true, "initial_backoff": true, "max_backoff": true}
		for _, k := range sortedKeys(rm) {
			if !allowed[k] {
				return d, fmt.Errorf("retry.%s: unknown key (allowed: %s)", k, keyList(allowed))
			}
		}
		rt := &d.Retry
		if rt.MaxAttempts, err = intKey(rm, "max_attempts", 0, 0); err != nil {
			return d, fmt.Errorf("retry.%w", err)
		}
		if rt.MaxAge, err = durationKey(rm, "max_age", rt.MaxAge, true); err != nil {
			return d, fmt.Errorf("retry.%w", err)
		}
		if rt.InitialBackoff, err = durationKey(rm, "initial_backoff", rt.InitialBackoff, false); err != nil {
			return d, fmt.Errorf("retry.%w", err)
		}
		if rt.MaxBackoff, err = durationKey(rm, "max_backoff", rt.MaxBackoff, false); err != nil {
			return d, fmt.Errorf("retry.%w", err)
		}
		if rt.MaxBackoff < rt.InitialBackoff {
			return d, fmt.Errorf("retry.max_backoff: %s is shorter than retry.initial_backoff %s", rt.MaxBackoff, rt.InitialBackoff)
		}
	}
	return d, nil
}

func intKey(m map[string]any, k string, def, min int) (int, error) {
	x, ok := m[k]
	if !ok {
		return def, nil
	}
	n, isInt := x.(int)
	if !isInt || n < min {
		return 0, fmt.Errorf("%s: %v is not an integer >= %d", k, x, min)
	}
	return n, nil
}

func durationKey(m map[string]any, k string, def time.Duration, zeroOK bool) (time.Duration, error) {
	x, ok := m[k]
	if !ok {
		return def, nil
	}
	if n, isInt := x.(int); isInt && n == 0 && zeroOK {
		return 0, nil
	}
	s, _ := x.(string)
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || (d == 0 && !zeroOK) {
		what := "a positive duration such as 10s"
		if zeroOK {
			what = "a duration such as 24h (0 = no limit)"
		}
		return 0, fmt.Errorf("%s: %v is not %s", k, x, what)
	}
	return d, nil
}
