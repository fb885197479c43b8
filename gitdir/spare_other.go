//go:build !linux

package gitdir

import "os"

// openSpare needs renameat2(RENAME_NOREPLACE), which only Linux has:
// elsewhere hot refs do not recycle their files (and keep no spare).
func openSpare(spare, lock string, write func(*os.File) error) *os.File { return nil }

const sparesRecycled = false
