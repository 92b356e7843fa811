package ui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/history"
)

// Hub fans accepted alerts out to the live pages. Publish never waits: a
// page that lags loses batches (and is told how many alerts it missed).
type Hub struct {
	mu   sync.Mutex
	subs map[*sub]struct{}
}

type sub struct {
	ch     chan []history.Alert
	missed int64 // alerts dropped for this page; under Hub.mu
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{subs: map[*sub]struct{}{}} }

// Publish hands alerts to every live page without waiting.
func (h *Hub) Publish(alerts []history.Alert) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		select {
		case s.ch <- alerts:
		default:
			s.missed += int64(len(alerts))
		}
	}
}

func (h *Hub) subscribe() *sub {
	s := &sub{ch: make(chan []history.Alert, 256)}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

func (h *Hub) unsubscribe(s *sub) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

func (h *Hub) takeMissed(s *sub) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := s.missed
	s.missed = 0
	return n
}

// Live stream tuning: one event per interval carrying at most liveMax
// alerts (the newest) and the count of all that matched, so 1,000
// alerts/s cost the browser two small renders a second.
const (
	liveInterval  = 500 * time.Millisecond
	liveMax       = 50
	liveHeartbeat = 15 * time.Second
)

// liveAlert is an alert as the page's script renders it.
type liveAlert struct {
	UUID     string `json:"uuid"`
	Time     string `json:"time"`
	Priority string `json:"priority"`
	Rule     string `json:"rule"`
	Hostname string `json:"hostname"`
	Output   string `json:"output"`
	Finding  string `json:"finding"`
	Held     int    `json:"held"` // outputs that held it back
	Outputs  int    `json:"outputs"`
}

type liveEvent struct {
	Matched int64       `json:"matched"` // alerts that matched since the last event
	Missed  int64       `json:"missed"`  // alerts this page lost by lagging
	Alerts  []liveAlert `json:"alerts"`  // the newest of them, newest last
}

// liveFilter is the stream's filter: a minimum priority and words that
// must appear in the rule or output line.
type liveFilter struct {
	min   api.Priority
	words []string
}

func parseLiveFilter(r *http.Request) liveFilter {
	f := liveFilter{min: api.PriorityDebug}
	if p, err := api.ParsePriority(r.URL.Query().Get("priority")); err == nil {
		f.min = p
	}
	f.words = strings.Fields(strings.ToLower(r.URL.Query().Get("q")))
	return f
}

func (f liveFilter) match(a *history.Alert) bool {
	if !a.Priority.AtLeast(f.min) {
		return false
	}
	if len(f.words) == 0 {
		return true
	}
	text := strings.ToLower(a.Rule + " " + a.Output)
	for _, w := range f.words {
		if !strings.Contains(text, w) {
			return false
		}
	}
	return true
}

// stream serves GET /ui/live/stream as Server-Sent Events.
func (u *UI) stream(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	f := parseLiveFilter(r)
	s := u.hub.subscribe()
	defer u.hub.unsubscribe(s)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	tick := time.NewTicker(liveInterval)
	defer tick.Stop()
	var (
		ring    []liveAlert
		matched int64
		quiet   time.Time = u.now()
	)
	send := func(payload string) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(30 * time.Second)) // the server's write timeout would end the stream
		if _, err := fmt.Fprint(w, payload); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send("retry: 2000\n: connected\n\n") {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case as := <-s.ch:
			for i := range as {
				a := &as[i]
				if !f.match(a) {
					continue
				}
				matched++
				ring = append(ring, toLive(a))
				if len(ring) > 2*liveMax {
					ring = append(ring[:0], ring[len(ring)-liveMax:]...)
				}
			}
		case <-tick.C:
			missed := u.hub.takeMissed(s)
			if matched == 0 && missed == 0 {
				if u.now().Sub(quiet) > liveHeartbeat {
					quiet = u.now()
					if !send(": keep-alive\n\n") {
						return
					}
				}
				continue
			}
			if len(ring) > liveMax {
				ring = ring[len(ring)-liveMax:]
			}
			b, _ := json.Marshal(liveEvent{Matched: matched, Missed: missed, Alerts: ring})
			if !send("event: alerts\ndata: " + string(b) + "\n\n") {
				return
			}
			ring, matched, quiet = ring[:0], 0, u.now()
		}
	}
}

func toLive(a *history.Alert) liveAlert {
	l := liveAlert{
		UUID: a.UUID, Time: a.Time.UTC().Format("15:04:05.000"), Priority: a.Priority.String(), Rule: a.Rule,
		Hostname: a.Hostname, Output: a.Output, Finding: a.FindingStatus, Outputs: len(a.Outputs),
	}
	for _, d := range a.Outputs {
		if d != "delivered" {
			l.Held++
		}
	}
	return l
}
