package tools

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/go-git/go-git/v5/plumbing"

	"grite/actor"
	"grite/event"
	"grite/gitdir"
	"grite/store"
	"grite/wal"
)

// Code is a stable error code shared by the CLI's JSON and MCP results.
type Code string

const (
	CodeInvalidArgs Code = "invalid_args"
	CodeNotFound    Code = "not_found"
	CodeConflict    Code = "conflict"
	CodeNotARepo    Code = "not_a_repo"
	CodeDBBusy      Code = "db_busy"
	CodeIO          Code = "io_error"
	CodeGit         Code = "git_error"
	CodeWAL         Code = "wal_error"
	CodeInternal    Code = "internal_error"
)

// Codes are all the codes, in the order above: the closed set a client
// may switch on (MCP tools declare it in their output schemas).
var Codes = []Code{CodeInvalidArgs, CodeNotFound, CodeConflict, CodeNotARepo, CodeDBBusy, CodeIO, CodeGit, CodeWAL, CodeInternal}

// ExitCode is the process exit status for a code (docs/cli.md decision 3).
func (c Code) ExitCode() int {
	switch c {
	case CodeInvalidArgs:
		return 2
	case CodeNotFound:
		return 3
	case CodeConflict:
		return 4
	case CodeNotARepo, CodeDBBusy:
		return 5
	}
	return 1
}

// Error is a user-facing failure: a stable code, a message, and details
// (suggestions, candidates, holder, ...). Suggestions are safe next steps
// only, never destructive ones.
type Error struct {
	Code    Code           `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
	cause   error
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.cause }

// Suggestions returns details.suggestions.
func (e *Error) Suggestions() []string {
	s, _ := e.Details["suggestions"].([]string)
	return s
}

func newErr(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) with(key string, v any) *Error {
	if e.Details == nil {
		e.Details = map[string]any{}
	}
	e.Details[key] = v
	return e
}

func (e *Error) suggest(s ...string) *Error {
	prev, _ := e.Details["suggestions"].([]string)
	return e.with("suggestions", append(prev, s...))
}

// InvalidArgs is for flag parsing errors at the edges (CLI, MCP).
func InvalidArgs(format string, args ...any) *Error { return newErr(CodeInvalidArgs, format, args...) }

// AsError maps any error onto the taxonomy; unknown errors are internal.
// It is the one mapping, used at the edges (Op.Call, the CLI and MCP
// front ends): code inside tools/ returns plain wrapped errors. nil maps
// to nil.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var idErr *event.IDError
	var walErr *wal.Error
	var pathErr *os.PathError
	var ambiguous *actor.AmbiguousError
	var format *gitdir.FormatError
	switch {
	case errors.As(err, &format):
		// git_error, not not_a_repo: it is a git repository, in a format
		// grite does not write (and 'git init' is no remedy).
		return (&Error{Code: CodeGit, Message: format.Summary(), cause: err}).
			with("setting", format.Setting).with("value", format.Value).suggest(format.Remedy)
	case errors.As(err, &idErr):
		return &Error{Code: CodeInvalidArgs, Message: err.Error(), cause: err}
	case errors.Is(err, gitdir.ErrNotARepo):
		return (&Error{Code: CodeNotARepo, Message: err.Error(), cause: err}).suggest("Run grite inside a git repository, or 'git init' one first")
	case errors.Is(err, store.ErrBusy), errors.Is(err, gitdir.ErrLockBusy):
		return (&Error{Code: CodeDBBusy, Message: err.Error(), cause: err}).suggest("Wait for the other process to finish and retry")
	case errors.As(err, &walErr):
		return (&Error{Code: CodeWAL, Message: err.Error(), cause: err}).with("commit", walErr.Commit.String()).suggest("Run 'grite doctor' to see which WAL commits are unreadable")
	case errors.As(err, &ambiguous):
		return (&Error{Code: CodeInvalidArgs, Message: err.Error(), cause: err}).with("candidates", ambiguous.Candidates).suggest("Give more of the ID, or the actor's label")
	case errors.Is(err, actor.ErrNotFound):
		return (&Error{Code: CodeNotFound, Message: err.Error(), cause: err}).suggest("Run 'grite actor list' to see the actors of this repository")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &Error{Code: CodeInternal, Message: err.Error(), cause: err}
	case errors.As(err, &pathErr):
		return &Error{Code: CodeIO, Message: err.Error(), cause: err}
	}
	return &Error{Code: CodeInternal, Message: err.Error(), cause: err}
}

// partialCloneNote explains an object that a read found missing in a
// partial clone (gitdir.Repo.Promisor): git left it out of a filtered
// fetch of grite's refs, a limitation of the clone rather than damage
// anywhere. It is "" for any other error or repository.
func partialCloneNote(repo *gitdir.Repo, err error) string {
	if err == nil || repo == nil || !repo.Promisor() || !errors.Is(err, plumbing.ErrObjectNotFound) {
		return ""
	}
	return "this repository is a partial clone, and git left the object out when grite's refs were fetched with a filter; fetch them whole with git 2.36 or later: " + refetchCommand(repo.PromisorRemote())
}

// explainMissing makes a read's missing object in a partial clone a
// git_error that says so (see partialCloneNote); other errors pass.
func explainMissing(repo *gitdir.Repo, err error) error {
	note := partialCloneNote(repo, err)
	var e *Error
	if note == "" || errors.As(err, &e) {
		return err // not one, or explained already (sync's errors)
	}
	ne := &Error{Code: CodeGit, Message: err.Error() + ": " + note, cause: err}
	var we *wal.Error
	if errors.As(err, &we) {
		ne = ne.with("commit", we.Commit.String())
	}
	return ne.suggest("Run " + refetchCommand(repo.PromisorRemote()) + ", then retry")
}
