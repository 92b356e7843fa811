package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/viper"
)

// Server holds the HTTP server's limits (the server: block,
// docs/router-config.md). Every key has a default, so the block is optional.
type Server struct {
	ReadHeaderTimeout time.Duration // until the request's headers are read
	BodyTimeout       time.Duration // until its body is read, counted from the handler's start
	ReadTimeout       time.Duration // whole request, headers and body
	WriteTimeout      time.Duration // until the response is written, counted from the request's headers
	IdleTimeout       time.Duration // a keep-alive connection waiting for its next request
	MaxHeaderBytes    int64         // request line and headers
	MaxConnections    int           // open connections; beyond, a new one gets 503 and is closed
	MaxRequests       int           // requests served at once (ingest, admin); beyond, 503 with Retry-After
}

// Defaults of the server: block.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultBodyTimeout       = 30 * time.Second
	DefaultReadTimeout       = 60 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultMaxConnections    = 1024
	DefaultMaxRequests       = 64
)

var serverDurations = []struct {
	key string
	def time.Duration
	dst func(*Server) *time.Duration
}{
	{"read_header_timeout", DefaultReadHeaderTimeout, func(s *Server) *time.Duration { return &s.ReadHeaderTimeout }},
	{"body_timeout", DefaultBodyTimeout, func(s *Server) *time.Duration { return &s.BodyTimeout }},
	{"read_timeout", DefaultReadTimeout, func(s *Server) *time.Duration { return &s.ReadTimeout }},
	{"write_timeout", DefaultWriteTimeout, func(s *Server) *time.Duration { return &s.WriteTimeout }},
	{"idle_timeout", DefaultIdleTimeout, func(s *Server) *time.Duration { return &s.IdleTimeout }},
}

var serverKeys = map[string]bool{"max_header_bytes": true, "max_connections": true, "max_requests": true}

// parseServer reads the server: block.
func parseServer(v *viper.Viper) (Server, error) {
	allowed := map[string]bool{}
	for k := range serverKeys {
		allowed[k] = true
	}
	for _, d := range serverDurations {
		allowed[d.key] = true
	}
	if raw := v.Get("server"); raw != nil {
		m, ok := raw.(map[string]any)
		if !ok {
			return Server{}, fmt.Errorf("server: must be a mapping (keys: %s)", keyList(allowed))
		}
		for _, k := range sortedKeys(m) {
			if !allowed[k] {
				return Server{}, fmt.Errorf("server.%s: unknown key (allowed: %s)", k, keyList(allowed))
			}
		}
	}
	s := Server{MaxHeaderBytes: DefaultMaxHeaderBytes, MaxConnections: DefaultMaxConnections, MaxRequests: DefaultMaxRequests}
	for _, d := range serverDurations {
		*d.dst(&s) = d.def
		x := v.Get("server." + d.key)
		if x == nil {
			continue
		}
		str, _ := x.(string)
		dur, err := time.ParseDuration(strings.TrimSpace(str))
		if err != nil || dur <= 0 {
			return s, fmt.Errorf("server.%s: %v is not a positive duration such as 30s", d.key, x)
		}
		*d.dst(&s) = dur
	}
	if x := v.Get("server.max_header_bytes"); x != nil {
		n, err := ParseBytes(x)
		if err != nil || n < 1024 {
			return s, fmt.Errorf("server.max_header_bytes: %v is not a size of at least 1KiB such as 64KiB", x)
		}
		s.MaxHeaderBytes = n
	}
	for _, k := range []struct {
		key string
		dst *int
	}{{"max_connections", &s.MaxConnections}, {"max_requests", &s.MaxRequests}} {
		if v.Get("server."+k.key) == nil {
			continue
		}
		n, err := positiveInt(v, "server."+k.key)
		if err != nil {
			return s, err
		}
		*k.dst = int(n)
	}
	return s, nil
}
