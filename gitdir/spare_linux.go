package gitdir

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"grite/internal/plainfile"
)

// openSpare makes a hot ref's spare file its lock file holding value: it
// takes an exclusive flock on the spare (readers of refs hold a shared one
// while they read: plainfile.ReadShared), writes value into it, then
// renames it to lock, failing if lock exists, as creating a lock file
// does. The value is written before the rename so that the lock file
// appears whole and with a fresh modification time: a writer that meets
// an old lock file takes it for a dead writer's and removes it. nil when
// there is no spare, a reader still has it open from when it was the ref,
// or another writer holds the lock; the caller then creates the lock file
// as usual.
func openSpare(spare, lock string, write func(*os.File) error) *os.File {
	f, err := plainfile.OpenFile(spare, os.O_WRONLY, 0)
	if err != nil {
		return nil
	}
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil || write(f) != nil ||
		unix.Renameat2(unix.AT_FDCWD, spare, unix.AT_FDCWD, lock, unix.RENAME_NOREPLACE) != nil {
		f.Close()
		return nil
	}
	return f // the flock goes with the close, after the compare-and-swap
}
