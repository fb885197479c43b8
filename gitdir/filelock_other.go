//go:build !unix

package gitdir

import "errors"

// WithFileLock needs advisory file locks (flock), which grite supports on
// Unix systems only.
func (r *Repo) WithFileLock(name string, fn func() error) error {
	return errors.New("grite needs flock(2) file locks: supported on Linux, macOS and the BSDs")
}
