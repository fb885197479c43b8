package gitdir_test

import (
	"testing"

	"golang.org/x/sys/unix"
)

// unnamedFilesWork probes whether dir's file system takes O_TMPFILE.
func unnamedFilesWork(t *testing.T, dir string) bool {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o444)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}
