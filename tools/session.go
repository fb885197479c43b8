// Package tools is grite's operations layer: one typed definition per
// operation (input, output, read-only or not, handler) over a Session that
// holds the repository, the actor, the WAL and the view. The CLI and the MCP
// server both call these and nothing below them, so they never drift. It
// never reads stdin or writes stdout; warnings go through Session.Warn.
package tools

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"grite/actor"
	"grite/event"
	"grite/gitdir"
	"grite/lock"
	"grite/store"
	"grite/wal"
)

// Session is one repository handle: the only writer of its process (or MCP
// session). Everything above receives it explicitly.
type Session struct {
	Repo        *gitdir.Repo
	Grite       actor.Dir
	Actor       *actor.Actor
	ActorSource actor.Source
	WAL         *wal.WAL
	Locks       *lock.Manager
	Now         func() time.Time
	// Warn receives non-fatal problems (e.g. an unreadable WAL commit while
	// catching up); the CLI prints them on stderr, MCP adds them to results.
	Warn func(string)

	// view is the session's SQLite view; read it through Store, which
	// waits for one opening in the background.
	view     *store.Store
	warnings []string
	// locksUnsure: a lock cache refresh failed, so the next compares
	// every lock with the view (refreshLocks).
	locksUnsure bool
	// deferView and pending: see DeferViewUpdates.
	deferView bool
	pending   []pendingWrite
	// viewOpening is closed once a view opening in the background (see
	// OpenOptions.WriteFirst) has set view or viewErr; nil otherwise.
	viewOpening chan struct{}
	viewErr     error
	// skipHeartbeat: the write in progress is a claim's own (see heartbeat).
	skipHeartbeat bool
	// letGoActor ends the session's hold on its actor's data (see
	// actor.Actor.Hold); nil for a session without an actor.
	letGoActor func()
}

// pendingWrite is an append whose events the view has yet to get.
type pendingWrite struct {
	events []event.Event
	res    wal.AppendResult
	// newIssue: the events are of one issue whose ID was drawn for them
	// (store.Tx.ApplyNewIssue).
	newIssue bool
}

// DeferViewUpdates makes appends return as soon as their WAL commit is in
// place (the write is then durable, in git), leaving the view update to
// FlushView, which a long-lived session runs once it has answered, or to
// the next CatchUp. Only for operations marked WriteLast: one that read
// the view after its own write would not see it.
func (s *Session) DeferViewUpdates(on bool) { s.deferView = on }

// ViewBehind reports whether appends are waiting for FlushView.
func (s *Session) ViewBehind() bool { return len(s.pending) > 0 }

// OpenOptions say where and as whom to open.
type OpenOptions struct {
	Dir       string // any directory inside the repository
	Selection actor.Selection
	Now       func() time.Time
	Warn      func(string)
	// WriteFirst says the session runs one operation marked
	// Op.WriteFirst: the view opens in the background while the append
	// writes its objects and moves the ref, and is caught up after the
	// append instead of before. The view is a cache of the WAL, so a view
	// that cannot open does not undo the write: the operation succeeds
	// with a warning, and the view catches up at its next open.
	WriteFirst bool
}

// OpenRepo locates the repository only (no actor, no view).
func OpenRepo(dir string) (*gitdir.Repo, actor.Dir, error) {
	repo, err := gitdir.Discover(dir)
	if err != nil {
		return nil, "", err
	}
	return repo, actor.Dir(repo.GriteDir()), nil
}

