package gitdir_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"grite/gitdir"
)

// Linux only: elsewhere hot refs do not recycle their files.

// A hot ref's updates reuse two files, turn about: the one the ref holds
// and its spare; git reads every value, and nothing is left behind.
func TestHotRefRecyclesItsFile(t *testing.T) {
	dir, r := newTestRepo(t)
	const ref = "refs/grite/hot"
	path := filepath.Join(r.CommonDir, "refs", "grite", "hot")
	spare := filepath.Join(r.GriteDir(), "spare", "refs+grite+hot")
	for i := range 20 {
		old := plumbing.ZeroHash
		if i > 0 {
			old = hashN(i - 1)
		}
		var refBefore, spareBefore uint64
		if i >= 2 { // the first update creates the ref; the second makes the spare
			refBefore, spareBefore = inode(t, path), inode(t, spare)
		}
		err := r.WithTurn("test-turn", func(t *gitdir.Turn) error { return t.UpdateHotRef(ref, hashN(i), old) })
		if err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
		if got := hashOf(t, dir, ref); got != hashN(i) {
			t.Fatalf("update %d: git reads %s, want %s", i, got, hashN(i))
		}
		if i >= 2 && (inode(t, path) != spareBefore || inode(t, spare) != refBefore) {
			t.Fatalf("update %d: the ref and its spare did not swap files", i)
		}
	}
	if _, err := os.Stat(path + ".lock"); !os.IsNotExist(err) {
		t.Errorf("lock file left behind: %v", err)
	}
	if names := dirNames(t, filepath.Join(r.GriteDir(), "spare")); len(names) != 1 {
		t.Errorf("spare files %v, want one", names)
	}
	// A lost compare-and-swap leaves the ref and git's lock as they were.
	err := r.WithTurn("test-turn", func(t *gitdir.Turn) error { return t.UpdateHotRef(ref, hashN(99), hashN(5)) })
	if _, ok := err.(*gitdir.ErrRefChanged); !ok {
		t.Fatalf("update from a stale value: %v, want ErrRefChanged", err)
	}
	if got := hashOf(t, dir, ref); got != hashN(19) {
		t.Fatalf("after a lost swap git reads %s", got)
	}
	if err := r.WithTurn("test-turn", func(t *gitdir.Turn) error { return t.UpdateHotRef(ref, hashN(20), hashN(19)) }); err != nil {
		t.Fatalf("update after a lost swap: %v", err)
	}
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		t.Skip("no inode numbers here")
	}
	return st.Ino
}
