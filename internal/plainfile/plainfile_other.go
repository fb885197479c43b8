//go:build !unix

package plainfile

import (
	"io/fs"
	"os"
)

// OpenFile is os.OpenFile where plain system calls are not available.
func OpenFile(path string, flag int, perm fs.FileMode) (*os.File, error) {
	return os.OpenFile(path, flag, perm)
}

// ReadFile is os.ReadFile where plain system calls are not available.
func ReadFile(path string) ([]byte, error) { return os.ReadFile(path) }

// ReadShared is os.ReadFile where plain system calls are not available
// (nothing is rewritten in place there).
func ReadShared(path string) ([]byte, error) { return os.ReadFile(path) }
