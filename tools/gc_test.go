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
			_, packed, err := tools.PackWhenQuiet(repo, c.quiet, limit, time.Time{}, func(d time.Duration) {
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
	_, packed, err := tools.PackWhenQuiet(repo, time.Hour, 1<<20, time.Time{}, func(time.Duration) {
		if _, err := tools.GC.Call(t.Context(), a.s, tools.GCInput{}); err != nil {
			t.Fatal(err)
		}
	})
	if err != nil || packed {
		t.Fatalf("packed %v, err %v: want false after another packing", packed, err)
	}
}

// A deferred packing with a deadline gives up when the repository stays
// busy below the limit until then, packing nothing.
func TestPackWhenQuietGivesUpAtItsDeadline(t *testing.T) {
	a, repo := packDue(t)
	before := repo.LooseCount()
	until := time.Now().Add(50 * time.Millisecond)
	waits := 0
	_, packed, err := tools.PackWhenQuiet(repo, time.Hour, 1<<20, until, func(d time.Duration) {
		if waits++; waits > 200 {
			t.Fatal("still waiting after 200 waits")
		}
		time.Sleep(min(d, 20*time.Millisecond))
	})
	if err != nil || packed {
		t.Fatalf("packed %v, err %v: want false past the deadline", packed, err)
	}
	if n := repo.LooseCount(); n != before {
		t.Fatalf("%d loose objects counted, want the %d there were", n, before)
	}
	if got := len(a.ready()); got == 0 {
		t.Fatal("no issue readable")
	}
}

// grite gc --auto (what commands start in the background) packs once the
// repository is quiet, and returns at once while another one waits.
func TestGCAutoPacksWhenQuietOneWaiterAtATime(t *testing.T) {
	a, repo := packDue(t)
	before := repo.LooseCount()
	ok, err := repo.TryFileLock("pack-wait", func() error {
		out, err := tools.GC.Call(t.Context(), a.s, tools.GCInput{Auto: true})
		if err != nil {
			return err
		}
		if out.Skipped != "another grite process waits to pack" || out.Objects != 0 {
			t.Errorf("with another waiter: %+v, want skipped at once", out)
		}
		return nil
	})
	if err != nil || !ok {
		t.Fatalf("holding the waiters' lock: %v, %v", ok, err)
	}
	if n := repo.LooseCount(); n != before {
		t.Fatalf("%d loose objects counted, want the %d there were", n, before)
	}
	out, err := tools.GC.Call(t.Context(), a.s, tools.GCInput{Auto: true}) // waits out PackQuiet
	if err != nil || out.Objects == 0 || out.Skipped != "" {
		t.Fatalf("alone: %+v, %v: want a packing", out, err)
	}
	if n := repo.LooseCount(); n != 0 {
		t.Fatalf("%d loose objects counted after packing", n)
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
