package server

import (
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lookout-sec/lookout/router/api"
)

// Limits bounds what clients can hold of the server: time, connections,
// requests in progress and header size. A zero field means no limit (the
// config's server: block sets every one; docs/router-config.md). Its fields
// mirror config.Server, so one converts to the other.
type Limits struct {
	ReadHeaderTimeout time.Duration
	BodyTimeout       time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int64
	MaxConnections    int
	MaxRequests       int
}

// HTTPServer returns an http.Server serving h with l's timeouts and header
// limit.
func (l Limits) HTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler: h, ReadHeaderTimeout: l.ReadHeaderTimeout, ReadTimeout: l.ReadTimeout,
		WriteTimeout: l.WriteTimeout, IdleTimeout: l.IdleTimeout, MaxHeaderBytes: int(l.MaxHeaderBytes),
	}
}

// Listener wraps ln so that at most l.MaxConnections connections are open
// at once; a connection beyond gets a bare 503 and is closed, so it costs
// neither a goroutine for long nor a buffer.
func (l Limits) Listener(ln net.Listener) net.Listener {
	if l.MaxConnections <= 0 {
		return ln
	}
	return &limitListener{Listener: ln, slots: make(chan struct{}, l.MaxConnections)}
}

type limitListener struct {
	net.Listener
	slots chan struct{}
}

const refusalBody = "too many connections (server.max_connections)\n"

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			return &limitConn{Conn: c, release: sync.OnceFunc(func() { <-l.slots })}, nil
		default:
			go func() {
				_ = c.SetDeadline(time.Now().Add(time.Second))
				_, _ = fmt.Fprintf(c, "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\n"+
					"Content-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n\r\n%s", len(refusalBody), refusalBody)
				_ = c.Close()
			}()
		}
	}
}

type limitConn struct {
	net.Conn
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}

// ingestLimits runs first on every authenticated endpoint: it advertises the
// body limit (api.HeaderMaxBodyBytes, on every answer, 401 and 413
// included), refuses requests beyond Limits.MaxRequests in progress with 503
// and sets the body's read deadline.
func (s *server) ingestLimits(next http.Handler) http.Handler {
	var slots chan struct{}
	if s.opts.Limits.MaxRequests > 0 {
		slots = make(chan struct{}, s.opts.Limits.MaxRequests)
	}
	limit := strconv.FormatInt(s.opts.BodyLimit, 10)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(api.HeaderMaxBodyBytes, limit)
		if slots != nil {
			select {
			case slots <- struct{}{}:
				defer func() { <-slots }()
			default:
				w.Header().Set("Retry-After", "1")
				s.reject(w, http.StatusServiceUnavailable, fmt.Errorf("too many requests in progress (server.max_requests=%d)", s.opts.Limits.MaxRequests))
				return
			}
		}
		if d := s.opts.Limits.BodyTimeout; d > 0 {
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(d))
		}
		next.ServeHTTP(w, r)
	})
}

// requireJSON refuses an ingest request whose Content-Type is not JSON or
// NDJSON with 415: a browser's cross-site "simple" POST (text/plain, form
// types) cannot set it, so it cannot write alerts even with auth off.
// Falco's http_output sends application/json.
func (s *server) requireJSON(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch {
		case err == nil && (mt == "application/json" || mt == "application/x-ndjson" || mt == "application/ndjson"):
			next.ServeHTTP(w, r)
		default:
			s.reject(w, http.StatusUnsupportedMediaType, fmt.Errorf("Content-Type %q is not accepted (application/json or application/x-ndjson)", r.Header.Get("Content-Type")))
		}
	})
}

// limits answers GET /v1/limits.
func (s *server) limits(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(api.Limits{MaxBodyBytes: s.opts.BodyLimit})
}

// bearerToken returns the token of an Authorization header using the
// Bearer scheme, whose name is case-insensitive (RFC 9110 section 11.1).
func bearerToken(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimLeft(tok, " "), true
}
