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
	"path/filepath"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"grite/actor"
	"grite/crdt"
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
	Store       *store.Store
	Now         func() time.Time
	// Warn receives non-fatal problems (e.g. an unreadable WAL commit while
	// catching up); the CLI prints them on stderr, MCP adds them to results.
	Warn func(string)

	warnings []string
	// deferView and pending: see DeferViewUpdates.
	deferView bool
	pending   []pendingWrite
	// viewOpening is closed once a view opening in the background (see
	// OpenOptions.WriteFirst) has set Store or viewErr; nil otherwise.
	viewOpening chan struct{}
	viewErr     error
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

// FlushView gives the view the events of deferred appends: directly when
// the view is still where each append found it, through CatchUp otherwise.
func (s *Session) FlushView(ctx context.Context) error {
	pending := s.pending
	s.pending = nil
	for i, p := range pending {
		err := s.applyWritten(ctx, p)
		if errors.Is(err, errViewMoved) {
			break // CatchUp reads the rest from the WAL
		}
		if err != nil {
			s.pending = append(s.pending, pending[i+1:]...)
			return err
		}
	}
	return s.catchUpFromWAL(ctx)
}

// OpenOptions say where and as whom to open.
type OpenOptions struct {
	Dir       string // any directory inside the repository
	Selection actor.Selection
	Now       func() time.Time
	Warn      func(string)
	// Appends says the session will write one WAL commit: its object
	// files are made (gitdir.Repo.PrepareFiles) while the view opens.
	Appends bool
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
	if opts.Appends {
		repo.PrepareFiles(wal.ObjectsPerCommit)
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
		return openWriteFirst(ctx, repo, a, src, now, opts.Warn), nil
	}
	return OpenAs(ctx, repo, a, src, now, opts.Warn)
}

// openWriteFirst is OpenAs with the view opened on another goroutine and
// no catch-up: the operation's append waits for the view once the ref has
// moved (awaitView), then applies its events or catches up.
func openWriteFirst(ctx context.Context, repo *gitdir.Repo, a *actor.Actor, src actor.Source, now func() time.Time, warn func(string)) *Session {
	s := &Session{
		Repo: repo, Grite: actor.Dir(repo.GriteDir()), Actor: a, ActorSource: src,
		WAL: wal.Open(repo), Locks: lock.New(repo), Now: now, Warn: warn,
		viewOpening: make(chan struct{}),
	}
	go func() {
		defer close(s.viewOpening)
		st, err := store.Open(ctx, filepath.Join(a.DataDir, "view.db"))
		if err != nil {
			s.viewErr = err
			return
		}
		s.Store = st
	}()
	return s
}

// awaitView waits for a view opening in the background, if any.
func (s *Session) awaitView() error {
	if s.viewOpening != nil {
		<-s.viewOpening
		s.viewOpening = nil
	}
	return s.viewErr
}

