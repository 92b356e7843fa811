package emit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/lookout-sec/lookout/router/api"
)

// Router posts batches to a Lookout router's batch endpoint.
type Router struct {
	Client *api.Client
	// Others are more replicas of the router: a request goes to the one
	// that last answered, and on to the next on a connection error or a
	// retryable answer (503, 429, 5xx), each tried once per request.
	Others []*api.Client

	cur atomic.Int32 // index into Client, Others... of the last that answered
}

// try runs fn on the replicas in turn, from the last that answered, until
// one answers with something other than a failover error.
func (r *Router) try(ctx context.Context, fn func(c *api.Client) error) error {
	n := 1 + len(r.Others)
	start := int(r.cur.Load()) % n
	var err error
	for i := range n {
		j := (start + i) % n
		c := r.Client
		if j > 0 {
			c = r.Others[j-1]
		}
		if err = fn(c); !failover(ctx, err) {
			r.cur.Store(int32(j))
			return err
		}
	}
	return err
}

// failover reports whether err says another replica may do better: the
// connection failed, or the answer was retryable (503, 429, 5xx).
func failover(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	var se *api.StatusError
	if errors.As(err, &se) {
		return se.Retryable()
	}
	return true
}

// Write posts alerts in one request. Errors from api.Client say whether a
// retry can help.
func (r *Router) Write(ctx context.Context, alerts []api.Alert) error {
	return r.try(ctx, func(c *api.Client) error { return c.Send(ctx, alerts) })
}

// SendJSON posts an encoded batch (the spooled path).
func (r *Router) SendJSON(ctx context.Context, body []byte) (int64, error) {
	var limit int64
	err := r.try(ctx, func(c *api.Client) error {
		var err error
		limit, err = c.SendJSON(ctx, body)
		return err
	})
	return limit, err
}

// Limits asks the router for its body limit.
func (r *Router) Limits(ctx context.Context) (int64, error) {
	var limit int64
	err := r.try(ctx, func(c *api.Client) error {
		var err error
		limit, err = c.Limits(ctx)
		return err
	})
	return limit, err
}

// Close releases idle connections.
func (r *Router) Close() error {
	for _, c := range append([]*api.Client{r.Client}, r.Others...) {
		if c.HTTPClient != nil {
			c.HTTPClient.CloseIdleConnections()
		}
	}
	return nil
}

// JSONLines writes each alert as one line of Falco JSON to an io.Writer.
type JSONLines struct {
	mu     sync.Mutex
	w      io.Writer
	closer io.Closer
	buf    bytes.Buffer
}

// NewJSONLines writes to w; Close does not close w.
func NewJSONLines(w io.Writer) *JSONLines { return &JSONLines{w: w} }

// OpenFile appends JSON lines to path, creating it with mode 0600.
func OpenFile(path string) (*JSONLines, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open alerts file: %w", err)
	}
	return &JSONLines{w: f, closer: f}, nil
}

// Write writes the batch with one write call. Errors are not retryable.
func (j *JSONLines) Write(_ context.Context, alerts []api.Alert) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.buf.Reset()
	for i := range alerts {
		b, err := json.Marshal(&alerts[i])
		if err != nil {
			return Permanent(fmt.Errorf("encode alert %q: %w", alerts[i].Rule, err))
		}
		j.buf.Write(b)
		j.buf.WriteByte('\n')
	}
	if _, err := j.w.Write(j.buf.Bytes()); err != nil {
		return Permanent(fmt.Errorf("write alerts: %w", err))
	}
	return nil
}

// Close closes the file opened by OpenFile.
func (j *JSONLines) Close() error {
	if j.closer == nil {
		return nil
	}
	return j.closer.Close()
}
