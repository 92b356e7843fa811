package k8saudit

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

// TLS is the webhook listener's TLS: a certificate and key (PEM files),
// and optionally a CA whose client certificates are required (the API
// server's --audit-webhook-config-file kubeconfig then names a client
// certificate).
type TLS struct {
	CertFile, KeyFile string
	ClientCAFile      string
}

// ServerConfig is how the webhook is served.
type ServerConfig struct {
	Path string // e.g. /k8s-audit
	TLS  TLS    // no CertFile: plain HTTP
}

// TLSConfig builds the listener's tls.Config, or nil for plain HTTP.
func (c ServerConfig) TLSConfig() (*tls.Config, error) {
	if c.TLS.CertFile == "" && c.TLS.KeyFile == "" {
		if c.TLS.ClientCAFile != "" {
			return nil, errors.New("tls.client_ca_file needs tls.cert_file and tls.key_file")
		}
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.TLS.CertFile, c.TLS.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls.cert_file %s, tls.key_file %s: %w", c.TLS.CertFile, c.TLS.KeyFile, err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if c.TLS.ClientCAFile != "" {
		pem, err := os.ReadFile(c.TLS.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.client_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.client_ca_file %s: no PEM certificate", c.TLS.ClientCAFile)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// Serve serves the webhook on ln until ctx is done.
func (s *Source) Serve(ctx context.Context, ln net.Listener, cfg ServerConfig) error {
	tc, err := cfg.TLSConfig()
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle(cfg.Path, s.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	srv := &http.Server{Handler: mux, TLSConfig: tc, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = srv.Shutdown(sctx)
			cancel()
		case <-done:
		}
	}()
	defer close(done)
	if tc != nil {
		err = srv.ServeTLS(ln, "", "")
	} else {
		err = srv.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
