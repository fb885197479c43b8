package gitdir

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// placeUnnamed writes b to an unnamed file (O_TMPFILE) and links it in as
// final: the spare file when one is given (spare >= 0; see PrepareFiles),
// else one created in dir. It reports false, with no error, when the file
// system or the kernel cannot do that (the caller then uses a named
// temporary), and true when final exists afterwards, whoever wrote it:
// objects are named by their content. A missing dir is an error satisfying
// os.ErrNotExist. The spare is closed either way.
func placeUnnamed(spare int, dir, final string, b []byte) (bool, error) {
	fd := spare
	if fd < 0 {
		var err error
		fd, err = openUnnamed(dir)
		switch {
		case errors.Is(err, unix.EISDIR), errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.EINVAL):
			return false, nil // kernel or file system without O_TMPFILE
		case err != nil:
			return false, &os.PathError{Op: "open", Path: dir, Err: err}
		}
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
	link := func() error {
		return unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), unix.AT_FDCWD, final, unix.AT_SYMLINK_FOLLOW)
	}
	err := link()
	if errors.Is(err, unix.ENOENT) && spare >= 0 {
		// The spare was made in the objects directory, so the fan-out
		// directory may not exist yet: make it and link the same file.
		if mkErr := os.MkdirAll(dir, 0o755); mkErr != nil {
			return false, mkErr
		}
		err = link()
	}
	switch {
	case err == nil, errors.Is(err, unix.EEXIST):
		return true, nil
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

// PrepareFiles starts creating, on another goroutine, the n unnamed files
// the next n loose objects will be written to (an append writes eight,
// docs/format.md §6). Creating a file is the dearest part of writing an object
// on some disks: on an ext4 without a journal the kernel scans past every
// recently freed inode for each new one. Called where the process has other
// work to do first (a CLI write opening its view), it takes that cost off
// the append's path. Files that end up unused vanish when the process
// exits; so ask only for what will be written.
func (r *Repo) PrepareFiles(n int) {
	if n <= 0 || r.namedTemps {
		return
	}
	if r.spares == nil {
		r.spares = make(chan int, 64)
	}
	if r.owed+n > cap(r.spares) {
		n = cap(r.spares) - r.owed
	}
	r.owed += n
	dir, spares := filepath.Join(r.CommonDir, "objects"), r.spares
	go func() {
		for range n {
			fd, err := openUnnamed(dir)
			if err != nil {
				fd = -1 // the writer creates its own
			}
			spares <- fd
		}
	}()
}

// spare returns a file PrepareFiles made, waiting for one still being
// made, or -1 when none was asked for.
func (r *Repo) spare() int {
	if r.owed == 0 {
		return -1
	}
	r.owed--
	return <-r.spares
}
