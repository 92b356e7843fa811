package emit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/sensor/internal/spool"
)

// Sender posts an encoded JSON array of alerts (api.Client satisfies it).
type Sender interface {
	// SendJSON posts body and returns the body limit the destination
	// advertised (0 if none).
	SendJSON(ctx context.Context, body []byte) (maxBody int64, err error)
	// Limits asks the destination for its body limit.
	Limits(ctx context.Context) (maxBody int64, err error)
}

// runSpooled is a spooled output: an intake goroutine moves alerts from
// the queue to the spool, and this goroutine sends from the spool, oldest
// first, until the queue is closed and the spool empty, or hard is
// cancelled (what is spooled then stays for the next start).
func (o *output) runSpooled(hard context.Context) {
	wake := make(chan struct{}, 1)
	intakeDone := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(intakeDone)
		o.intake(wake)
	})
	defer wg.Wait()
	if n, err := o.sender.Limits(hard); err == nil {
		o.limit.Store(n)
		o.log.Info("emit: destination body limit", "max_body_bytes", n)
	}
	maxCount := o.size
	attempt := 0
	for {
		if n, _ := o.spool.Len(); n == 0 {
			select {
			case <-intakeDone:
				if n, _ := o.spool.Len(); n == 0 {
					return
				}
			case <-wake:
			case <-hard.Done():
			}
		}
		if hard.Err() != nil {
			if n, b := o.spool.Len(); n > 0 {
				o.log.Warn("emit: alerts stay spooled for the next start", "alerts", n, "bytes", b, "spool", o.spool.Path())
			}
			return
		}
		switch res := o.sendHead(hard, maxCount); {
		case res.sent:
			attempt, maxCount = 0, o.size
		case res.bisect:
			maxCount = max(1, res.n/2)
		case res.wait:
			wait := o.backoff.wait(attempt, res.after)
			attempt++
			o.retries.Add(1)
			o.log.Warn("emit: delivery failed; retrying", "alerts", res.n, "attempt", attempt, "in", wait, "spooled", o.spooled(), "err", res.err)
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-hard.Done():
				t.Stop()
			}
		}
	}
}

func (o *output) spooled() int { n, _ := o.spool.Len(); return n }

// intake batches queued alerts into the spool until the queue is closed.
func (o *output) intake(wake chan<- struct{}) {
	batch := make([]api.Alert, 0, o.size)
	recs := make([]spool.Record, 0, o.size)
	var timer *time.Timer
	for {
		a, ok := <-o.ch
		if !ok {
			return
		}
		batch = append(batch[:0], a)
		open := o.fill(&batch, &timer)
		o.inflight.Store(int64(len(batch)))
		recs = recs[:0]
		for i := range batch {
			data, err := json.Marshal(&batch[i])
			if err != nil {
				o.log.Error("emit: cannot encode alert; dropped", "rule", batch[i].Rule, "err", err)
				o.drop(dropRejected, batch[i:i+1])
				continue
			}
			recs = append(recs, spool.Record{Internal: isInternal(&batch[i]), Data: data})
		}
		d, err := o.spool.Append(recs)
		if err != nil {
			// The disk failed us: these alerts are lost, and said so.
			o.log.Error("emit: cannot write the spool; alerts dropped", "alerts", len(recs), "err", err)
			o.drop(dropSpoolFull, batch)
		}
		if n := d.N - d.Internal; n > 0 {
			o.drops[dropSpoolFull].Add(uint64(n))
			o.log.Error("emit: spool full; oldest alerts dropped", "alerts", n, "spool", o.spool.Path())
		}
		o.lostInternal.Add(uint64(d.Internal))
		o.inflight.Store(0)
		clear(batch)
		select {
		case wake <- struct{}{}:
		default:
		}
		if !open {
			return
		}
	}
}

// headResult is the outcome of one sendHead.
type headResult struct {
	sent   bool          // a chunk was delivered (or dead-lettered): go on
	bisect bool          // a 4xx other than 413 for n alerts: try fewer
	wait   bool          // retry the same head after a backoff
	n      int           // alerts in the chunk
	after  time.Duration // Retry-After
	err    error
}

