//go:build !linux

package gitdir

// placeUnnamed is Linux-only (O_TMPFILE); elsewhere objects always go
// through a named temporary file.
func placeUnnamed(dir, final string, b []byte) (bool, error) { return false, nil }
