// Package board is grite serve's web board: server-rendered pages of the
// repository's issues (the board's columns, an issue, the activity, the
// actors), live over server-sent events, and the few writes a person
// overseeing agents needs. Everything it shows or writes goes through the
// operations of package tools under one session, the process's only
// writer; it never reaches into the storage packages. Its templates and
// assets are embedded, so the binary serves them without the internet.
package board

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"sync"

	"grite/tools"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Options configure a Server.
type Options struct {
	// Token, when set, must come with every request: as ?token= once
	// (the server then sets a cookie), the cookie, or a bearer header.
	Token string
	// Hosts, when set, are the only Host headers accepted (host:port):
	// a page of another site that a DNS rebinding points at the loopback
	// address names its own host, and is refused.
	Hosts []string
	// CookieName is the token cookie's name; cookies are shared by every
	// port of a host, so it carries the port.
	CookieName string
}

// Server serves the board of one repository.
type Server struct {
	mu       sync.Mutex // the session is single-writer: one call at a time
	sess     *tools.Session
	opts     Options
	csrf     string
	tmpl     map[string]*template.Template
	markdown *markdown
	hub      *hub

	notesMu sync.Mutex
	notes   map[string][]string // see redirect
}

// New makes the server for a session and starts watching the repository.
// Close stops it; the session stays the caller's.
func New(ctx context.Context, s *tools.Session, opts Options) (*Server, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	if opts.CookieName == "" {
		opts.CookieName = "grite_token"
	}
	srv := &Server{sess: s, opts: opts, csrf: hex.EncodeToString(b[:]), markdown: newMarkdown(), notes: map[string][]string{}}
	var err error
	if srv.tmpl, err = parseTemplates(srv.markdown); err != nil {
		return nil, err
	}
	if srv.hub, err = startHub(srv); err != nil {
		return nil, err
	}
	return srv, nil
}

// Close stops the live updates (open event streams end).
func (srv *Server) Close() error { return srv.hub.close() }

// Handler is the board's HTTP handler.
func (srv *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFiles, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", srv.boardPage)
	mux.HandleFunc("GET /issue/{id}", srv.issuePage)
	mux.HandleFunc("GET /activity", srv.activityPage)
	mux.HandleFunc("GET /actors", srv.actorsPage)
	mux.HandleFunc("GET /live", srv.live)
	mux.HandleFunc("POST /issue", srv.createIssue)
	mux.HandleFunc("POST /issue/{id}/comment", srv.comment)
	mux.HandleFunc("POST /issue/{id}/state", srv.setState)
	mux.HandleFunc("POST /issue/{id}/label", srv.label)
	mux.HandleFunc("POST /issue/{id}/clear-claim", srv.clearClaim)
	mux.HandleFunc("/", srv.notFound)
	return srv.guard(mux)
}

// call runs one operation in the session, caught up with the WAL first:
// other processes write the repository all the time.
func call[I, O any](ctx context.Context, srv *Server, op tools.Op[I, O], in I) (O, []string, error) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	var zero O
	srv.sess.TakeWarnings()
	if err := srv.sess.CatchUp(ctx); err != nil {
		return zero, nil, tools.AsError(err)
	}
	out, err := op.Call(ctx, srv.sess, in)
	w := srv.sess.TakeWarnings()
	if err != nil {
		return zero, w, err
	}
	return out, w, nil
}
