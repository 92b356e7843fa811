package emit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/lookout-sec/lookout/router/api"
)

// Router posts batches to a Lookout router's batch endpoint.
type Router struct {
	Client *api.Client
}

// Write posts alerts in one request. Errors from api.Client say whether a
// retry can help.
func (r *Router) Write(ctx context.Context, alerts []api.Alert) error {
	return r.Client.Send(ctx, alerts)
}

// SendJSON posts an encoded batch (the spooled path).
func (r *Router) SendJSON(ctx context.Context, body []byte) (int64, error) {
	return r.Client.SendJSON(ctx, body)
}

// Limits asks the router for its body limit.
func (r *Router) Limits(ctx context.Context) (int64, error) { return r.Client.Limits(ctx) }

// Close releases idle connections.
func (r *Router) Close() error {
	if r.Client.HTTPClient != nil {
		r.Client.HTTPClient.CloseIdleConnections()
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