// Open discovers the repository, selects the actor (creating the default on
// first use), opens its view and catches it up with the WAL.
func Open(ctx context.Context, opts OpenOptions) (*Session, error) {
	repo, gd, err := OpenRepo(opts.Dir)
	if err != nil {
		return nil, err
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	a, src, err := gd.Resolve(opts.Selection, now())
	if err != nil {
		return nil, err
	}
	if opts.WriteFirst {
		return openWriteFirst(ctx, repo, a, src, now, opts.Warn)
	}
	return openAs(ctx, repo, a, src, now, opts.Warn, store.Open)
}

// openWriteFirst is OpenAs with the view opened on another goroutine and
// no catch-up: the operation's append waits for the view once the ref has
// moved (awaitView), then applies its events or catches up.
func openWriteFirst(ctx context.Context, repo *gitdir.Repo, a *actor.Actor, src actor.Source, now func() time.Time, warn func(string)) (*Session, error) {
	release, err := a.Hold()
	if err != nil {
		return nil, err
	}
	s := &Session{
		Repo: repo, Grite: actor.Dir(repo.GriteDir()), Actor: a, ActorSource: src,
		WAL: wal.Open(repo), Locks: lock.New(repo), Now: now, Warn: warn,
		viewOpening: make(chan struct{}), letGoActor: release,
	}
	go func() {
		defer close(s.viewOpening)
		st, err := openView(ctx, actor.Dir(repo.GriteDir()), a, store.Open)
		if err != nil {
			s.viewErr = err
			return
		}
		s.view = st
	}()
	return s, nil
}

// Store returns the session's view, waiting for one opening in the
// background (OpenOptions.WriteFirst). It is nil only when that opening
// failed, which append reports as a warning: a WriteFirst operation reads
// nothing of the view, so no operation meets a nil view.
func (s *Session) Store() *store.Store {
	_ = s.awaitView()
	return s.view
}

// awaitView waits for a view opening in the background, if any.
func (s *Session) awaitView() error {
	if s.viewOpening != nil {
		<-s.viewOpening
		s.viewOpening = nil
	}
	return s.viewErr
}

// OpenAs opens a long-lived session (grite-mcp's) for a known actor: its
// view reads without memory mapping (store.OpenLongLived).
func OpenAs(ctx context.Context, repo *gitdir.Repo, a *actor.Actor, src actor.Source, now func() time.Time, warn func(string)) (*Session, error) {
	return openAs(ctx, repo, a, src, now, warn, store.OpenLongLived)
}

// openAs opens a session for a known actor with its view opened by
// openStore.
func openAs(ctx context.Context, repo *gitdir.Repo, a *actor.Actor, src actor.Source, now func() time.Time, warn func(string),
	openStore func(context.Context, string) (*store.Store, error)) (*Session, error) {
	release, err := a.Hold()
	if err != nil {
		return nil, err
	}
	st, err := openView(ctx, actor.Dir(repo.GriteDir()), a, openStore)
	if err != nil {
		release()
		return nil, err
	}
	s := &Session{
		Repo: repo, Grite: actor.Dir(repo.GriteDir()), Actor: a, ActorSource: src,
		WAL: wal.Open(repo), Locks: lock.New(repo), view: st, Now: now, Warn: warn,
		letGoActor: release,
	}
	if err := s.CatchUp(ctx); err != nil {
		_ = st.Close()
		release()
		return nil, err
	}
	return s, nil
}

// Close gives the view any deferred appends (see DeferViewUpdates; one
// that fails is read from the WAL at the next open) and releases it.
func (s *Session) Close() error { return s.letGo((*store.Store).Close) }

// Release is Close for a process about to exit (a CLI command): a view the
// session did not write is left for the exit to close (store.Release).
func (s *Session) Release() error { return s.letGo((*store.Store).Release) }

// letGo gives the view the deferred appends, if any, and ends its use
// with end; a view still opening is waited for first.
func (s *Session) letGo(end func(*store.Store) error) error {
	if release := s.letGoActor; release != nil {
		s.letGoActor = nil
		defer release()
	}
	if s.awaitView() != nil {
		return nil // no view was opened
	}
	if len(s.pending) > 0 {
		_ = s.FlushView(context.Background())
	}
	return end(s.view)
}

func (s *Session) warn(msg string) {
	s.warnings = append(s.warnings, msg)
	if s.Warn != nil {
		s.Warn(msg)
	}
}

// TakeWarnings returns and clears warnings gathered since the last call.
func (s *Session) TakeWarnings() []string {
	w := s.warnings
	s.warnings = nil
	return w
}

func (s *Session) nowMS() uint64 { return uint64(s.Now().UnixMilli()) }

// append seals events of the current actor, appends them as one WAL commit
// and brings the view up to date. newIssue says the events are of one
// issue whose ID was drawn for them.
func (s *Session) append(ctx context.Context, events []event.Event, newIssue bool) (plumbing.Hash, error) {
	for i := range events {
		if err := events[i].Seal(s.Actor.Key); err != nil {
			return plumbing.ZeroHash, err
		}
	}
	res, err := s.WAL.Append(ctx, s.Actor.ID, events, s.Now())
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if err := s.awaitView(); err != nil {
		// The events are in git; only the cache is behind.
		s.warn(fmt.Sprintf("the view could not be opened (%v); the write is in the WAL and the view catches up when it next opens; 'grite doctor --fix' rebuilds it", err))
		return res.Commit, nil
	}
	w := pendingWrite{events, res, newIssue}
	if s.deferView {
		s.pending = append(s.pending, w)
		return res.Commit, nil
	}
	err = s.applyWritten(ctx, w)
	if err == nil {
		return res.Commit, nil
	}
	if !errors.Is(err, errViewMoved) {
		return res.Commit, err
	}
	if err := s.CatchUp(ctx); err != nil {
		return res.Commit, err
	}
	return res.Commit, nil
}

// eventTS is the ts of a new event on issue by the session's actor: now,
// or after every event of the issue this view has seen when edit is set,
// so an edit always wins over the state its author saw, even with skewed
// clocks. seen, if not nil, is the issue's UpdatedTS (the ts of its latest
// event) as the caller has just read it from the view.
func (s *Session) eventTS(ctx context.Context, issue event.IssueID, edit bool, seen *uint64) (uint64, error) {
	ts := s.nowMS()
	if !edit {
		return ts, nil
	}
	var max uint64
	if seen != nil {
		max = *seen
	} else if m, err := s.Store().MaxIssueTS(ctx, issue.String()); err != nil {
		return 0, err
	} else {
		max = m
	}
	if max >= ts {
		ts = max + 1
	}
	return ts, nil
}

// OpenBare opens the repository without selecting an actor or a view, for
// commands that manage actors themselves (init, actor ...).
func OpenBare(dir string, now func() time.Time) (*Session, error) {
	repo, gd, err := OpenRepo(dir)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Session{Repo: repo, Grite: gd, WAL: wal.Open(repo), Locks: lock.New(repo), Now: now}, nil
}
