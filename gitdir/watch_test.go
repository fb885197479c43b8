package gitdir

import (
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"grite/internal/testrepo"
)

// A RefWatch wakes when the ref moves, whoever moves it: this process,
// git in another process, or a pack-refs that moves it into packed-refs
// followed by an update there. Deadlines bound the waits; nothing is timed.
func TestRefWatchWakes(t *testing.T) {
	r, dir := openTestRepo(t)
	const tree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904" // the empty tree
	commits := make([]plumbing.Hash, 4)
	for i := range commits {
		commits[i] = plumbing.NewHash(testrepo.Git(t, dir, "commit-tree", tree, "-m", string(rune('a'+i))))
	}
	const ref = "refs/grite/wal"
	w, err := r.WatchRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	drain := func() {
		for {
			select {
			case <-w.C:
			default:
				return
			}
		}
	}
	woken := func(what string) {
		t.Helper()
		select {
		case <-w.C:
		case <-time.After(10 * time.Second):
			t.Fatalf("no wake-up after %s", what)
		}
	}
	drain()
	if err := r.UpdateRef(ref, commits[0], plumbing.ZeroHash); err != nil {
		t.Fatal(err)
	}
	woken("UpdateRef")
	drain()
	testrepo.Git(t, dir, "update-ref", ref, commits[1].String())
	woken("git update-ref")
	testrepo.Git(t, dir, "pack-refs", "--all")
	drain()
	testrepo.Git(t, dir, "update-ref", ref, commits[2].String())
	woken("git update-ref after pack-refs")
}
