package tools_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"grite/tools"
)

// Every actor of a clone shares one view: what one writes, the others'
// sessions see without applying it again.
func TestActorsShareTheClonesView(t *testing.T) {
	r := newCoordRepo(t)
	a, b := r.agent("a"), r.agent("b")
	id := a.create("written by a")
	stats := func(x *coordAgent) tools.DBStatsOutput {
		return coordMust(x, tools.DBStats, tools.NoInput{})
	}
	if pa, pb := stats(a).Path, stats(b).Path; pa != pb || filepath.Dir(pa) != string(a.s.Grite) {
		t.Fatalf("views at %s and %s, want one in %s", pa, pb, a.s.Grite)
	}
	// b reads a's issue from the view a wrote, before any catch-up.
	if _, ok, err := b.s.Store().Issue(context.Background(), id); err != nil || !ok {
		t.Fatalf("b's view lacks a's issue: %v %v", ok, err)
	}
}

// A clone whose views still live in its actors' data directories (as
// before views were shared) starts its shared view as a copy of the
// freshest of them and catches up from there (not folded from the whole
// WAL); whatever it starts from, it ends up holding every issue, and the
// opening actor's old view is removed. When no old view can seed it, it is
// built from the WAL.
func TestSharedViewStartsFromAnOldActorView(t *testing.T) {
	cases := []struct {
		name string
		// prepare gets the views of actors a and b back into their data
		// directories after they wrote; it returns how many issues exist.
		prepare    func(t *testing.T, a, b *coordAgent, shared string) int
		wantSeeded bool
	}{
		{"from the freshest old view", func(t *testing.T, a, b *coordAgent, shared string) int {
			for range 3 {
				coordMust(a, tools.IssueCreate, tools.IssueCreateInput{Title: "by a"})
			}
			moveView(t, shared, a.s.Actor.DataDir)
			return 3
		}, true},
		{"from an old view behind the WAL", func(t *testing.T, a, b *coordAgent, shared string) int {
			coordMust(a, tools.IssueCreate, tools.IssueCreateInput{Title: "by a"})
			copyView(t, shared, a.s.Actor.DataDir) // holds one issue
			coordMust(b, tools.IssueCreate, tools.IssueCreateInput{Title: "by b"})
			coordMust(b, tools.IssueCreate, tools.IssueCreateInput{Title: "by b"})
			moveView(t, shared, b.s.Actor.DataDir)
			// a's old view lacks b's issues; make it look the freshest.
			future := time.Now().Add(time.Hour)
			for _, suffix := range []string{"", "-wal"} {
				os.Chtimes(filepath.Join(a.s.Actor.DataDir, "view.db"+suffix), future, future)
			}
			return 3
		}, true},
		{"no old view can seed", func(t *testing.T, a, b *coordAgent, shared string) int {
			coordMust(a, tools.IssueCreate, tools.IssueCreateInput{Title: "by a"})
			moveView(t, shared, t.TempDir())
			if err := os.WriteFile(filepath.Join(a.s.Actor.DataDir, "view.db"), []byte("damaged beyond use"), 0o644); err != nil {
				t.Fatal(err)
			}
			return 1
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newCoordRepo(t)
			a, b := r.agent("a"), r.agent("b")
			shared := filepath.Join(string(a.s.Grite), "view.db")
			n := tc.prepare(t, a, b, shared)
			a.s.Close()
			b.s.Close()
			c := r.agent("c")
			if seeded := !c.s.Store().Recreated; seeded != tc.wantSeeded {
				t.Fatalf("seeded %v, want %v", seeded, tc.wantSeeded)
			}
			out, err := tools.IssueList.Call(context.Background(), c.s, tools.IssueListInput{})
			if err != nil {
				t.Fatal(err)
			}
			if out.Total != n {
				t.Fatalf("the shared view holds %d issues, want %d", out.Total, n)
			}
			// a opens: its old view goes.
			a2 := r.open(a.id)
			defer a2.Close()
			if _, err := os.Stat(filepath.Join(a.s.Actor.DataDir, "view.db")); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("a's old view is still there: %v", err)
			}
		})
	}
}

// moveView moves the view files at src into dir (as view.db).
func moveView(t *testing.T, src, dir string) {
	t.Helper()
	copyView(t, src, dir)
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(src + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
}

// copyView copies the view files at src into dir (as view.db).
func copyView(t *testing.T, src, dir string) {
	t.Helper()
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(src + suffix)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "view.db"+suffix), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
