//go:build unix

// Package plainfile opens and reads regular files with plain system
// calls. os.Open and os.OpenFile try to register every file with the
// runtime's poller: on Linux that is four fcntl calls and an epoll_ctl
// that fails for a regular file, on top of the open itself. grite opens
// small files (refs, lock files, journals) many times per operation, and
// in a swarm of sessions on few cores those calls were a measurable part
// of each; a file opened here is an ordinary *os.File, read and written
// with blocking calls as regular files are anyway.
package plainfile

import (
	"io/fs"
	"os"
	"syscall"
)

// OpenFile is os.OpenFile without the poller (close-on-exec always).
func OpenFile(path string, flag int, perm fs.FileMode) (*os.File, error) {
	for {
		fd, err := syscall.Open(path, flag|syscall.O_CLOEXEC, uint32(perm.Perm()))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: path, Err: err}
		}
		return os.NewFile(uintptr(fd), path), nil
	}
}

// ReadFile is os.ReadFile for small files: one open, reads into a buffer
// that starts at 512 bytes, one close.
func ReadFile(path string) ([]byte, error) { return readFile(path, false) }

// ReadShared is ReadFile holding a shared flock(2) on the file while it
// reads: a writer that rewrites a file in place takes an exclusive one
// first, so the read never sees the rewrite half done. (A file system
// without flock reads as ReadFile does.)
func ReadShared(path string) ([]byte, error) { return readFile(path, true) }

func readFile(path string, shared bool) ([]byte, error) {
	var fd int
	for {
		var err error
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: path, Err: err}
		}
		break
	}
	defer syscall.Close(fd) // which drops the flock
	for shared && syscall.Flock(fd, syscall.LOCK_SH) == syscall.EINTR {
	}
	return readAll(fd, path)
}

// readAll reads fd from its offset to the end.
func readAll(fd int, path string) ([]byte, error) {
	b := make([]byte, 0, 512)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := syscall.Read(fd, b[len(b):cap(b)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return b, nil
		}
		b = b[:len(b)+n]
	}
}
