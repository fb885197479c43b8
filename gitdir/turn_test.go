package gitdir_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"grite/gitdir"
	"grite/internal/testrepo"
)

// newTestRepo is a new repository and grite's handle on it.
func newTestRepo(t *testing.T) (string, *gitdir.Repo) {
	t.Helper()
	dir := testrepo.New(t)
	r, err := gitdir.Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, r
}

// hashN is a distinct value for a ref (UpdateRef does not look objects
// up, so any hash will do).
func hashN(i int) plumbing.Hash {
	return plumbing.NewHash(fmt.Sprintf("%040x", i+1))
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// A ref moved in a turn keeps the file it replaced until the turn ends,
// then frees it.
func TestTurnFreesReplacedFilesAfterIt(t *testing.T) {
	dir, r := newTestRepo(t)
	const ref = "refs/grite/cold"
	if err := r.UpdateRef(ref, hashN(0), plumbing.ZeroHash); err != nil {
		t.Fatal(err)
	}
	retired := filepath.Join(r.GriteDir(), "retired")
	var during []string
	err := r.WithTurn("test-turn", func(turn *gitdir.Turn) error {
		if err := turn.UpdateRef(ref, hashN(1), hashN(0)); err != nil {
			return err
		}
		during = dirNames(t, retired)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(during) != 1 {
		t.Errorf("in the turn %d retired files, want the replaced one", len(during))
	}
	if after := dirNames(t, retired); len(after) != 0 {
		t.Errorf("after the turn retired files %v, want none", after)
	}
	if got := hashOf(t, dir, ref); got != hashN(1) {
		t.Fatalf("git reads %s", got)
	}
}

// Readers of a hot ref racing its updates read only values it was given,
// never a mix of two (the files are rewritten in place).
func TestHotRefReadersSeeWholeValues(t *testing.T) {
	_, r := newTestRepo(t)
	const ref, updates = "refs/grite/busy", 400
	written := map[plumbing.Hash]bool{hashN(0): true}
	for i := 1; i <= updates; i++ {
		written[hashN(i)] = true
	}
	if err := r.UpdateRef(ref, hashN(0), plumbing.ZeroHash); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				got, err := r.ReadRef(ref)
				if err != nil {
					t.Errorf("read: %v", err)
					return
				}
				if !written[got] {
					t.Errorf("read %s, a value never written", got)
					return
				}
			}
		})
	}
	for i := 1; i <= updates; i++ {
		err := r.WithTurn("test-turn", func(t *gitdir.Turn) error { return t.UpdateHotRef(ref, hashN(i), hashN(i-1)) })
		if err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
	}
	close(done)
	wg.Wait()
}

// Files a writer that died in its turn left under grite/retired/ go at the
// next sweep once they are old; a young one stays.
func TestSweepRetiredRemovesOldFiles(t *testing.T) {
	_, r := newTestRepo(t)
	retired := filepath.Join(r.GriteDir(), "retired")
	if err := os.MkdirAll(retired, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"old", "young"} {
		if err := os.WriteFile(filepath.Join(retired, name), []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(retired, "old"), past, past); err != nil {
		t.Fatal(err)
	}
	r.SweepRetired()
	if names := dirNames(t, retired); len(names) != 1 || names[0] != "young" {
		t.Fatalf("after the sweep %v, want [young]", names)
	}
}

// A reader that still holds the ref's old file open with its shared lock
// (as ReadRef does while it reads) keeps it: the update does not rewrite
// that file but writes a new one.
func TestHotRefSpareHeldByReaderIsNotRewritten(t *testing.T) {
	dir, r := newTestRepo(t)
	const ref = "refs/grite/held"
	update := func(next, cur plumbing.Hash) {
		t.Helper()
		if err := r.WithTurn("test-turn", func(t *gitdir.Turn) error { return t.UpdateHotRef(ref, next, cur) }); err != nil {
			t.Fatal(err)
		}
	}
	update(hashN(0), plumbing.ZeroHash)
	update(hashN(1), hashN(0)) // now there is a spare
	held, err := os.Open(filepath.Join(r.CommonDir, "refs", "grite", "held"))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := syscall.Flock(int(held.Fd()), syscall.LOCK_SH); err != nil {
		t.Fatal(err)
	}
	update(hashN(2), hashN(1)) // the held file becomes the spare
	update(hashN(3), hashN(2)) // and must not be rewritten
	b := make([]byte, 41)
	if _, err := held.ReadAt(b, 0); err != nil {
		t.Fatal(err)
	}
	if got := string(b[:40]); got != hashN(1).String() {
		t.Fatalf("the reader's file now reads %s, want the value it held, %s", got, hashN(1))
	}
	if got := hashOf(t, dir, ref); got != hashN(3) {
		t.Fatalf("git reads %s, want %s", got, hashN(3))
	}
}
