package gitdir_test

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"grite/gitdir"
	"grite/internal/testrepo"
)

func hashOf(t *testing.T, dir, rev string) plumbing.Hash {
	t.Helper()
	return plumbing.NewHash(testrepo.Git(t, dir, "rev-parse", rev))
}

func TestDiscoverFromSubdirAndWorktree(t *testing.T) {
	dir := testrepo.New(t)
	sub := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	r, err := gitdir.Discover(sub)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := filepath.EvalSymlinks(filepath.Join(dir, ".git"))
	got, _ := filepath.EvalSymlinks(r.CommonDir)
	if got != want {
		t.Fatalf("common dir %s want %s", got, want)
	}
	wt := filepath.Join(t.TempDir(), "wt")
	testrepo.Git(t, dir, "worktree", "add", "-q", wt)
	w, err := gitdir.Discover(wt)
	if err != nil {
		t.Fatal(err)
	}
	gotW, _ := filepath.EvalSymlinks(w.CommonDir)
	if gotW != want {
		t.Fatalf("worktree common dir %s want %s", gotW, want)
	}
}

func TestDiscoverOutsideRepoFails(t *testing.T) {
	_, err := gitdir.Discover(t.TempDir())
	if !errors.Is(err, gitdir.ErrNotARepo) {
		t.Fatalf("got %v, want ErrNotARepo", err)
	}
}

func TestUpdateRefCompareAndSwap(t *testing.T) {
	dir := testrepo.New(t)
	r, err := gitdir.Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	head := hashOf(t, dir, "HEAD")
	const ref = "refs/grite/test"
	if err := r.UpdateRef(ref, head, plumbing.ZeroHash); err != nil {
		t.Fatal(err)
	}
	// Creating again must fail: the ref exists now.
	var changed *gitdir.ErrRefChanged
	if err := r.UpdateRef(ref, head, plumbing.ZeroHash); !errors.As(err, &changed) || changed.Current != head {
		t.Fatalf("second create: %v", err)
	}
	if got := hashOf(t, dir, ref); got != head {
		t.Fatalf("git sees %s want %s", got, head)
	}
	// Packed refs are honoured as the current value.
	testrepo.Git(t, dir, "pack-refs", "--all")
	if got, _ := r.ReadRef(ref); got != head {
		t.Fatalf("packed read %s want %s", got, head)
	}
	testrepo.Git(t, dir, "commit", "-q", "--allow-empty", "-m", "two")
	next := hashOf(t, dir, "HEAD")
	if err := r.UpdateRef(ref, next, head); err != nil {
		t.Fatal(err)
	}
	if got := hashOf(t, dir, ref); got != next {
		t.Fatalf("after swap git sees %s", got)
	}
	if err := r.UpdateRef("refs/heads/main", next, head); err == nil {
		t.Fatal("writing outside refs/grite must be refused")
	}
}

func TestUpdateRefRacersEachSucceedOnce(t *testing.T) {
	dir := testrepo.New(t)
	r, err := gitdir.Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	head := hashOf(t, dir, "HEAD")
	const ref = "refs/grite/race"
	const n = 16
	var wg sync.WaitGroup
	wins := make(chan int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r.UpdateRef(ref, head, plumbing.ZeroHash) == nil {
				wins <- i
			}
		}()
	}
	wg.Wait()
	close(wins)
	if len(wins) != 1 {
		t.Fatalf("%d racers created the ref, want exactly 1", len(wins))
	}
}

func TestUpdateRefRemovesStaleLock(t *testing.T) {
	dir := testrepo.New(t)
	r, err := gitdir.Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	head := hashOf(t, dir, "HEAD")
	lock := filepath.Join(r.CommonDir, "refs", "grite", "stale.lock")
	if err := os.MkdirAll(filepath.Dir(lock), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Minute)
	if err := os.Chtimes(lock, old, old); err != nil {
		t.Fatal(err)
	}
	if err := r.UpdateRef("refs/grite/stale", head, plumbing.ZeroHash); err != nil {
		t.Fatalf("stale lock not recovered: %v", err)
	}
}

// updaters are the ways grite moves a ref: alone, in a turn, and in a
// turn recycling the ref's file.
var updaters = []struct {
	name   string
	update func(r *gitdir.Repo, ref string, next, cur plumbing.Hash) error
}{
	{"alone", func(r *gitdir.Repo, ref string, next, cur plumbing.Hash) error {
		return r.UpdateRef(ref, next, cur)
	}},
	{"turn", func(r *gitdir.Repo, ref string, next, cur plumbing.Hash) error {
		return r.WithTurn("test-turn", func(t *gitdir.Turn) error { return t.UpdateRef(ref, next, cur) })
	}},
	{"hot", func(r *gitdir.Repo, ref string, next, cur plumbing.Hash) error {
		return r.WithTurn("test-turn", func(t *gitdir.Turn) error { return t.UpdateHotRef(ref, next, cur) })
	}},
}

func TestUpdateRefConcurrentWithPackRefs(t *testing.T) {
	for _, u := range updaters {
		t.Run(u.name, func(t *testing.T) {
			dir := testrepo.New(t)
			r, err := gitdir.Discover(dir)
			if err != nil {
				t.Fatal(err)
			}
			a := hashOf(t, dir, "HEAD")
			testrepo.Git(t, dir, "commit", "-q", "--allow-empty", "-m", "b")
			b := hashOf(t, dir, "HEAD")
			const ref = "refs/grite/flip"
			if err := r.UpdateRef(ref, a, plumbing.ZeroHash); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				for range 20 {
					testrepo.GitErr(dir, "pack-refs", "--all")
				}
			}()
			// Flip the ref back and forth; every successful swap must be visible.
			cur, next := a, b
			swaps := 0
			for swaps < 200 {
				err := u.update(r, ref, next, cur)
				var changed *gitdir.ErrRefChanged
				switch {
				case err == nil:
					cur, next = next, cur
					swaps++
				case errors.As(err, &changed):
					t.Fatalf("lost a swap to nobody: %v", err)
				case errors.Is(err, gitdir.ErrLockBusy):
					continue
				default:
					t.Fatal(err)
				}
				if got, err := r.ReadRef(ref); err != nil || got != cur {
					t.Fatalf("after swap %d read %s (%v) want %s", swaps, got, err, cur)
				}
			}
			<-done
			if got := hashOf(t, dir, ref); got != cur {
				t.Fatalf("git sees %s want %s", got, cur)
			}
		})
	}
}

func TestParseHashAcceptsOnlyFortyHexDigits(t *testing.T) {
	want := plumbing.NewHash("0123456789abcdef0123456789abcdef01234567")
	cases := []struct {
		in string
		ok bool
	}{
		{"0123456789abcdef0123456789abcdef01234567", true},
		{"0123456789ABCDEF0123456789abcdef01234567", true},
		{"0123456789abcdef0123456789abcdef0123456", false},
		{"0123456789abcdef0123456789abcdef012345678", false},
		{"0123456789abcdef0123456789abcdef0123456g", false},
		{" 123456789abcdef0123456789abcdef01234567", false},
		{"", false},
	}
	for _, tc := range cases {
		h, ok := gitdir.ParseHash(tc.in)
		hb, okb := gitdir.ParseHash([]byte(tc.in))
		if ok != tc.ok || okb != ok || hb != h || (ok && h != want) || (!ok && !h.IsZero()) {
			t.Errorf("ParseHash(%q) = %s, %v (bytes: %s, %v); want ok %v", tc.in, h, ok, hb, okb, tc.ok)
		}
	}
}
