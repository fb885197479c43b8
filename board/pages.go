package board

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"grite/tools"
)

// page is what every template gets.
type page struct {
	Title string
	Nav   string // board, activity, actors or "" (issue and error pages)
	Gen   uint64 // the hub's generation read before the data
	Live  bool   // the page follows the event stream
	// Watch lists the issues whose changes concern the page (the issue
	// page: the issue and those related); empty means every change.
	Watch string
	CSRF  string
	Actor string
	Repo  string
	Error *tools.Error
	Notes []string
	Data  any
}

var pageNames = []string{"board", "issue", "activity", "actors", "error"}

func parseTemplates(md *markdown) (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	fm := template.FuncMap{"md": md.render}
	for k, v := range funcs {
		fm[k] = v
	}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(fm).ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

var funcs = template.FuncMap{
	"short": func(id string) string {
		if len(id) > 8 {
			return id[:8]
		}
		return id
	},
	"ago":   func(ts, now uint64) string { return relative(int64(now)-int64(ts)) + " ago" },
	"left":  func(exp, now uint64) string { return relative(int64(exp)-int64(now)) + " left" },
	"since": func(exp, now uint64) string { return relative(int64(now)-int64(exp)) + " ago" },
	"when": func(ts uint64) string {
		return time.UnixMilli(int64(ts)).UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"iso": func(ts uint64) string { return time.UnixMilli(int64(ts)).UTC().Format(time.RFC3339) },
	"who": func(id string, labels map[string]string) string {
		if l := labels[id]; l != "" {
			return l
		}
		if len(id) > 8 {
			return id[:8]
		}
		return id
	},
	"join":  strings.Join,
	"minus": func(a, b int) int { return a - b },
	"cardOf": func(c tools.BoardCard, now uint64, csrf string) cardView {
		return cardView{Card: c, Now: now, CSRF: csrf}
	},
	"lower": strings.ToLower,
}

// cardView is what the card template gets.
type cardView struct {
	Card tools.BoardCard
	Now  uint64
	CSRF string
}

// relative words a duration in milliseconds: 45s, 12m, 3h, 2d.
func relative(ms int64) string {
	d := time.Duration(max(ms, 0)) * time.Millisecond
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func sizeText(n int) string { return fmt.Sprintf("%d KiB", n>>10) }

// newPage fills what every page shows about the server.
func (srv *Server) newPage(title, nav string) page {
	srv.mu.Lock()
	a := srv.sess.Actor
	repo := srv.sess.RepoPath()
	srv.mu.Unlock()
	who := a.ID.String()[:8]
	if a.Config.Label != "" {
		who = a.Config.Label + " (" + who + ")"
	}
	return page{Title: title, Nav: nav, Gen: srv.hub.generation(), Live: true, CSRF: srv.csrf, Actor: who, Repo: repo}
}

// render writes a page, or only its live part when the page's script
// asks (?_f=1). It renders into a buffer first: a template error then
// becomes an error page, not half a page.
// renderForm renders a page that holds a form: with the error of a
// refused write (and its HTTP status) when there is one, and the notes
// left for this page.
func (srv *Server) renderForm(w http.ResponseWriter, r *http.Request, name string, p page, failed *tools.Error) {
	status := http.StatusOK
	if failed != nil {
		p.Error, status = failed, statusOf(failed.Code)
	}
	p.Notes = srv.takeNotes(r)
	srv.render(w, r, name, p, status)
}

func (srv *Server) render(w http.ResponseWriter, r *http.Request, name string, p page, status int) {
	var buf bytes.Buffer
	t := srv.tmpl[name]
	var err error
	if r.URL.Query().Get("_f") == "1" && name != "error" {
		err = t.ExecuteTemplate(&buf, "live", p)
	} else {
		err = t.Execute(&buf, p)
	}
	if err != nil {
		http.Error(w, "internal_error: render "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w) // the client went away: nothing to tell it
}

// statusOf maps the error taxonomy onto HTTP.
func statusOf(code tools.Code) int {
	switch code {
	case tools.CodeInvalidArgs:
		return http.StatusBadRequest
	case tools.CodeNotFound:
		return http.StatusNotFound
	case tools.CodeConflict:
		return http.StatusConflict
	case tools.CodeDBBusy:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// fail shows an operation's error on a page of its own.
func (srv *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := tools.AsError(err)
	p := srv.newPage("Error", "")
	p.Live, p.Error = false, e
	srv.render(w, r, "error", p, statusOf(e.Code))
}

// refuse shows why a request was refused before any operation ran.
func (srv *Server) refuse(w http.ResponseWriter, r *http.Request, status int, msg string) {
	p := page{Title: http.StatusText(status), Error: &tools.Error{Message: msg}}
	srv.render(w, r, "error", p, status)
}

func (srv *Server) notFound(w http.ResponseWriter, r *http.Request) {
	srv.refuse(w, r, http.StatusNotFound, "no page at "+r.URL.Path)
}

// boardData is the board page's data.
type boardData struct {
	Board    tools.BoardOutput
	Filter   tools.BoardInput
	Filtered bool
	Form     createForm
}

type createForm struct{ Title, Body, Labels string }

func (srv *Server) boardPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	in := tools.BoardInput{Label: strings.TrimSpace(q.Get("label")), Assignee: strings.TrimSpace(q.Get("assignee")), Query: strings.TrimSpace(q.Get("q"))}
	srv.renderBoard(w, r, in, createForm{}, nil)
}

func (srv *Server) renderBoard(w http.ResponseWriter, r *http.Request, in tools.BoardInput, form createForm, failed *tools.Error) {
	p := srv.newPage("Board", "board")
	out, _, err := call(r.Context(), srv, tools.Board, in)
	if err != nil {
		srv.fail(w, r, err)
		return
	}
	p.Data = boardData{Board: out, Filter: in, Filtered: in.Label != "" || in.Assignee != "" || in.Query != "", Form: form}
	srv.renderForm(w, r, "board", p, failed)
}

// issueData is the issue page's data.
type issueData struct {
	tools.BoardIssueOutput
	Comment string
	Label   string
}

func (srv *Server) issuePage(w http.ResponseWriter, r *http.Request) {
	srv.renderIssue(w, r, r.PathValue("id"), issueData{}, nil)
}

func (srv *Server) renderIssue(w http.ResponseWriter, r *http.Request, id string, form issueData, failed *tools.Error) {
	p := srv.newPage("Issue", "")
	out, _, err := call(r.Context(), srv, tools.BoardIssue, tools.BoardIssueInput{ID: id})
	if err != nil {
		srv.fail(w, r, err)
		return
	}
	form.BoardIssueOutput = out
	p.Title = out.Issue.Title
	watch := []string{out.Issue.IssueID}
	for _, rel := range out.Issue.Relations {
		watch = append(watch, rel.IssueID)
	}
	p.Watch = strings.Join(watch, " ")
	p.Data = form
	srv.renderForm(w, r, "issue", p, failed)
}

// activityData is the activity page's data.
type activityData struct {
	tools.ActivityOutput
	Actor string
	Now   uint64
}

func (srv *Server) activityPage(w http.ResponseWriter, r *http.Request) {
	p := srv.newPage("Activity", "activity")
	in := tools.ActivityInput{Limit: 200, Actor: strings.TrimSpace(r.URL.Query().Get("actor"))}
	out, _, err := call(r.Context(), srv, tools.Activity, in)
	if err != nil {
		srv.fail(w, r, err)
		return
	}
	p.Data = activityData{ActivityOutput: out, Actor: in.Actor, Now: uint64(time.Now().UnixMilli())}
	srv.render(w, r, "activity", p, http.StatusOK)
}

func (srv *Server) actorsPage(w http.ResponseWriter, r *http.Request) {
	p := srv.newPage("Actors", "actors")
	out, _, err := call(r.Context(), srv, tools.BoardActors, struct{}{})
	if err != nil {
		srv.fail(w, r, err)
		return
	}
	p.Data = out
	srv.render(w, r, "actors", p, http.StatusOK)
}

// splitNames reads a list typed into one field, comma separated (a label
// cannot hold a comma, but may hold spaces).
func splitNames(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// asToolError is err as the taxonomy's error.
func asToolError(err error) *tools.Error {
	var e *tools.Error
	if errors.As(err, &e) {
		return e
	}
	return tools.AsError(err)
}

// ctxOf is the request's context, for brevity.
func ctxOf(r *http.Request) context.Context { return r.Context() }
