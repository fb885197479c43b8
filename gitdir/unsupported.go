//go:build !unix

package gitdir

// grite reads git objects with Unix system calls (mmap for packs, raw
// opens for loose objects) and locks files with flock(2): it builds on
// Linux, macOS and the BSDs. Elsewhere the build stops here, on purpose,
// with this name as the message.
var _ = grite_builds_on_Linux_macOS_and_the_BSDs_only
