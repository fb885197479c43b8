package board

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"

	"grite/tools"
)

// The writes a person makes from the board. Each is one operation of
// package tools under the session's actor (the repository default), as
// the CLI would make it; a failure shows the operation's code, message and
// suggestions on the page the form was on, with what was typed kept. A
// success redirects (so a reload does not post again) and carries the
// operation's warnings to the next page.

func (srv *Server) createIssue(w http.ResponseWriter, r *http.Request) {
	form := createForm{Title: r.PostForm.Get("title"), Body: r.PostForm.Get("body"), Labels: r.PostForm.Get("labels")}
	in := tools.IssueCreateInput{Title: strings.TrimSpace(form.Title), Body: form.Body, Labels: splitNames(form.Labels)}
	out, warnings, err := call(ctxOf(r), srv, tools.IssueCreate, in)
	if err != nil {
		srv.renderBoard(w, r, tools.BoardInput{}, form, asToolError(err))
		return
	}
	srv.redirect(w, r, "/issue/"+out.IssueID, warnings)
}

func (srv *Server) comment(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	body := r.PostForm.Get("body")
	out, warnings, err := call(ctxOf(r), srv, tools.IssueComment, tools.IssueCommentInput{ID: id, Body: body})
	if err != nil {
		srv.renderIssue(w, r, id, issueData{Comment: body}, asToolError(err))
		return
	}
	srv.redirect(w, r, "/issue/"+out.IssueID, warnings)
}

func (srv *Server) setState(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	srv.apply(w, r, tools.IssueUpdateInput{ID: id, State: r.PostForm.Get("state")}, issueData{})
}

func (srv *Server) label(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	name := strings.TrimSpace(r.PostForm.Get("label"))
	in := tools.IssueUpdateInput{ID: id}
	switch r.PostForm.Get("action") {
	case "add":
		in.AddLabels = []string{name}
	case "remove":
		in.RemoveLabels = []string{name}
	default:
		srv.renderIssue(w, r, id, issueData{Label: name}, tools.InvalidArgs("action must be add or remove, got %q", r.PostForm.Get("action")))
		return
	}
	srv.apply(w, r, in, issueData{Label: name})
}

// apply writes one change as the CLI's close, reopen and label commands do.
func (srv *Server) apply(w http.ResponseWriter, r *http.Request, in tools.IssueUpdateInput, form issueData) {
	out, warnings, err := call(ctxOf(r), srv, tools.IssueUpdate, in)
	if err != nil {
		srv.renderIssue(w, r, in.ID, form, asToolError(err))
		return
	}
	if !out.Changed && out.Message != "" {
		warnings = append(warnings, "unchanged: "+out.Message)
	}
	srv.redirect(w, r, "/issue/"+out.IssueID, warnings)
}

func (srv *Server) clearClaim(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	out, warnings, err := call(ctxOf(r), srv, tools.ClaimClear, tools.ClaimClearInput{ID: id})
	back := "/issue/" + out.IssueID
	if r.PostForm.Get("return") == "board" {
		back = "/"
	}
	if err != nil {
		if back == "/" {
			srv.renderBoard(w, r, tools.BoardInput{}, createForm{}, asToolError(err))
			return
		}
		srv.renderIssue(w, r, id, issueData{}, asToolError(err))
		return
	}
	if !out.Changed && out.Message != "" {
		warnings = append(warnings, "unchanged: "+out.Message)
	}
	srv.redirect(w, r, back, warnings)
}

// maxNotes bounds the notes waiting for a page that never came.
const maxNotes = 64

// redirect sends the browser to path, with notes for the page it gets.
func (srv *Server) redirect(w http.ResponseWriter, r *http.Request, path string, notes []string) {
	if len(notes) > 0 {
		var b [8]byte
		rand.Read(b[:])
		key := hex.EncodeToString(b[:])
		srv.notesMu.Lock()
		if len(srv.notes) >= maxNotes {
			clear(srv.notes)
		}
		srv.notes[key] = notes
		srv.notesMu.Unlock()
		path += "?note=" + key
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// takeNotes returns the notes a redirect left for this page, once.
func (srv *Server) takeNotes(r *http.Request) []string {
	key := r.URL.Query().Get("note")
	if key == "" {
		return nil
	}
	srv.notesMu.Lock()
	defer srv.notesMu.Unlock()
	n := srv.notes[key]
	delete(srv.notes, key)
	return n
}
