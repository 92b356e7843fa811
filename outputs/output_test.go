package outputs

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestClassifyStatus(t *testing.T) {
	for status, retry := range map[int]bool{400: false, 401: false, 403: false, 404: false, 408: true, 413: false, 425: true, 429: true, 500: true, 502: true, 503: true, 504: true} {
		err := ClassifyStatus(status, time.Second, nil)
		if IsRetryable(err) != retry {
			t.Errorf("%d: retryable=%v, want %v", status, IsRetryable(err), retry)
		}
		if RetryAfter(err) != time.Second {
			t.Errorf("%d: retry-after lost", status)
		}
	}
	if ClassifyStatus(204, 0, nil) != nil {
		t.Error("2xx must be nil")
	}
	if !IsRetryable(fmt.Errorf("dial: %w", errors.New("connection refused"))) {
		t.Error("network errors are retryable")
	}
	if IsRetryable(context.Canceled) || IsRetryable(nil) {
		t.Error("cancellation and nil are not retryable")
	}
	if IsRetryable(Permanent(errors.New("x"))) || !IsRetryable(Temporary(errors.New("x"), 0)) {
		t.Error("Permanent/Temporary")
	}
}
