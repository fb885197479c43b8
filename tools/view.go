package tools

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"grite/actor"
	"grite/crdt"
	"grite/event"
	"grite/store"
	"grite/wal"
)

// viewFile is the view database in a directory: the clone's grite
// directory, or (before views were shared) an actor's data directory.
func viewFile(dir string) string { return filepath.Join(dir, "view.db") }

// openView opens the clone's view, which every actor and process of the
// clone shares: it holds nothing of any actor (only what the WAL and the
// lock refs say), so one copy serves all, and each event is applied once
// rather than once per actor. The first open seeds it from the most recently
// used view of an actor of this clone (where views lived before; see
// store.Seed) instead of folding the whole WAL; if none can seed, it is
// built from the WAL. Views left in actors' data directories are then
// unused: the actor's own one is removed as it opens (an older grite still
// running on it keeps its open file).
func openView(ctx context.Context, g actor.Dir, a *actor.Actor, open func(context.Context, string) (*store.Store, error)) (*store.Store, error) {
	path := viewFile(string(g))
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		seedView(ctx, g, path)
	}
	st, err := open(ctx, path)
	if err == nil && a != nil {
		removeOldView(a.DataDir)
	}
	return st, err
}

// removeOldView removes a view left in an actor's data directory.
func removeOldView(dataDir string) {
	old := viewFile(dataDir)
	if _, err := os.Lstat(old); err != nil {
		return
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(old + suffix) // a leftover only wastes space
	}
}

// seedView copies into path the freshest view of an actor of the clone
// that will copy.
func seedView(ctx context.Context, g actor.Dir, path string) {
	dirs, err := g.DataDirs()
	if err != nil {
		return
	}
	type candidate struct {
		path string
		used time.Time
	}
	var cands []candidate
	for _, d := range dirs {
		p := viewFile(d)
		used, ok := lastWrite(p)
		if ok {
			cands = append(cands, candidate{p, used})
		}
	}
	slices.SortFunc(cands, func(a, b candidate) int { return b.used.Compare(a.used) })
	// A few tries: the freshest may be of an older schema, or mid-removal.
	for _, c := range cands[:min(len(cands), 3)] {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return
		}
		if store.Seed(ctx, path, c.path) == nil {
			return
		}
	}
}

// lastWrite is when the view at p was last written: its log file takes
// the writes between checkpoints, so the later of the two.
func lastWrite(p string) (time.Time, bool) {
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() {
		return time.Time{}, false
	}
	t := fi.ModTime()
	if wi, err := os.Stat(p + "-wal"); err == nil && wi.ModTime().After(t) {
		t = wi.ModTime()
	}
	return t, true
}

// FlushView gives the view the events of deferred appends, with the
// commits other writers appended between them (applyWritten), or through
// a catch-up from the WAL when that cannot be done. It does not catch the
// view up beyond them: every call does that first (CatchUp), and a swarm's
// sessions each flushing to the newest head took the view's write lock
// again for what the next call reads anyway.
func (s *Session) FlushView(ctx context.Context) error {
	pending := s.pending
	s.pending = nil
	for i, p := range pending {
		err := s.applyWritten(ctx, p)
		if errors.Is(err, errViewMoved) {
			return s.catchUpFromWAL(ctx) // it reads the rest from the WAL
		}
		if err != nil {
			s.pending = append(s.pending, pending[i+1:]...)
			return err
		}
	}
	return nil
}

