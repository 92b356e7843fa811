// Package stdout writes each alert as one JSON line to a writer (standard
// output by default). It is meant for local runs and debugging.
package stdout

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/lookout-sec/lookout/outputs"
	"github.com/lookout-sec/lookout/router/api"
)

// Config configures a stdout output. It has no keys yet; the block may be
// omitted or left empty.
type Config struct{}

// DefaultConfig returns the defaults.
func DefaultConfig() Config { return Config{} }

// Validate checks the configuration.
func (Config) Validate() error { return nil }

// Output writes JSON lines to a writer.
type Output struct {
	mu sync.Mutex
	w  io.Writer
}

// New returns an output writing to w.
func New(cfg Config, w io.Writer) (*Output, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Output{w: w}, nil
}

// Send writes one JSON line per alert.
func (o *Output) Send(ctx context.Context, alerts []*api.Alert) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, a := range alerts {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, err := a.Encode()
		if err != nil {
			return outputs.Permanent(fmt.Errorf("encode alert: %w", err))
		}
		if _, err := o.w.Write(append(b, '\n')); err != nil {
			return outputs.Temporary(fmt.Errorf("write alert: %w", err), 0)
		}
	}
	return nil
}

// Close does nothing; it is safe to call more than once.
func (o *Output) Close() error { return nil }
