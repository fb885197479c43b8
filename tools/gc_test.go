package tools_test

import (
	"testing"
	"time"

	"grite/gitdir"
	"grite/tools"
)

// A server packs grite's loose objects in a quiet moment: not while they
// are below the limit and the repository is busy, at once when they reach
// the limit, and as soon as no process has written one for the quiet time.
func TestPackWhenQuiet(t *testing.T) {
	cases := []struct {
		name  string
		quiet time.Duration
		limit int // in appends past the threshold's
	}{
		{"limit reached while busy", time.Hour, 4},
		{"quiet reached below the limit", time.Second, 1 << 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, repo := packDue(t)
			limit := repo.LooseCount() + c.limit*8
			var waits []time.Duration
			packed, err := tools.PackWhenQuiet(repo, c.quiet, limit, func(d time.Duration) {
				waits = append(waits, d)
				if len(waits) > 200 {
					t.Fatal("still waiting after 200 waits")
				}
				if c.quiet == time.Hour {
					// Busy: another append while the packer waits.
					if n := repo.LooseCount(); n < gitdir.LooseThreshold {
						t.Fatalf("packed below the limit while busy (%d loose)", n)
					}
					a.create("busy")
				} else {
					time.Sleep(d)
				}
			})
			if err != nil || !packed {
				t.Fatalf("packed %v, err %v", packed, err)
			}
			if len(waits) == 0 {
				t.Fatal("packed without waiting for quiet or the limit")
			}
			if n := repo.LooseCount(); n != 0 {
				t.Fatalf("%d loose objects counted after packing", n)
			}
			if got := len(a.ready()); got == 0 {
				t.Fatal("no issue readable after packing")
			}
		})
	}
}

// The deferred packing gives up when another process packed first.
func TestPackWhenQuietLeavesWhatOthersPacked(t *testing.T) {
	a, repo := packDue(t)
	packed, err := tools.PackWhenQuiet(repo, time.Hour, 1<<20, func(time.Duration) {
		if _, err := tools.GC.Call(t.Context(), a.s, tools.GCInput{}); err != nil {
			t.Fatal(err)
		}
	})
	if err != nil || packed {
		t.Fatalf("packed %v, err %v: want false after another packing", packed, err)
	}
}

// packDue is an agent's repository with enough loose objects to pack.
func packDue(t *testing.T) (*coordAgent, *gitdir.Repo) {
	t.Helper()
	r := newCoordRepo(t)
	a := r.agent("packer")
	repo, err := gitdir.Discover(r.dir)
	if err != nil {
		t.Fatal(err)
	}
	for repo.LooseCount() < gitdir.LooseThreshold {
		a.create("filler")
	}
	return a, repo
}
