//go:build !linux

package gitdir

// placeUnnamed is Linux-only (O_TMPFILE); elsewhere objects always go
// through a named temporary file.
func placeUnnamed(spare int, dir, final string, b []byte) (bool, error) { return false, nil }

// PrepareFiles does nothing where files cannot be created unnamed.
func (r *Repo) PrepareFiles(n int) {}

func (r *Repo) spare() int { return -1 }