// CatchUp applies deferred appends and the WAL commits the view has not
// seen. A commit that cannot be read stops the walk there: newer events are
// applied, a warning names the commit, and the view keeps its previous head
// so it retries next time.
//
// Other processes catch the same view up concurrently, so the transaction
// checks that the view is still at the head this catch-up started from and
// starts over otherwise; applying events read against a view that another
// process has since reset would leave a gap under a newer wal_head.
func (s *Session) CatchUp(ctx context.Context) error {
	if len(s.pending) > 0 {
		if err := s.FlushView(ctx); err != nil {
			return err
		}
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
	applied, err := s.Store().Meta(ctx, "wal_head")
	if err != nil {
		return err
	}
	head, err := s.WAL.Head()
	if err != nil {
		return err
	}
	if applied == head.String() || (applied == "" && head.IsZero() && !s.Store().Recreated) {
		return nil
	}
	if applied != "" {
		// A few commits behind, the common case: walk them holding the
		// view's write lock, so that of the sessions catching up at once
		// one reads the new commits and the others find the view caught
		// up. Walking first and then taking the lock, the sessions of a
		// swarm each read the same commits, and all but one found the view
		// moved and read them again.
		err := s.catchUpLocked(ctx)
		if !errors.Is(err, errCatchUpFar) {
			return err
		}
	}
	appliedHash := plumbing.NewHash(applied)
	if applied == "" {
		appliedHash = plumbing.ZeroHash
	}
	w := s.walkBack(ctx, head, appliedHash, 0)
	if w.err != nil {
		return w.err
	}
	rebuild := !w.found && w.walkErr == nil // applied head is not in history any more
	err = s.Store().Update(ctx, func(tx *store.Tx) error {
		if cur, err := tx.Meta("wal_head"); err != nil {
			return err
		} else if cur != applied {
			return errViewMoved
		}
		return w.apply(tx, head, rebuild || applied == "")
	})
	if err != nil {
		return err
	}
	s.warnWalk(w)
	return nil
}

// catchUpLocked is catchUp for a view a few commits behind, reading them
// inside the view's write transaction; errCatchUpFar when the view is
// empty, more than maxLockedCatchUp commits behind, or not in the WAL's
// history any more (the caller then walks outside the transaction).
func (s *Session) catchUpLocked(ctx context.Context) error {
	var w walked
	err := s.Store().Update(ctx, func(tx *store.Tx) error {
		applied, err := tx.Meta("wal_head")
		if err != nil {
			return err
		}
		head, err := s.WAL.Head()
		if err != nil {
			return err
		}
		if applied == head.String() {
			return nil // another session caught the view up
		}
		if applied == "" {
			return errCatchUpFar
		}
		if w = s.walkBack(ctx, head, plumbing.NewHash(applied), maxLockedCatchUp); w.err != nil {
			return w.err
		}
		if !w.found && w.walkErr == nil {
			return errCatchUpFar
		}
		return w.apply(tx, head, false)
	})
	if err != nil {
		return err
	}
	s.warnWalk(w)
	return nil
}

// maxLockedCatchUp bounds the commits a catch-up reads while it holds
// the view's write lock.
const maxLockedCatchUp = 256

var errCatchUpFar = errors.New("the view is far behind")

// walked is what walkBack read.
type walked struct {
	commits []wal.Commit // newest first
	found   bool         // the walk reached applied
	walkErr error        // an unreadable commit stopped it (a *wal.Error)
	err     error        // anything else: the catch-up fails
}

// walkBack reads the commits from head back to applied (exclusive), at
// most limit of them (0: no limit).
func (s *Session) walkBack(ctx context.Context, head, applied plumbing.Hash, limit int) walked {
	w := walked{found: applied.IsZero()}
	n := 0
	err := s.WAL.Walk(ctx, head, wal.ReadOptions{Stop: func(h plumbing.Hash) bool {
		if h == applied {
			w.found = true
			return true
		}
		n++
		return limit > 0 && n > limit
	}}, func(c wal.Commit) error { w.commits = append(w.commits, c); return nil })
	var werr *wal.Error
	if errors.As(err, &werr) {
		w.walkErr = err
	} else {
		w.err = err
	}
	return w
}

// apply gives the view the walked events and, unless the walk stopped at
// an unreadable commit, records head; fresh replaces the view's content.
func (w walked) apply(tx *store.Tx, head plumbing.Hash, fresh bool) error {
	events := w.events()
	if fresh {
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
	if w.walkErr != nil || head.IsZero() {
		return nil
	}
	return tx.SetMeta("wal_head", head.String())
}

// events are the walked commits' events, oldest commit first.
func (w walked) events() []event.Event {
	events := make([]event.Event, 0, len(w.commits))
	for i := len(w.commits) - 1; i >= 0; i-- {
		events = append(events, w.commits[i].Events...)
	}
	return events
}

// warnWalk tells of a commit that stopped a catch-up's walk.
func (s *Session) warnWalk(w walked) {
	var werr *wal.Error
	if !errors.As(w.walkErr, &werr) {
		return
	}
	if note := partialCloneNote(s.Repo, w.walkErr); note != "" {
		s.warn(fmt.Sprintf("WAL commit %s is incomplete here (%v); showing the events of the %d newer commits and the view's earlier state: %s", werr.Commit, werr.Err, len(w.commits), note))
	} else {
		s.warn(fmt.Sprintf("WAL commit %s is unreadable (%v); showing the events of the %d newer commits and the view's earlier state; run 'grite doctor'", werr.Commit, werr.Err, len(w.commits)))
	}
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
	err = s.Store().Update(ctx, func(tx *store.Tx) error {
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
	err := s.Store().Update(ctx, func(tx *store.Tx) error {
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

// applyWritten gives the view the events an append just wrote. The common
// case: the view was at the commit this one extends, so those events are
// all it lacks; applying them directly saves reading the commit back.
// Otherwise (another writer's commit came between) it returns
// errViewMoved, and the caller catches up through the WAL.
func (s *Session) applyWritten(ctx context.Context, w pendingWrite) error {
	if w.res.Prev.IsZero() {
		return errViewMoved
	}
	// Another session's catch-up may have applied it already (in a swarm,
	// a third of the appends, and most deferred ones): a read says so
	// without waiting for the view's write lock.
	if has, err := s.Store().HasEvent(ctx, w.events[0].IssueID, w.events[0].ID); err == nil && has {
		return nil
	}
	return s.Store().Update(ctx, func(tx *store.Tx) error {
		applied, err := tx.Meta("wal_head")
		if err != nil {
			return err
		}
		if applied != w.res.Prev.String() {
			// Other appends came between the view and this one (their
			// writers defer the view, or have not applied them yet): read
			// them holding the view's write lock, as catchUpLocked does,
			// but not this append's own commit, whose events are at hand.
			// Reading them after a failed try, the session took the lock
			// twice and read its own commit back.
			if applied == "" {
				return errViewMoved
			}
			if has, err := tx.HasEvent(w.events[0].IssueID, w.events[0].ID); err != nil || has {
				return err // another session applied this append already
			}
			between := s.walkBack(ctx, w.res.Prev, plumbing.NewHash(applied), maxLockedCatchUp)
			if between.err != nil {
				return between.err
			}
			if !between.found || between.walkErr != nil {
				return errViewMoved // far behind, history rewritten or unreadable: CatchUp sorts it out
			}
			if _, err := tx.Apply(between.events()); err != nil {
				return err
			}
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
