package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Defaults for the delivery keys (docs/router-delivery.md).
const (
	DefaultQueueDir      = "/var/lib/lookout/router"
	DefaultQueueMaxBytes = 1 << 30
	// DefaultMemoryQueueMaxBytes is max_bytes' default with queue.dir ""
	// (queues on the heap).
	DefaultMemoryQueueMaxBytes = 32 << 20
	DefaultConcurrency         = 1
	DefaultTimeout             = 10 * time.Second
	DefaultBatchSize           = 1
	DefaultMaxAge              = 24 * time.Hour
	DefaultInitialBackoff      = 500 * time.Millisecond
	DefaultMaxBackoff          = time.Minute
)

// Queue configures the durable store.
type Queue struct {
	Dir      string `mapstructure:"dir"`       // directory of the bbolt file; "" keeps queues in memory (not durable)
	MaxBytes int64  `mapstructure:"max_bytes"` // bytes of queued alerts accepted across outputs; beyond: 503 + Retry-After
}

// Validate checks the queue block.
func (q Queue) Validate() error {
	if q.MaxBytes <= 0 {
		return Errorf("max_bytes", "%d is not a positive size such as 1GiB, 512MiB or 1048576", q.MaxBytes)
	}
	return nil
}

// Delivery is one output's worker, retry and overflow settings (keys at
// the output's top level).
type Delivery struct {
	Concurrency int           `mapstructure:"concurrency"` // sends in flight at once
	Timeout     time.Duration `mapstructure:"timeout"`     // per attempt
	BatchSize   int           `mapstructure:"batch_size"`  // alerts per Send
	Overflow    string        `mapstructure:"overflow"`    // block (default: 503 at ingest) or drop_oldest
	DropOldest  bool          `mapstructure:"-"`           // Overflow is drop_oldest
	Retry       Retry         `mapstructure:"retry"`
}

// Retry bounds an output's retries. Zero MaxAttempts or MaxAge means no cap
// of that kind.
type Retry struct {
	MaxAttempts    int           `mapstructure:"max_attempts"`
	MaxAge         time.Duration `mapstructure:"max_age"`
	InitialBackoff time.Duration `mapstructure:"initial_backoff"`
	MaxBackoff     time.Duration `mapstructure:"max_backoff"`
}

// DefaultDelivery is the delivery an output block without those keys gets.
func DefaultDelivery() Delivery {
	return Delivery{
		Concurrency: DefaultConcurrency, Timeout: DefaultTimeout, BatchSize: DefaultBatchSize, Overflow: "block",
		Retry: Retry{MaxAge: DefaultMaxAge, InitialBackoff: DefaultInitialBackoff, MaxBackoff: DefaultMaxBackoff},
	}
}

// Validate checks the delivery keys and sets DropOldest.
func (d *Delivery) Validate() error {
	if d.Concurrency < 1 {
		return Errorf("concurrency", "%d is not an integer >= 1", d.Concurrency)
	}
	if d.BatchSize < 1 {
		return Errorf("batch_size", "%d is not an integer >= 1", d.BatchSize)
	}
	if d.Timeout <= 0 {
		return Errorf("timeout", "%s is not a positive duration such as 10s", d.Timeout)
	}
	switch d.Overflow {
	case "block":
	case "drop_oldest":
		d.DropOldest = true
	default:
		return Errorf("overflow", "%s is not allowed (allowed: block, drop_oldest)", d.Overflow)
	}
	r := d.Retry
	switch {
	case r.MaxAttempts < 0:
		return Errorf("retry.max_attempts", "%d is not an integer >= 0", r.MaxAttempts)
	case r.MaxAge < 0:
		return Errorf("retry.max_age", "%s is not a duration such as 24h (0 = no limit)", r.MaxAge)
	case r.InitialBackoff <= 0:
		return Errorf("retry.initial_backoff", "%s is not a positive duration such as 500ms", r.InitialBackoff)
	case r.MaxBackoff <= 0:
		return Errorf("retry.max_backoff", "%s is not a positive duration such as 1m", r.MaxBackoff)
	case r.MaxBackoff < r.InitialBackoff:
		return Errorf("retry.max_backoff", "%s is shorter than retry.initial_backoff %s", r.MaxBackoff, r.InitialBackoff)
	}
	return nil
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
