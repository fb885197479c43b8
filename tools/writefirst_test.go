package tools_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"grite/actor"
	"grite/tools"
)

// A session opened WriteFirst (the CLI's issue create) opens its view while
// the append writes and catches it up afterwards. Whatever state the view
// was in, the new issue and everything before it end up in the view; a
// view that cannot open does not undo the write: the create succeeds with
// a warning, and the issue is in the WAL for every other reader.
func TestWriteFirstCreate(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		// prepare runs as the writing actor (a) and another actor (b)
		// before a's WriteFirst session opens; it returns the issues the
		// view must hold afterwards besides the new one.
		prepare func(t *testing.T, a, b *coordAgent) []string
		// broken: a's view cannot open.
		broken bool
	}{
		{"view current", func(t *testing.T, a, b *coordAgent) []string {
			return []string{coordMust(a, tools.IssueCreate, tools.IssueCreateInput{Title: "earlier"}).IssueID}
		}, false},
		{"view behind another actor", func(t *testing.T, a, b *coordAgent) []string {
			mine := coordMust(a, tools.IssueCreate, tools.IssueCreateInput{Title: "mine"}).IssueID
			theirs := coordMust(b, tools.IssueCreate, tools.IssueCreateInput{Title: "theirs"}).IssueID
			return []string{mine, theirs}
		}, false},
		{"no view yet", func(t *testing.T, a, b *coordAgent) []string {
			theirs := coordMust(b, tools.IssueCreate, tools.IssueCreateInput{Title: "theirs"}).IssueID
			a.s.Close()
			removeView(t, a)
			return []string{theirs}
		}, false},
		{"view cannot open", func(t *testing.T, a, b *coordAgent) []string {
			a.s.Close()
			removeView(t, a)
			// A non-empty directory where the file belongs: SQLite cannot
			// open it and the view cannot be recreated.
			if err := os.MkdirAll(filepath.Join(string(a.s.Grite), "view.db", "x"), 0o755); err != nil {
				t.Fatal(err)
			}
			return nil
		}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newCoordRepo(t)
			a, b := r.agent("a"), r.agent("b")
			want := tc.prepare(t, a, b)
			s, err := tools.Open(ctx, tools.OpenOptions{Dir: r.dir, Selection: actor.Selection{ActorID: a.id}, Now: r.clock.Now, WriteFirst: true})
			if err != nil {
				t.Fatal(err)
			}
			w, err := tools.IssueCreate.Call(ctx, s, tools.IssueCreateInput{Title: "written first"})
			if relErr := s.Release(); relErr != nil {
				t.Fatal(relErr)
			}
			if err != nil {
				t.Fatal(err)
			}
			if after, _ := a.s.WAL.Head(); after.String() != w.WALHead {
				t.Fatalf("WAL at %s, create reported %s", after, w.WALHead)
			}
			warnings := s.TakeWarnings()
			if tc.broken {
				if len(warnings) != 1 || !strings.Contains(warnings[0], "view could not be opened") {
					t.Fatalf("warnings %q, want one about the view", warnings)
				}
				if err := b.s.CatchUp(ctx); err != nil {
					t.Fatal(err)
				}
				if _, ok, err := b.s.Store().Issue(ctx, w.IssueID); err != nil || !ok {
					t.Fatalf("another actor does not see the issue (%v)", err)
				}
				return
			}
			if len(warnings) > 0 {
				t.Fatalf("unexpected warnings %q", warnings)
			}
			// A fresh session of a finds its view current: nothing to catch up.
			check, err := tools.Open(ctx, tools.OpenOptions{Dir: r.dir, Selection: actor.Selection{ActorID: a.id}, Now: r.clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			defer check.Close()
			if applied, _ := check.Store().Meta(ctx, "wal_head"); applied != w.WALHead {
				t.Fatalf("view at %q, WAL at %s", applied, w.WALHead)
			}
			for _, id := range append(want, w.IssueID) {
				if _, ok, err := check.Store().Issue(ctx, id); err != nil || !ok {
					t.Fatalf("issue %s missing from the view (%v)", id, err)
				}
			}
		})
	}
}

// Validation fails before anything is written, and releasing the session
// still waits for and closes the view it was opening.
func TestWriteFirstRefusedInput(t *testing.T) {
	ctx := context.Background()
	r := newCoordRepo(t)
	a := r.agent("a")
	s, err := tools.Open(ctx, tools.OpenOptions{Dir: r.dir, Selection: actor.Selection{ActorID: a.id}, Now: r.clock.Now, WriteFirst: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tools.IssueCreate.Call(ctx, s, tools.IssueCreateInput{Title: "  "})
	var e *tools.Error
	if !errors.As(err, &e) || e.Code != tools.CodeInvalidArgs {
		t.Fatalf("want invalid_args, got %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if head, _ := a.s.WAL.Head(); !head.IsZero() {
		t.Fatalf("refused create wrote %s", head)
	}
}

// removeView removes the clone's view (which every actor shares).
func removeView(t *testing.T, a *coordAgent) {
	t.Helper()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(filepath.Join(string(a.s.Grite), "view.db"+suffix)); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
}
