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

// viewFile is the view database in an actor's data directory.
func viewFile(dataDir string) string { return filepath.Join(dataDir, "view.db") }

// openView opens a's view. A view that does not exist yet is first seeded
// from the most recently used view of another actor of this clone (see
// store.Seed): a new actor, such as every unlabelled MCP session, then
// catches up from where that view is instead of folding the whole WAL.
// Seeding is only a shortcut: if no view can seed, the new view is built
// from the WAL as before.
func openView(ctx context.Context, g actor.Dir, a *actor.Actor) (*store.Store, error) {
	path := viewFile(a.DataDir)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		seedView(ctx, g, path)
	}
	return store.Open(ctx, path)
}

// seedView copies into path the freshest view of the clone that will copy.
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
		if p == path {
			continue
		}
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
	err = s.Store().Update(ctx, func(tx *store.Tx) error {
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
	if note := partialCloneNote(s.Repo, walkErr); note != "" {
		s.warn(fmt.Sprintf("WAL commit %s is incomplete here (%v); showing the events of the %d newer commits and the view's earlier state: %s", werr.Commit, werr.Err, len(commits), note))
	} else if walkErr != nil {
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
	return s.Store().Update(ctx, func(tx *store.Tx) error {
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
