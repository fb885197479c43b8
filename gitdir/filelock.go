package gitdir

import (
	"path/filepath"

	"grite/internal/filelock"
)

// WithFileLock runs fn holding an exclusive advisory lock on
// <grite dir>/<name>.lock, shared by every process and worktree of the
// repository.
func (r *Repo) WithFileLock(name string, fn func() error) error {
	return filelock.With(filepath.Join(r.GriteDir(), name+".lock"), fn)
}

// TryFileLock runs fn holding the lock WithFileLock takes if it can be
// had at once; ok is false, and fn is not run, while another holds it.
func (r *Repo) TryFileLock(name string, fn func() error) (ok bool, err error) {
	return filelock.TryWith(filepath.Join(r.GriteDir(), name+".lock"), fn)
}