// OpenAs opens a session for a known actor.
func OpenAs(ctx context.Context, repo *gitdir.Repo, a *actor.Actor, src actor.Source, now func() time.Time, warn func(string)) (*Session, error) {
	st, err := store.Open(ctx, filepath.Join(a.DataDir, "view.db"))
	if err != nil {
		return nil, err
	}
	s := &Session{
		Repo: repo, Grite: actor.Dir(repo.GriteDir()), Actor: a, ActorSource: src,
		WAL: wal.Open(repo), Locks: lock.New(repo), Store: st, Now: now, Warn: warn,
	}
	if err := s.CatchUp(ctx); err != nil {
		st.Close()
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
	if s.awaitView() != nil {
		return nil // no view was opened
	}
	if len(s.pending) > 0 {
		s.FlushView(context.Background())
	}
	return end(s.Store)
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

// CatchUp applies WAL commits the view has not seen. A commit that cannot
// be read stops the walk there: newer events are applied, a warning names
// the commit, and the view keeps its previous head so it retries next time.
//
// Other processes catch the same view up concurrently, so the transaction
// checks that the view is still at the head this catch-up started from and
// starts over otherwise; applying events read against a view that another
// process has since reset would leave a gap under a newer wal_head.
func (s *Session) CatchUp(ctx context.Context) error {
	if len(s.pending) > 0 {
		return s.FlushView(ctx)
	}
	return s.catchUpFromWAL(ctx)
}

// catchUpFromWAL is CatchUp without deferred appends: it reads what the
// view lacks from the WAL, starting over while other processes move it.
func (s *Session) catchUpFromWAL(ctx context.Context) error {
	for attempt := 1; ; attempt++ {
		err := s.catchUp(ctx)
		if !errors.Is(err, errViewMoved) {
			return err
		}
		if attempt == maxCatchUpAttempts {
			return fmt.Errorf("%w: the view kept moving during %d catch-up attempts", store.ErrBusy, attempt)
		}
	}
}

// maxCatchUpAttempts bounds CatchUp's retries; each retry means another
// process moved the view forward, so this only trips under extreme load.
const maxCatchUpAttempts = 1000

var errViewMoved = errors.New("view moved during catch-up")

func (s *Session) catchUp(ctx context.Context) error {
	// applied before head: the view only ever records heads that were
	// current, so applied is then an ancestor of head unless history was
	// rewritten (a rebased sync), which is what triggers a rebuild below.
	applied, err := s.Store.Meta(ctx, "wal_head")
	if err != nil {
		return err
	}
	head, err := s.WAL.Head()
	if err != nil {
		return err
	}
	if applied == head.String() || (applied == "" && head.IsZero() && !s.Store.Recreated) {
		return nil
	}
	appliedHash := plumbing.NewHash(applied)
	if applied == "" {
		appliedHash = plumbing.ZeroHash
	}
	var commits []wal.Commit
	found := appliedHash.IsZero()
	walkErr := s.WAL.Walk(ctx, head, wal.ReadOptions{Stop: func(h plumbing.Hash) bool {
		if h == appliedHash {
			found = true
			return true
		}
		return false
	}}, func(c wal.Commit) error { commits = append(commits, c); return nil })
	var werr *wal.Error
	if walkErr != nil && !errors.As(walkErr, &werr) {
		return walkErr
	}
	events := make([]event.Event, 0, len(commits))
	for i := len(commits) - 1; i >= 0; i-- {
		events = append(events, commits[i].Events...)
	}
	rebuild := !found && walkErr == nil // applied head is not in history any more
	err = s.Store.Update(ctx, func(tx *store.Tx) error {
		if cur, err := tx.Meta("wal_head"); err != nil {
			return err
		} else if cur != applied {
			return errViewMoved
		}
		if rebuild || applied == "" {
			if err := tx.Reset(); err != nil {
				return err
			}
			if err := tx.ApplyFolded(events, crdt.Fold(events)); err != nil {
				return err
			}
		} else if _, err := tx.Apply(events); err != nil {
			return err
		}
		// A view of an empty WAL records no head, as Rebuild and load
		// leave it: the zero hash written here made doctor compare it
		// with the empty head and call every fresh repository stale.
		if walkErr != nil || head.IsZero() {
			return nil
		}
		return tx.SetMeta("wal_head", head.String())
	})
	if errors.Is(err, errViewMoved) {
		return err
	}
	if err != nil {
		return err
	}
	if walkErr != nil {
		s.warn(fmt.Sprintf("WAL commit %s is unreadable (%v); showing the events of the %d newer commits and the view's earlier state; run 'grite doctor'", werr.Commit, werr.Err, len(commits)))
	}
	return nil
}

// Rebuild refills the view from the whole WAL. Reading the WAL (a file
// per object) and inserting into SQLite take about as long as each other,
// so one goroutine walks the history while the transaction inserts each
// commit's events as it arrives; the projection is folded and written
// once the walk is done.
func (s *Session) Rebuild(ctx context.Context) (plumbing.Hash, int, error) {
	head, err := s.WAL.Head()
	if err != nil {
		return head, 0, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	commits := make(chan []event.Event, 1024)
	var walkErr error
	walked := make(chan struct{})
	go func() {
		defer close(walked)
		defer close(commits)
		walkErr = s.WAL.Walk(ctx, head, wal.ReadOptions{}, func(c wal.Commit) error {
			select {
			case commits <- c.Events:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	// The fold is order-independent, so it too goes commit by commit.
	p, n := crdt.NewProjection(), 0
	err = s.Store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.Reset(); err != nil {
			return err
		}
		for evs := range commits {
			if err := tx.InsertEvents(evs); err != nil {
				return err
			}
			for _, e := range evs {
				p.Apply(e)
			}
			n += len(evs)
		}
		<-walked
		if walkErr != nil {
			return walkErr
		}
		if err := tx.InsertProjection(p); err != nil {
			return err
		}
		if head.IsZero() {
			return nil
		}
		return tx.SetMeta("wal_head", head.String())
	})
	cancel()
	<-walked
	if err != nil {
		return head, 0, err
	}
	return head, n, nil
}

func (s *Session) load(ctx context.Context, events []event.Event, head plumbing.Hash) error {
	err := s.Store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.Reset(); err != nil {
			return err
		}
		if err := tx.ApplyFolded(events, crdt.Fold(events)); err != nil {
			return err
		}
		if head.IsZero() {
			return nil
		}
		return tx.SetMeta("wal_head", head.String())
	})
	return err
}

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

// applyWritten gives the view the events an append just wrote. The common
// case: the view was at the commit this one extends, so those events are
// all it lacks; applying them directly saves reading the commit back.
// Otherwise (another writer's commit came between) it returns
// errViewMoved, and the caller catches up through the WAL.
func (s *Session) applyWritten(ctx context.Context, w pendingWrite) error {
	if w.res.Prev.IsZero() {
		return errViewMoved
	}
	return s.Store.Update(ctx, func(tx *store.Tx) error {
		if cur, err := tx.Meta("wal_head"); err != nil {
			return err
		} else if cur != w.res.Prev.String() {
			return errViewMoved
		}
		apply := tx.Apply
		if w.newIssue {
			apply = tx.ApplyNewIssue
		}
		if _, err := apply(w.events); err != nil {
			return err
		}
		return tx.SetMeta("wal_head", w.res.Commit.String())
	})
}

// eventTS is the ts of a new event on issue by the session's actor: now,
// or after every event of the issue this view has seen when edit is set,
// so an edit always wins over the state its author saw, even with skewed
// clocks.
func (s *Session) eventTS(ctx context.Context, issue event.IssueID, edit bool) (uint64, error) {
	ts := s.nowMS()
	if !edit {
		return ts, nil
	}
	if max, err := s.Store.MaxIssueTS(ctx, issue.String()); err != nil {
		return 0, err
	} else if max >= ts {
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
