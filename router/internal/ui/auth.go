package ui

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Roles.
const (
	RoleAdmin  = "admin"  // every page and every change
	RoleViewer = "viewer" // every page, no change
)

const cookieName = "lookout_session"

// session is one login.
type session struct {
	id      string
	role    string
	name    string // who, as typed at login (the "by" of changes)
	csrf    string
	expires time.Time
}

// sessions holds the logins in memory (a restart logs everyone out).
type sessions struct {
	ttl    time.Duration
	now    func() time.Time
	admin  [][32]byte
	viewer [][32]byte

	mu sync.Mutex
	m  map[string]*session
}

func newSessions(admin, viewer []string, ttl time.Duration, now func() time.Time) *sessions {
	s := &sessions{ttl: ttl, now: now, m: map[string]*session{}}
	for _, t := range admin {
		s.admin = append(s.admin, sha256.Sum256([]byte(t)))
	}
	for _, t := range viewer {
		s.viewer = append(s.viewer, sha256.Sum256([]byte(t)))
	}
	return s
}

func oneOf(tok string, hashes [][32]byte) bool {
	got := sha256.Sum256([]byte(tok))
	match := 0
	for _, h := range hashes {
		match |= subtle.ConstantTimeCompare(got[:], h[:])
	}
	return match == 1
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// login returns a new session for tok, or nil when tok is neither an
// admin nor a viewer token.
func (s *sessions) login(tok, name string) *session {
	role := ""
	switch {
	case tok == "":
	case oneOf(tok, s.admin):
		role = RoleAdmin
	case oneOf(tok, s.viewer):
		role = RoleViewer
	}
	if role == "" {
		return nil
	}
	if name = strings.TrimSpace(name); name == "" {
		name = "ui (" + role + ")"
	}
	x := &session{id: randomToken(), role: role, name: name, csrf: randomToken(), expires: s.now().Add(s.ttl)}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for id, o := range s.m { // forget expired logins
		if now.After(o.expires) {
			delete(s.m, id)
		}
	}
	s.m[x.id] = x
	return x
}

func (s *sessions) get(r *http.Request) *session {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.m[c.Value]
	if x == nil || s.now().After(x.expires) {
		return nil
	}
	return x
}

func (s *sessions) logout(x *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, x.id)
}

func (s *sessions) cookie(r *http.Request, x *session) *http.Cookie {
	c := &http.Cookie{
		Name: cookieName, Path: "/ui/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	}
	if x == nil {
		c.MaxAge = -1
	} else {
		c.Value, c.Expires = x.id, x.expires
	}
	return c
}

// sameOrigin refuses a state change another site's page sent: browsers
// say where a request comes from in Sec-Fetch-Site, and older ones in
// Origin (on every POST).
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin" || site == "none"
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return true // not a browser: the CSRF token still applies
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

// contentSecurityPolicy allows only the UI's own files: no inline script
// or style, no other origin, no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}
