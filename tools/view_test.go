package tools_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"grite/tools"
)

// A new actor's view starts as a copy of the freshest view of the clone
// and catches up from there (not folded from the whole WAL); whatever it
// starts from, it ends up holding every issue. When no view can seed it,
// it is built from the WAL as before.
func TestNewActorViewStartsFromAnother(t *testing.T) {
	cases := []struct {
		name string
		// prepare runs as actors a and b before c's session opens; it
		// returns how many issues exist.
		prepare    func(t *testing.T, a, b *coordAgent) int
		wantSeeded bool
	}{
		{"from the freshest view", func(t *testing.T, a, b *coordAgent) int {
			for range 3 {
				coordMust(a, tools.IssueCreate, tools.IssueCreateInput{Title: "by a"})
			}
			return 3
		}, true},
		{"from a view behind the WAL", func(t *testing.T, a, b *coordAgent) int {
			coordMust(a, tools.IssueCreate, tools.IssueCreateInput{Title: "by a"})
			coordMust(b, tools.IssueCreate, tools.IssueCreateInput{Title: "by b"})
			coordMust(b, tools.IssueCreate, tools.IssueCreateInput{Title: "by b"})
			// a's view lacks b's issues; make it look the freshest.
			future := time.Now().Add(time.Hour)
			for _, suffix := range []string{"", "-wal"} {
				os.Chtimes(filepath.Join(a.s.Actor.DataDir, "view.db"+suffix), future, future)
			}
			return 3
		}, true},
		{"no view can seed", func(t *testing.T, a, b *coordAgent) int {
			coordMust(a, tools.IssueCreate, tools.IssueCreateInput{Title: "by a"})
			for _, x := range []*coordAgent{a, b} {
				x.s.Close()
				removeView(t, x)
				if err := os.WriteFile(filepath.Join(x.s.Actor.DataDir, "view.db"), []byte("damaged beyond use"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			return 1
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newCoordRepo(t)
			a, b := r.agent("a"), r.agent("b")
			n := tc.prepare(t, a, b)
			c := r.agent("c")
			if seeded := !c.s.Store().Recreated; seeded != tc.wantSeeded {
				t.Fatalf("seeded %v, want %v", seeded, tc.wantSeeded)
			}
			out, err := tools.IssueList.Call(context.Background(), c.s, tools.IssueListInput{})
			if err != nil {
				t.Fatal(err)
			}
			if out.Total != n {
				t.Fatalf("c's view holds %d issues, want %d", out.Total, n)
			}
		})
	}
}
