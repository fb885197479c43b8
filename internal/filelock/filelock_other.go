//go:build !unix

// Package filelock holds exclusive advisory locks on files; see
// filelock_unix.go.
package filelock

import "errors"

// With needs flock(2), which grite supports on Unix systems only.
func With(path string, fn func() error) error {
	return errors.New("grite needs flock(2) file locks: supported on Linux, macOS and the BSDs")
}
