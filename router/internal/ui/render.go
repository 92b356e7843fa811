package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/lookout-sec/lookout/router/api"
)

type ctxKey struct{}

func withSession(ctx context.Context, x *session) context.Context {
	return context.WithValue(ctx, ctxKey{}, x)
}

// sessionOf is the request's login (set by requireSession).
func sessionOf(r *http.Request) *session {
	x, _ := r.Context().Value(ctxKey{}).(*session)
	return x
}

// page is what every template gets.
type page struct {
	Title   string
	Nav     string // the active menu entry
	Error   string
	Notice  string
	Session *session
	Data    any
}

// CSRF is the token every form posts back.
func (p page) CSRF() string {
	if p.Session == nil {
		return ""
	}
	return p.Session.csrf
}

// Admin reports whether the login may change things.
func (p page) Admin() bool { return p.Session != nil && p.Session.role == RoleAdmin }

// User is who is logged in.
func (p page) User() string {
	if p.Session == nil {
		return ""
	}
	return p.Session.name + " (" + p.Session.role + ")"
}

var pageNames = []string{"login", "overview", "live", "search", "alert", "findings", "silences", "silence_new", "outputs"}

func parseTemplates() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"prio":       prioClass,
		"time":       func(t time.Time) string { return fmtTime(t) },
		"ago":        func(t time.Time) string { return fmtAgo(t) },
		"json":       prettyJSON,
		"sorted":     sortedKeys,
		"field":      fieldString,
		"query":      func(s string) template.URL { return template.URL(s) }, // built with url.Values.Encode
		"searchLink": searchLink,
		"add":        func(a, b int) int { return a + b },
		"join":       strings.Join,
		"percent":    func(f float64) int { return int(f*100 + 0.5) },
		"states":     func() []string { return []string{"active", "pending", "expired", "all"} },
		"markArgs": func(csrf, id, back string) markArgs {
			return markArgs{CSRF: csrf, IDs: []string{id}, Back: back, Key: id}
		},
		"priorities": func() []string {
			out := make([]string, 0, 8)
			for p := api.PriorityEmergency; p <= api.PriorityDebug; p++ {
				out = append(out, p.String())
			}
			return out
		},
	}
	out := map[string]*template.Template{}
	for _, n := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", "templates/"+n+".html")
		if err != nil {
			return nil, fmt.Errorf("ui templates: %s: %w", n, err)
		}
		out[n] = t
	}
	return out, nil
}

func (u *UI) render(w http.ResponseWriter, r *http.Request, name string, p page) {
	if p.Session == nil {
		p.Session = sessionOf(r)
	}
	if p.Notice == "" {
		p.Notice = r.URL.Query().Get("notice")
	}
	var buf bytes.Buffer
	if err := u.pages[name].Execute(&buf, p); err != nil {
		u.log.Error("ui: render", "page", name, "err", err)
		http.Error(w, "render: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// fail renders page name with an error (400 unless code says otherwise).
func (u *UI) fail(w http.ResponseWriter, r *http.Request, code int, err error) {
	w.WriteHeader(code)
	u.render(w, r, "overview", page{Title: "Error", Error: err.Error(), Data: nil})
}

func prioClass(p any) string {
	var s string
	switch x := p.(type) {
	case api.Priority:
		s = x.String()
	case string:
		s = x
	}
	return "p-" + strings.ToLower(s)
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func fmtAgo(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	d := time.Since(t).Round(time.Second)
	switch {
	case d < 0:
		return "in " + (-d).String()
	case d < time.Minute:
		return d.String() + " ago"
	case d < 48*time.Hour:
		return d.Round(time.Minute).String() + " ago"
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

func prettyJSON(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func sortedKeys(m any) []string {
	var out []string
	switch x := m.(type) {
	case map[string]any:
		for k := range x {
			out = append(out, k)
		}
	case map[string]string:
		for k := range x {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func fieldString(v any) string {
	switch x := v.(type) {
	case nil:
		return "<NA>"
	case string:
		return x
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// searchLink is the query of a search for dim = value over the same kind
// of range (24h).
func searchLink(dim, value string) template.URL {
	v := url.Values{}
	switch dim {
	case "rule":
		v.Set("rule", value)
	default:
		v.Set("fields", dim+"="+value)
	}
	return template.URL(v.Encode()) // encoded: safe in a query
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// markArgs feeds the "mark" form (partials.html).
type markArgs struct {
	CSRF, Back, Key string
	IDs             []string
}

// redirect after a change, with a notice to show.
func redirect(w http.ResponseWriter, r *http.Request, to, notice string) {
	sep := "?"
	if strings.Contains(to, "?") {
		sep = "&"
	}
	http.Redirect(w, r, to+sep+"notice="+url.QueryEscape(notice), http.StatusSeeOther)
}
