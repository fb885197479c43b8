//go:build !unix

// Package filelock holds advisory locks on files; see
// filelock_unix.go.
package filelock

import "errors"

var errUnsupported = errors.New("grite needs flock(2) file locks: supported on Linux, macOS and the BSDs")

// With needs flock(2), which grite supports on Unix systems only.
func With(path string, fn func() error) error { return errUnsupported }

// Shared needs flock(2), as With.
func Shared(path string) (func(), error) { return nil, errUnsupported }

// TryWith needs flock(2), as With.
func TryWith(path string, fn func() error) (bool, error) { return false, errUnsupported }
