package pipeline

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/lookout-sec/lookout/router/api"
)

// ErrFull is returned by Enqueue when a queue has no room; the server
// answers 503 with Retry-After.
var ErrFull = errors.New("queue is full")

// ErrClosed is returned by Enqueue after Close and by Next once a closed
// queue is drained.
var ErrClosed = errors.New("queue is closed")

// Item is one alert waiting for one output.
type Item struct {
	Alert    *api.Alert
	Queued   time.Time // when Enqueue accepted it
	Attempts int       // delivery attempts so far
}

// Queue holds alerts for one output, in order.
type Queue interface {
	// Enqueue stores alerts, all or none, and returns once they are stored.
	Enqueue(ctx context.Context, alerts []*api.Alert) error
	// Next blocks until an item is available, the queue is closed and
	// drained (ErrClosed), or ctx ends.
	Next(ctx context.Context) (Item, error)
	// Ack removes a delivered (or dead-lettered) item.
	Ack(it Item) error
	// Len reports how many items wait.
	Len() int
	// Close stops Enqueue; Next keeps returning items until drained.
	Close() error
}

// MemQueue is a bounded in-memory Queue. Its contents are lost on exit.
type MemQueue struct {
	mu     sync.Mutex
	items  []Item
	cap    int
	closed bool
	ready  chan struct{} // signalled when items arrive or on close
	now    func() time.Time
}

// NewMemQueue returns a queue holding at most capacity items.
func NewMemQueue(capacity int, now func() time.Time) *MemQueue {
	if now == nil {
		now = time.Now
	}
	return &MemQueue{cap: capacity, ready: make(chan struct{}, 1), now: now}
}

// Enqueue appends alerts, all or none.
func (q *MemQueue) Enqueue(_ context.Context, alerts []*api.Alert) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrClosed
	}
	if len(q.items)+len(alerts) > q.cap {
		return ErrFull
	}
	t := q.now()
	for _, a := range alerts {
		q.items = append(q.items, Item{Alert: a, Queued: t})
	}
	q.signal()
	return nil
}

func (q *MemQueue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// Next returns the oldest item without removing it; Ack removes it.
func (q *MemQueue) Next(ctx context.Context) (Item, error) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			it := q.items[0]
			q.mu.Unlock()
			return it, nil
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return Item{}, ErrClosed
		}
		select {
		case <-ctx.Done():
			return Item{}, ctx.Err()
		case <-q.ready:
		}
	}
}

// Ack removes the oldest item, which must be it.
func (q *MemQueue) Ack(it Item) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 || q.items[0].Alert != it.Alert {
		return errors.New("ack of an item that is not at the head of the queue")
	}
	q.items[0] = Item{}
	q.items = q.items[1:]
	return nil
}

// Len reports how many items wait.
func (q *MemQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// Close stops Enqueue and wakes a waiting Next.
func (q *MemQueue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.signal()
	return nil
}
