package board

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"grite/tools"
)

// maxRequestBody bounds a POST: an issue body or comment may be up to
// tools.MaxBodyBytes, and the form's other fields are small.
const maxRequestBody = tools.MaxBodyBytes + 64<<10

// guard wraps every request: security headers, the Host check, the token,
// and for writes the same-origin check, the form token and the size bound.
func (srv *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// No inline script or style anywhere: even markup that escaped
		// both the templates and the sanitiser could not run.
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		if len(srv.opts.Hosts) > 0 && !slices.Contains(srv.opts.Hosts, strings.ToLower(r.Host)) {
			srv.refuse(w, r, http.StatusMisdirectedRequest, "unknown host "+r.Host+": open the board by the address grite serve printed")
			return
		}
		if srv.opts.Token != "" && !srv.authorized(w, r) {
			return
		}
		if r.Method == http.MethodPost {
			if msg := sameOrigin(r); msg != "" {
				srv.refuse(w, r, http.StatusForbidden, msg)
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
			if err := r.ParseForm(); err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					srv.refuse(w, r, http.StatusRequestEntityTooLarge, "request body too large: at most "+sizeText(maxRequestBody))
					return
				}
				srv.refuse(w, r, http.StatusBadRequest, "unreadable form: "+err.Error())
				return
			}
			if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(srv.csrf)) != 1 {
				srv.refuse(w, r, http.StatusForbidden, "the form's token is missing or stale: reload the page and submit again")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// authorized checks the token, taking it from ?token= (then setting the
// cookie and redirecting to the address without it), the cookie, or an
// Authorization: Bearer header.
func (srv *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	want := []byte(srv.opts.Token)
	if q := r.URL.Query().Get("token"); q != "" && r.Method == http.MethodGet {
		if subtle.ConstantTimeCompare([]byte(q), want) == 1 {
			http.SetCookie(w, &http.Cookie{Name: srv.opts.CookieName, Value: srv.opts.Token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
			u := *r.URL
			v := u.Query()
			v.Del("token")
			u.RawQuery = v.Encode()
			http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
			return false
		}
	}
	if c, err := r.Cookie(srv.opts.CookieName); err == nil && subtle.ConstantTimeCompare([]byte(c.Value), want) == 1 {
		return true
	}
	if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && subtle.ConstantTimeCompare([]byte(b), want) == 1 {
		return true
	}
	srv.refuse(w, r, http.StatusUnauthorized, "this board needs its token: open the address with ?token= that grite serve printed")
	return false
}

// sameOrigin refuses a write that another site's page may have sent: its
// Origin (or, without one, its Referer) must be this server's own. A
// request with neither is refused too: browsers send Origin with every
// form POST.
func sameOrigin(r *http.Request) string {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return "cross-site request refused"
	}
	from := r.Header.Get("Origin")
	if from == "" || from == "null" {
		from = r.Header.Get("Referer")
	}
	if from == "" {
		return "request refused: it carries neither Origin nor Referer, so it cannot be told from a cross-site one"
	}
	u, err := url.Parse(from)
	if err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) || (u.Scheme != "http" && u.Scheme != "https") {
		return "cross-site request refused: it comes from " + from
	}
	return ""
}
