package k8saudit

import (
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Handler is the webhook receiver: POST an audit.k8s.io/v1 EventList (what
// kube-apiserver's audit webhook backend sends) or Event. It answers 200
// once every event of the body is evaluated, 400 for a body that is not
// one (malformed JSON, wrong apiVersion or kind, an event without auditID
// or stage; nothing of it is evaluated), 405 for another method, 413 for
// a body over Options.MaxBodyBytes and 415 for a Content-Encoding other
// than identity; each rejection is counted by reason.
func (s *Source) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			s.reject("webhook", "method")
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "POST an audit.k8s.io/v1 EventList", http.StatusMethodNotAllowed)
			return
		}
		if ce := r.Header.Get("Content-Encoding"); ce != "" && ce != "identity" {
			s.reject("webhook", "content_encoding")
			http.Error(w, fmt.Sprintf("Content-Encoding %q is not supported", ce), http.StatusUnsupportedMediaType)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				s.reject("webhook", "too_large")
				http.Error(w, fmt.Sprintf("body over %d bytes (sources.k8s_audit.max_body_bytes): lower --audit-webhook-batch-max-size", mbe.Limit), http.StatusRequestEntityTooLarge)
				return
			}
			s.reject("webhook", "read")
			http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
			return
		}
		n, err := s.Process("webhook", body)
		if err != nil {
			s.log.Warn("k8s_audit webhook: rejected a request", "remote", r.RemoteAddr, "bytes", len(body), "err", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.log.Debug("k8s_audit webhook: batch", "events", n, "bytes", len(body))
		w.WriteHeader(http.StatusOK)
	})
}
