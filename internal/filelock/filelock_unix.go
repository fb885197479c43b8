//go:build unix

// Package filelock holds exclusive advisory locks on files (flock), which
// the kernel drops when the holding process dies: grite's processes take
// turns with them where a compare-and-swap of one ref or row is not enough
// (actor creation, config writes, lock acquires, syncs). It knows nothing
// of git or grite's files.
package filelock

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// With runs fn holding an exclusive lock on path (created if missing,
// with its directory).
func With(path string, fn func() error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", filepath.Base(path), err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return fn()
}
