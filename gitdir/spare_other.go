//go:build !linux

package gitdir

import "os"

// openSpare needs renameat2(RENAME_NOREPLACE), which only Linux has:
// elsewhere hot refs do not recycle their files.
func openSpare(spare, lock string) *os.File { return nil }