// sendHead sends the oldest spooled alerts that fit the body limit (at
// most maxCount) and removes them when the destination accepted them. An
// alert that alone exceeds the limit is dead-lettered: removed and counted
// as too_large, the rest go on.
func (o *output) sendHead(ctx context.Context, maxCount int) headResult {
	limit := o.limit.Load()
	recs, err := o.spool.Peek(maxCount, limit-2)
	if err != nil {
		return headResult{wait: true, err: err}
	}
	defer o.spool.Release() // while sending, making room must not evict these
	if len(recs) == 0 {
		return headResult{sent: true}
	}
	// "[" + items joined by "," + "]": Peek bounded the items' bytes by
	// limit-2; the commas may still take it over.
	size := int64(1)
	n := 0
	for n < len(recs) && size+int64(len(recs[n].Data))+1 <= limit {
		size += int64(len(recs[n].Data)) + 1
		n++
	}
	if n == 0 {
		o.deadLetter(recs[0], limit)
		return headResult{sent: true}
	}
	recs = recs[:n]
	var body bytes.Buffer
	body.Grow(int(size))
	body.WriteByte('[')
	for i, r := range recs {
		if i > 0 {
			body.WriteByte(',')
		}
		body.Write(r.Data)
	}
	body.WriteByte(']')
	maxBody, err := o.sender.SendJSON(ctx, body.Bytes())
	if maxBody > 0 && maxBody != o.limit.Load() {
		o.limit.Store(maxBody)
		o.log.Info("emit: destination body limit", "max_body_bytes", maxBody)
	}
	if err == nil {
		if err := o.spool.Remove(seqs(recs)); err != nil {
			// Delivered but still spooled: it will be sent again
			// (at-least-once), which is better than stopping.
			o.log.Error("emit: cannot remove delivered alerts from the spool", "err", err)
		}
		o.sent.Add(uint64(n))
		return headResult{sent: true, n: n}
	}
	var se *api.StatusError
	if !errors.As(err, &se) || ctx.Err() != nil {
		return headResult{wait: true, n: n, err: err}
	}
	switch {
	case se.Status == http.StatusRequestEntityTooLarge:
		if n == 1 {
			o.deadLetter(recs[0], max(maxBody, int64(body.Len())-1))
			return headResult{sent: true}
		}
		if maxBody <= 0 || maxBody >= int64(body.Len()) {
			// A limit the destination did not say (a proxy?): halve.
			o.limit.Store(max(int64(body.Len())/2, 2))
		}
		o.log.Info("emit: body too large for the destination (413); splitting the batch", "alerts", n,
			"bytes", body.Len(), "max_body_bytes", o.limit.Load())
		return headResult{bisect: true, n: n}
	case se.Retryable(), se.Status == http.StatusUnauthorized, se.Status == http.StatusForbidden, se.Status == http.StatusNotFound:
		// Down, overloaded, or misconfigured (token, URL): the alerts
		// wait in the spool until the operator or the router fixes it.
		return headResult{wait: true, n: n, after: se.RetryAfter, err: err}
	case n > 1:
		return headResult{bisect: true, n: n}
	default:
		o.log.Error("emit: destination rejected an alert; dropped", "rule", ruleOf(recs[0].Data), "bytes", len(recs[0].Data), "err", err)
		o.dropRecord(dropRejected, recs[0])
		return headResult{sent: true}
	}
}

// deadLetter drops one alert too large for the destination.
func (o *output) deadLetter(r spool.Record, limit int64) {
	o.log.Error("emit: alert larger than the destination's body limit; dropped", "rule", ruleOf(r.Data),
		"bytes", len(r.Data), "max_body_bytes", limit)
	o.dropRecord(dropTooLarge, r)
}

// dropRecord removes r from the spool and counts it.
func (o *output) dropRecord(reason int, r spool.Record) {
	if err := o.spool.Remove([]uint64{r.Seq}); err != nil {
		o.log.Error("emit: cannot remove a dropped alert from the spool", "err", err)
	}
	if r.Internal {
		o.lostInternal.Add(1)
	} else {
		o.drops[reason].Add(1)
	}
}

func seqs(recs []spool.Record) []uint64 {
	out := make([]uint64, len(recs))
	for i, r := range recs {
		out[i] = r.Seq
	}
	return out
}

// ruleOf returns the rule of an encoded alert, for logs.
func ruleOf(data []byte) string {
	var a struct {
		Rule string `json:"rule"`
	}
	_ = json.Unmarshal(data, &a)
	return a.Rule
}
