package outputs

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// MaxRedirects is how many redirects a client following them takes at most.
const MaxRedirects = 10

// CheckRedirect returns an http.Client CheckRedirect for outputs. Outputs
// never follow redirects unless configured to (follow false): the client
// then returns the 3xx response itself, which RedirectError turns into a
// permanent failure naming the Location. Following (follow true) re-sends
// the same method, headers and body to the new location (net/http alone
// would turn a POST answered 301/302/303 into a body-less GET, and a 200 to
// that GET is not a delivery), up to MaxRedirects.
func CheckRedirect(follow bool) func(req *http.Request, via []*http.Request) error {
	if !follow {
		return func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return func(req *http.Request, via []*http.Request) error {
		if len(via) > MaxRedirects {
			return fmt.Errorf("stopped after %d redirects", MaxRedirects)
		}
		first := via[0]
		if req.Method != first.Method {
			if first.GetBody == nil && first.Body != nil && first.Body != http.NoBody {
				return errors.New("cannot re-send the body to the redirect's location")
			}
			req.Method = first.Method
			if first.GetBody != nil {
				b, err := first.GetBody()
				if err != nil {
					return fmt.Errorf("re-send body: %w", err)
				}
				req.Body, req.GetBody, req.ContentLength = b, first.GetBody, first.ContentLength
			}
			for _, h := range []string{"Content-Type", "Content-Encoding"} {
				if v := first.Header.Get(h); v != "" {
					req.Header.Set(h, v)
				}
			}
		}
		return nil
	}
}

// RedirectError returns a permanent failure for a 3xx response (one the
// client did not follow), naming its status and Location, and nil for
// anything else.
func RedirectError(resp *http.Response) error {
	if resp.StatusCode < 300 || resp.StatusCode > 399 {
		return nil
	}
	loc := resp.Header.Get("Location")
	u, err := url.Parse(loc)
	if err == nil && resp.Request != nil && resp.Request.URL != nil {
		u = resp.Request.URL.ResolveReference(u)
	}
	if err == nil {
		loc = u.Scheme + "://" + u.Host + u.Path // the query may hold a token
	}
	return &Error{Status: resp.StatusCode, Err: fmt.Errorf("redirect %d to %q not followed (set follow_redirects: true to follow it)", resp.StatusCode, loc)}
}
