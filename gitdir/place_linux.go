package gitdir

import (
	"errors"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// placeUnnamed writes b to an unnamed file (O_TMPFILE) made in dir and
// links it in as final. It reports false, with no error, when the file
// system or the kernel cannot do that (the caller then uses a named
// temporary), and true when final exists afterwards, whoever wrote it:
// objects are named by their content. A missing dir, or one removed while
// the file was being placed (a packer removes emptied fan-out directories),
// is an error satisfying os.ErrNotExist or, from ext4 when the directory
// went after it was looked up, os.ErrPermission: see inFanOut.
func placeUnnamed(dir, final string, b []byte) (bool, error) {
	fd, err := openUnnamed(dir)
	switch {
	case errors.Is(err, unix.EISDIR), errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.EINVAL):
		return false, nil // kernel or file system without O_TMPFILE
	case err != nil:
		return false, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(fd)
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return false, &os.PathError{Op: "write", Path: final, Err: err}
		}
		b = b[n:]
	}
	// Linking an open file by its descriptor needs /proc (AT_EMPTY_PATH
	// would need a capability); without it, fall back.
	err = unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), unix.AT_FDCWD, final, unix.AT_SYMLINK_FOLLOW)
	switch {
	case err == nil, errors.Is(err, unix.EEXIST):
		return true, nil
	case errors.Is(err, unix.ENOENT):
		return false, &os.PathError{Op: "link", Path: final, Err: err}
	default:
		return false, nil
	}
}

// openUnnamed creates an unnamed, linkable, read-only file in dir.
func openUnnamed(dir string) (int, error) {
	for {
		fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o444)
		if !errors.Is(err, unix.EINTR) {
			return fd, err
		}
	}
}
