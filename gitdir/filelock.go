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
