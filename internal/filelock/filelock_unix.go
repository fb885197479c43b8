//go:build unix

// Package filelock holds advisory locks on files (flock), which the kernel
// drops when the holding process dies: grite's processes take turns with
// exclusive ones where a compare-and-swap of one ref or row is not enough
// (actor creation, config writes, lock acquires, syncs), and mark what they
// use with shared ones (an actor's data, against its removal). It knows
// nothing of git or grite's files.
package filelock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"grite/internal/plainfile"
)

// With runs fn holding an exclusive lock on path (created if missing,
// with its directory).
func With(path string, fn func() error) error {
	f, err := lock(path, syscall.LOCK_EX)
	if err != nil {
		return err
	}
	defer f.Close()
	return fn()
}

// Shared takes a shared lock on path (created if missing, with its
// directory) and returns its release; any number of holders may share it,
// and TryWith fails while one does.
func Shared(path string) (release func(), err error) {
	f, err := lock(path, syscall.LOCK_SH)
	if err != nil {
		return nil, err
	}
	return func() { f.Close() }, nil
}

// TryWith runs fn holding an exclusive lock on path if it can be had at
// once; ok is false, and fn is not run, while another holds the lock.
func TryWith(path string, fn func() error) (ok bool, err error) {
	f, err := lock(path, syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	return true, fn()
}

// lock opens path and flocks it with how; closing the file unlocks it.
func lock(path string, how int) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := plainfile.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", filepath.Base(path), err)
	}
	return f, nil
}
