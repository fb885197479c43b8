package gitdir

import (
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"grite/internal/plainfile"
)

// sparesRecycled: hot refs keep a spare file (openSpare can take it).
const sparesRecycled = true

// openSpare makes a hot ref's spare file its lock file holding value: it
// takes an exclusive flock on the spare (readers of refs hold a shared one
// while they read: plainfile.ReadShared), sets its modification time to
// now, renames it to lock, failing if lock exists, as creating a lock file
// does, and writes the value into it. The time comes first so that the
// lock file appears new: a writer that meets an old lock file takes it for
// a dead writer's and removes it. The value comes after the rename so that
// a reader still holding the spare from when it was the ref never reads a
// value the ref may not take. nil when there is no spare, a reader holds
// it (the shared flock), or another writer holds the lock; the caller then
// creates the lock file as usual.
func openSpare(spare, lock string, write func(*os.File) error) *os.File {
	f, err := plainfile.OpenFile(spare, os.O_WRONLY, 0)
	if err != nil {
		return nil
	}
	now := time.Now()
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil || os.Chtimes(spare, now, now) != nil ||
		unix.Renameat2(unix.AT_FDCWD, spare, unix.AT_FDCWD, lock, unix.RENAME_NOREPLACE) != nil {
		f.Close()
		return nil
	}
	if write(f) != nil {
		f.Close()
		_ = os.Remove(lock)
		return nil
	}
	return f // the flock goes with the close, after the compare-and-swap
}
