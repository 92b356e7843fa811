package stdout

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/lookout-sec/lookout/outputs"
	"github.com/lookout-sec/lookout/outputs/outputtest"
	"github.com/lookout-sec/lookout/router/api"
)

// lockedBuffer is a bytes.Buffer safe for concurrent writes, like a pipe.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func alerts(n int) []*api.Alert {
	out := make([]*api.Alert, n)
	for i := range out {
		a := outputtest.Alert()
		a.UUID = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		out[i] = a
	}
	return out
}

func TestOneJSONLinePerAlert(t *testing.T) {
	for _, n := range []int{0, 1, 5} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var buf bytes.Buffer
			o, err := New(DefaultConfig(), &buf)
			if err != nil {
				t.Fatal(err)
			}
			in := alerts(n)
			if err := o.Send(context.Background(), in); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(&buf)
			i := 0
			for ; sc.Scan(); i++ {
				a, err := api.DecodeAlert(sc.Bytes())
				if err != nil {
					t.Fatalf("line %d is not an alert: %v: %s", i, err, sc.Bytes())
				}
				if i >= n || a.UUID != in[i].UUID || a.Rule != in[i].Rule || !a.Time.Equal(in[i].Time) ||
					a.OutputFields["proc.pid"] != in[i].OutputFields["proc.pid"] {
					t.Errorf("line %d: %+v", i, a)
				}
			}
			if i != n {
				t.Errorf("%d lines, want %d", i, n)
			}
		})
	}
}

func TestConcurrentSendsKeepLinesWhole(t *testing.T) {
	var buf lockedBuffer
	o, _ := New(DefaultConfig(), &buf)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := o.Send(context.Background(), alerts(50)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	sc := bufio.NewScanner(bytes.NewReader(buf.buf.Bytes()))
	lines := 0
	for sc.Scan() {
		if _, err := api.DecodeAlert(sc.Bytes()); err != nil {
			t.Fatalf("line %d torn: %v", lines, err)
		}
		lines++
	}
	if lines != 400 {
		t.Fatalf("%d lines, want 400", lines)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestErrors(t *testing.T) {
	o, _ := New(DefaultConfig(), failingWriter{})
	if err := o.Send(context.Background(), alerts(1)); err == nil || !outputs.IsRetryable(err) {
		t.Errorf("a failing writer must give a retryable error, got %v", err)
	}
	var buf bytes.Buffer
	o, _ = New(DefaultConfig(), &buf)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := o.Send(ctx, alerts(2))
	if !errors.Is(err, context.Canceled) || outputs.IsRetryable(err) {
		t.Errorf("cancelled context: %v", err)
	}
	if buf.Len() != 0 {
		t.Errorf("wrote after cancellation: %q", buf.String())
	}
	if o.Close() != nil || o.Close() != nil {
		t.Error("Close must be idempotent and return nil")
	}
}
