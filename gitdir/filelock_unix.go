//go:build unix

package gitdir

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// WithFileLock runs fn holding an exclusive advisory lock on
// <grite dir>/<name>.lock, shared by every process and worktree of the
// repository. The kernel drops the lock when the process dies, so a
// killed holder never leaves a stale lock behind.
func (r *Repo) WithFileLock(name string, fn func() error) error {
	dir := r.GriteDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, name+".lock"), os.O_CREATE|os.O_RDWR|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", name, err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return fn()
}
