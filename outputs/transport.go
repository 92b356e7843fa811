package outputs

import "net/http"

// MaxIdleConnsPerHost is how many idle keep-alive connections an output
// keeps to one destination host: more than any sensible concurrency, so
// that concurrent sends reuse their connections.
const MaxIdleConnsPerHost = 64

// NewTransport returns an output's own HTTP transport: Go's default
// (proxy from the environment, timeouts, HTTP/2) with room for
// MaxIdleConnsPerHost idle connections per host. Go's default keeps two,
// so an output with concurrency above two would close and re-dial (and
// re-handshake TLS) a connection for almost every send.
func NewTransport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = MaxIdleConnsPerHost
	tr.MaxIdleConns = 4 * MaxIdleConnsPerHost
	return tr
}
