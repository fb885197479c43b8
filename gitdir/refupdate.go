package gitdir

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"grite/internal/plainfile"
)

// ErrRefChanged reports a lost compare-and-swap: the ref no longer holds the
// expected value. Current is what it holds now (zero when absent).
type ErrRefChanged struct {
	Ref      string
	Expected plumbing.Hash
	Current  plumbing.Hash
}

func (e *ErrRefChanged) Error() string {
	return fmt.Sprintf("ref %s changed: expected %s, found %s", e.Ref, short(e.Expected), short(e.Current))
}

func short(h plumbing.Hash) string {
	if h.IsZero() {
		return "(absent)"
	}
	return h.String()[:12]
}

// ErrLockBusy reports that another writer held <ref>.lock beyond the wait.
var ErrLockBusy = errors.New("ref is locked by another writer")

const (
	// lockWait bounds how long an update waits for another writer's lock;
	// writers hold it for microseconds, so this is only hit under heavy load.
	lockWait = 5 * time.Second
	// staleLockAge: a lock file this old belongs to a writer that died
	// between creating and renaming it (no live writer holds one that long).
	staleLockAge = 10 * time.Second
)

// UpdateRef atomically moves ref from old to new with git's protocol:
// create <ref>.lock exclusively, check the current value (loose, else
// packed-refs) against old, write new, rename the lock over the ref. A zero
// old means the ref must not exist. A crash leaves the old or the new value.
func (r *Repo) UpdateRef(name string, newHash, old plumbing.Hash) error {
	return r.updateRef(name, newHash, old, nil, freeReplaced)
}

// replaced says what becomes of the file a ref update renames over.
type replaced int

const (
	freeReplaced    replaced = iota // the rename frees it (Repo.UpdateRef)
	retireReplaced                  // freed after the turn (Turn.UpdateRef)
	recycleReplaced                 // the ref's next lock file (Turn.UpdateHotRef)
)

func (r *Repo) updateRef(name string, newHash, old plumbing.Hash, t *Turn, how replaced) error {
	if !strings.HasPrefix(name, "refs/grite/") {
		return fmt.Errorf("refusing to write %s: grite only writes refs/grite/*", name)
	}
	if newHash.IsZero() {
		return r.DeleteRef(name, old)
	}
	path := filepath.Join(r.CommonDir, filepath.FromSlash(name))
	lock := path + ".lock"
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("update %s: %w", name, err)
	}
	var f *os.File
	written := false
	if how == recycleReplaced {
		f = t.takeSpare(name, lock, newHash)
		written = f != nil
	}
	if f == nil {
		var err error
		if f, err = acquireLock(lock); err != nil {
			return fmt.Errorf("update %s: %w", name, err)
		}
	}
	committed := false
	defer func() {
		if !committed {
			f.Close()
			_ = os.Remove(lock)
		}
	}()
	cur, _, err := r.readRef(name)
	if err != nil {
		return fmt.Errorf("update %s: %w", name, err)
	}
	if cur != old {
		return &ErrRefChanged{Ref: name, Expected: old, Current: cur}
	}
	if !written {
		if _, err := f.WriteString(newHash.String() + "\n"); err != nil {
			return fmt.Errorf("update %s: %w", name, err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("update %s: %w", name, err)
	}
	if !cur.IsZero() {
		switch how {
		case retireReplaced:
			t.retire(path)
		case recycleReplaced:
			t.keepSpare(name, path)
		}
	}
	if err := os.Rename(lock, path); err != nil {
		return fmt.Errorf("update %s: %w", name, err)
	}
	committed = true
	return nil
}

// rewriteRefValue writes a ref's value over a hot ref's spare, which held
// a value of the same length (anything longer is cut off).
func rewriteRefValue(f *os.File, h plumbing.Hash) error {
	v := []byte(h.String() + "\n")
	if _, err := f.WriteAt(v, 0); err != nil {
		return err
	}
	if fi, err := f.Stat(); err != nil || fi.Size() == int64(len(v)) {
		return err
	}
	return f.Truncate(int64(len(v)))
}

func acquireLock(lock string) (*os.File, error) {
	deadline := time.Now().Add(lockWait)
	backoff := 50 * time.Microsecond
	for {
		f, err := plainfile.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, err
		}
		if removeIfStale(lock) {
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%w: %s exists", ErrLockBusy, lock)
		}
		time.Sleep(backoff + time.Duration(rand.Int64N(int64(backoff))))
		if backoff < 5*time.Millisecond {
			backoff *= 2
		}
	}
}

// removeIfStale removes a lock file older than staleLockAge and reports
// whether it was stale. It moves the lock aside atomically rather than
// deleting it, so two writers cannot both "clean up" and then both lock.
func removeIfStale(lock string) bool {
	fi, err := os.Stat(lock)
	if err != nil || time.Since(fi.ModTime()) <= staleLockAge {
		return false
	}
	aside := fmt.Sprintf("%s.stale-%d", lock, rand.Uint64())
	if os.Rename(lock, aside) == nil {
		_ = os.Remove(aside)
	}
	return true
}

// RemoveStaleRefLocks removes the stale <ref>.lock files (older than 10 s)
// under a refs/grite/ prefix. git, unlike UpdateRef, never takes over a
// dead writer's lock: a `git fetch` killed while updating a ref would make
// every later fetch into that ref fail, so sync clears its own tracking
// refs' stale locks before fetching.
func (r *Repo) RemoveStaleRefLocks(prefix string) error {
	if !strings.HasPrefix(prefix, "refs/grite/") {
		return fmt.Errorf("refusing to clean %s: grite only writes refs/grite/*", prefix)
	}
	root := filepath.Join(r.CommonDir, filepath.FromSlash(prefix))
	if !strings.HasPrefix(root, filepath.Join(r.CommonDir, "refs", "grite")+string(filepath.Separator)) {
		return nil // a prefix such as a remote URL with ".." is not a ref directory
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".lock") {
			removeIfStale(path)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("clear stale locks under %s: %w", prefix, err)
	}
	return nil
}

// DeleteRef removes a ref if it still holds old. Deletion must also clear a
// packed copy, so it goes through git itself (rare: lock gc, snapshot gc).
func (r *Repo) DeleteRef(name string, old plumbing.Hash) error {
	if !strings.HasPrefix(name, "refs/grite/") {
		return fmt.Errorf("refusing to delete %s: grite only writes refs/grite/*", name)
	}
	args := []string{"--git-dir", r.CommonDir, "update-ref", "-d", name}
	if !old.IsZero() {
		args = append(args, old.String())
	}
	out, err := exec.Command("git", args...).CombinedOutput()
	if err != nil {
		cur, _, rerr := r.readRef(name)
		if rerr == nil && cur != old {
			return &ErrRefChanged{Ref: name, Expected: old, Current: cur}
		}
		return fmt.Errorf("delete %s: %v: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}
