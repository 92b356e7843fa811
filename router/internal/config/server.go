package config

import (
	"time"
)

// Server holds the HTTP server's limits (the server: block,
// docs/router-config.md). Every key has a default, so the block is optional.
type Server struct {
	ReadHeaderTimeout time.Duration `mapstructure:"read_header_timeout"` // until the request's headers are read
	BodyTimeout       time.Duration `mapstructure:"body_timeout"`        // until its body is read, counted from the handler's start
	ReadTimeout       time.Duration `mapstructure:"read_timeout"`        // whole request, headers and body
	WriteTimeout      time.Duration `mapstructure:"write_timeout"`       // until the response is written, counted from the request's headers
	IdleTimeout       time.Duration `mapstructure:"idle_timeout"`        // a keep-alive connection waiting for its next request
	MaxHeaderBytes    int64         `mapstructure:"max_header_bytes"`    // request line and headers
	MaxConnections    int           `mapstructure:"max_connections"`     // open connections; beyond, a new one gets 503 and is closed
	MaxRequests       int           `mapstructure:"max_requests"`        // requests served at once (ingest, admin); beyond, 503 with Retry-After
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

// DefaultServer is the server: block's defaults.
func DefaultServer() Server {
	return Server{DefaultReadHeaderTimeout, DefaultBodyTimeout, DefaultReadTimeout, DefaultWriteTimeout, DefaultIdleTimeout,
		DefaultMaxHeaderBytes, DefaultMaxConnections, DefaultMaxRequests}
}

// Validate checks the server block.
func (s Server) Validate() error {
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"read_header_timeout", s.ReadHeaderTimeout}, {"body_timeout", s.BodyTimeout}, {"read_timeout", s.ReadTimeout},
		{"write_timeout", s.WriteTimeout}, {"idle_timeout", s.IdleTimeout}} {
		if d.v <= 0 {
			return Errorf(d.key, "%s is not a positive duration such as 30s", d.v)
		}
	}
	if s.MaxHeaderBytes < 1024 {
		return Errorf("max_header_bytes", "%d is not a size of at least 1KiB such as 64KiB", s.MaxHeaderBytes)
	}
	if s.MaxConnections <= 0 {
		return Errorf("max_connections", "%d is not a positive integer", s.MaxConnections)
	}
	if s.MaxRequests <= 0 {
		return Errorf("max_requests", "%d is not a positive integer", s.MaxRequests)
	}
	return nil
}
