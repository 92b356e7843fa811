package app

import (
	"net"
	"net/http"
	"time"

	"golang.org/x/net/netutil"
)

// metricsLimits bound the metrics listener (GET /metrics, /healthz): no
// client, slow or idle, can hold it or the sensor's memory for long. Zero
// fields take the defaults below (docs/sensor-config.md).
type metricsLimits struct {
	ReadHeaderTimeout time.Duration // default 5s
	ReadTimeout       time.Duration // default 10s (these requests have no body)
	WriteTimeout      time.Duration // default 30s
	IdleTimeout       time.Duration // default 60s
	MaxHeaderBytes    int           // default 16 KiB
	MaxConnections    int           // default 64; further connections wait in the kernel's backlog
}

func (l metricsLimits) withDefaults() metricsLimits {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&l.ReadHeaderTimeout, 5*time.Second)
	def(&l.ReadTimeout, 10*time.Second)
	def(&l.WriteTimeout, 30*time.Second)
	def(&l.IdleTimeout, 60*time.Second)
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = 16 << 10
	}
	if l.MaxConnections <= 0 {
		l.MaxConnections = 64
	}
	return l
}

func newMetricsServer(h http.Handler, l metricsLimits) *http.Server {
	l = l.withDefaults()
	return &http.Server{
		Handler: h, ReadHeaderTimeout: l.ReadHeaderTimeout, ReadTimeout: l.ReadTimeout,
		WriteTimeout: l.WriteTimeout, IdleTimeout: l.IdleTimeout, MaxHeaderBytes: l.MaxHeaderBytes,
	}
}

func limitListener(ln net.Listener, l metricsLimits) net.Listener {
	return netutil.LimitListener(ln, l.withDefaults().MaxConnections)
}
