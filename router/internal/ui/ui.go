// Package ui is the router's triage web UI at /ui/ (docs/ui.md): a live
// stream of alerts, an overview chart, search over the alert history
// (router/internal/history), findings, silences and output health, on top
// of the noise stage's API. Pages are rendered on the server with
// html/template (every value escaped); the one script (static/app.js)
// runs the live stream and small conveniences, and the pages work
// without it otherwise. A strict Content-Security-Policy allows only the
// UI's own files. Login takes an admin or viewer token and sets a
// session cookie; every change is a POST carrying the session's CSRF
// token, and viewers change nothing.
package ui

import (
	"crypto/subtle"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lookout-sec/lookout/router/internal/history"
	"github.com/lookout-sec/lookout/router/internal/noise"
	"github.com/lookout-sec/lookout/router/internal/queue"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// DeadLetters is what the outputs page needs from the queue (the same as
// the /admin dead-letter API).
type DeadLetters interface {
	DeadLetters(output string) ([]queue.DeadLetter, error)
	Replay(output string, ids []uint64) (int, error)
	Purge(output string, ids []uint64) (int, error)
}

// Options configures New.
type Options struct {
	AdminTokens  []string // log in with every right
	ViewerTokens []string // log in read-only
	SessionTTL   time.Duration
	History      history.Store
	// Search answers the search and alert pages when set (ui.search:
	// elasticsearch); SearchStore names it on the pages.
	Search      Searcher
	SearchStore string
	Hub         *Hub
	Noise       *noise.Stage // nil: noise control is off (no findings, silences)
	DeadLetters DeadLetters
	Outputs     []string
	Gatherer    prometheus.Gatherer // the router's metrics (outputs page)
	Logger      *slog.Logger
	Now         func() time.Time
}

// UI serves the pages.
type UI struct {
	opts     Options
	hub      *Hub
	sessions *sessions
	pages    map[string]*template.Template
	log      *slog.Logger
	now      func() time.Time

	rateMu sync.Mutex
	rates  map[string]rateSample // outputs page: delivered counter last seen
}

// New returns the UI's handler, to be mounted at /ui.
func New(opts Options) (http.Handler, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Hub == nil {
		opts.Hub = NewHub()
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	u := &UI{
		opts: opts, hub: opts.Hub, log: opts.Logger, now: opts.Now, rates: map[string]rateSample{},
		sessions: newSessions(opts.AdminTokens, opts.ViewerTokens, opts.SessionTTL, opts.Now),
	}
	var err error
	if u.pages, err = parseTemplates(); err != nil {
		return nil, err
	}
	static, _ := fs.Sub(staticFS, "static")
	r := chi.NewRouter()
	r.Use(secureHeaders)
	r.Handle("/static/*", http.StripPrefix("/ui/static/", http.FileServerFS(static)))
	r.Get("/login", u.loginPage)
	r.Post("/login", u.loginPost)
	r.Group(func(r chi.Router) {
		r.Use(u.requireSession)
		r.Post("/logout", u.logout)
		r.Get("/", u.overview)
		r.Get("/live", u.livePage)
		r.Get("/live/stream", u.stream)
		r.Get("/search", u.search)
		r.Get("/alerts/{uuid}", u.alert)
		r.Get("/findings", u.findings)
		r.Get("/silences", u.silences)
		r.Get("/silences/new", u.newSilence)
		r.Get("/outputs", u.outputs)
		r.Group(func(r chi.Router) {
			r.Use(u.requireAdmin)
			r.Post("/outputs/{output}/replay", u.replay)
			r.Post("/outputs/{output}/purge", u.purge)
		})
		r.Group(func(r chi.Router) {
			r.Use(u.requireAdmin, u.requireNoise)
			r.Post("/findings/mark", u.markFindings)
			r.Post("/learning", u.startLearning)
			r.Post("/learning/{id}/stop", u.stopLearning)
			r.Post("/silences", u.createSilence)
			r.Post("/silences/{id}/expire", u.expireSilence)
		})
	})
	return r, nil
}

// requireSession lets only logged-in requests through, and state changes
// only with the session's CSRF token from this origin.
func (u *UI) requireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x := u.sessions.get(r)
		if x == nil {
			if r.Method == http.MethodGet && r.URL.Path != "/ui/live/stream" {
				http.Redirect(w, r, "/ui/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Error(w, "log in first", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost {
			if !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(x.csrf)) != 1 {
				http.Error(w, "the form is stale or came from another site (CSRF token mismatch): reload the page", http.StatusForbidden)
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(withSession(r.Context(), x)))
	})
}

func (u *UI) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sessionOf(r).role != RoleAdmin {
			http.Error(w, "read-only login (ui.viewer_tokens): changes need an admin token", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (u *UI) requireNoise(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u.opts.Noise == nil {
			http.Error(w, "noise control is off (noise.enabled: false)", http.StatusConflict)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (u *UI) loginPage(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, "login", page{Title: "Log in", Data: map[string]string{"Next": safeNext(r.URL.Query().Get("next"))}})
}

func (u *UI) loginPost(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "login from another site refused", http.StatusForbidden)
		return
	}
	x := u.sessions.login(r.PostFormValue("token"), r.PostFormValue("name"))
	next := safeNext(r.PostFormValue("next"))
	if x == nil {
		w.WriteHeader(http.StatusUnauthorized)
		u.render(w, r, "login", page{Title: "Log in", Error: "That token is neither an admin nor a viewer token.", Data: map[string]string{"Next": next}})
		return
	}
	u.log.Info("ui login", "role", x.role, "name", x.name)
	http.SetCookie(w, u.sessions.cookie(r, x))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (u *UI) logout(w http.ResponseWriter, r *http.Request) {
	u.sessions.logout(sessionOf(r))
	http.SetCookie(w, u.sessions.cookie(r, nil))
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}

// safeNext keeps a redirect inside the UI.
func safeNext(s string) string {
	if len(s) > 1 && s[0] == '/' && s[1] != '/' && s[1] != '\\' && len(s) >= 4 && s[:4] == "/ui/" {
		return s
	}
	return "/ui/"
}
