package gitdir

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// Turn is one holder's turn on a file lock (WithTurn) in which refs are
// moved while other writers wait for the lock. Renaming a ref's new file
// over the old one frees the old file, and on ext4 freeing a file is
// nearly all of the rename's cost: under a swarm's load 0.4–0.7 ms against
// 0.03 ms for a rename that frees nothing. A ref moved in a turn frees
// nothing there: Turn.UpdateRef keeps the replaced file linked until the
// turn is over, and Turn.UpdateHotRef, for the ref written at every
// append, makes it the ref's next lock file, so that ref's updates create
// and free no file at all.
type Turn struct {
	repo    *Repo
	retired []string
}

// WithTurn runs fn holding the file lock name (as WithFileLock), then
// frees the files that the refs moved with t.UpdateRef replaced.
func (r *Repo) WithTurn(name string, fn func(t *Turn) error) error {
	t := &Turn{repo: r}
	err := r.WithFileLock(name, func() error { return fn(t) })
	for _, p := range t.retired {
		_ = os.Remove(p)
	}
	return err
}

// UpdateRef is Repo.UpdateRef inside the turn: the same compare-and-swap
// under git's <ref>.lock; the file the ref held is freed after the turn.
func (t *Turn) UpdateRef(name string, newHash, old plumbing.Hash) error {
	return t.repo.updateRef(name, newHash, old, t, retireReplaced)
}

// UpdateHotRef is UpdateRef for a ref moved at nearly every write (the
// WAL). The file the ref held becomes the ref's spare (grite/spare/), and
// the next update renames the spare to <ref>.lock (exclusively, as git
// creates a lock file) and writes the new value into it in place.
//
// A reader that opened the ref's file before one update and reads it after
// the next reads that next value, a newer value of the same ref. It could
// read a mix of two if its read overlapped the rewrite, so grite's readers
// hold a shared flock while they read and the rewrite needs an exclusive
// one (a reader that still holds the spare open leaves it alone). A crash
// leaves an older value of the ref, never an empty file.
func (t *Turn) UpdateHotRef(name string, newHash, old plumbing.Hash) error {
	return t.repo.updateRef(name, newHash, old, t, recycleReplaced)
}

// retiredDir holds the files of refs a turn replaced, until the turn ends;
// spareDir holds each hot ref's spare file.
const (
	retiredDir = "retired"
	spareDir   = "spare"
)

// retire links the loose ref file at path under grite/retired/ before it
// is renamed over. It is only an optimisation: when the link cannot be
// made (a file system without hard links) the rename frees the file as
// it always did.
func (t *Turn) retire(path string) {
	dst := filepath.Join(t.repo.GriteDir(), retiredDir, fmt.Sprintf("%016x", rand.Uint64()))
	if link(path, dst) {
		t.retired = append(t.retired, dst)
	}
}

// sparePath is where ref's spare file waits for its next update.
func (t *Turn) sparePath(ref string) string {
	return filepath.Join(t.repo.GriteDir(), spareDir, strings.ReplaceAll(ref, "/", "+"))
}

// keepSpare links the loose ref file at path as ref's spare before it is
// renamed over (nothing happens when a spare is there already, or where
// spares are not recycled).
func (t *Turn) keepSpare(ref, path string) {
	if sparesRecycled {
		link(path, t.sparePath(ref))
	}
}

// takeSpare makes ref's spare its lock file holding value (openSpare), or
// returns nil.
func (t *Turn) takeSpare(ref, lock string, value plumbing.Hash) *os.File {
	return openSpare(t.sparePath(ref), lock, func(f *os.File) error { return rewriteRefValue(f, value) })
}

// link makes dst a second name of path, making dst's directory on first
// use; it reports whether it did.
func link(path, dst string) bool {
	err := os.Link(path, dst)
	if errors.Is(err, fs.ErrNotExist) && os.MkdirAll(filepath.Dir(dst), 0o755) == nil {
		err = os.Link(path, dst)
	}
	return err == nil
}

// retiredAge is how old a file under grite/retired/ must be for
// sweepRetired to remove it: a turn removes its own within milliseconds,
// so an older one belongs to a writer that died in its turn. Removing one
// early is harmless anyway (the rename then frees the file, or the turn's
// removal finds it gone).
const retiredAge = time.Minute

// sweepRetired removes the files of writers that died in a turn.
func (r *Repo) sweepRetired() {
	dir := filepath.Join(r.GriteDir(), retiredDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > retiredAge {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
