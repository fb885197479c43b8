package gitdir

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// TreeEntry is one entry of a git tree object.
type TreeEntry struct {
	Name string
	Mode filemode.FileMode
	Hash plumbing.Hash
}

// WriteTree stores a tree, sorting entries in git order.
func (r *Repo) WriteTree(entries []TreeEntry) (plumbing.Hash, error) {
	sort.Slice(entries, func(i, j int) bool { return treeKey(entries[i]) < treeKey(entries[j]) })
	return r.WriteObject(plumbing.TreeObject, encodeTree(entries))
}

// WriteCommit stores a commit object with one signature (name, email, now)
// as author and committer.
func (r *Repo) WriteCommit(tree plumbing.Hash, parents []plumbing.Hash, msg, name, email string, now time.Time) (plumbing.Hash, error) {
	return r.WriteObject(plumbing.CommitObject, encodeCommit(tree, parents, msg, name, email, now))
}

// encodeCommit is a commit object as git (and go-git's Commit.Encode)
// writes it, with one signature as author and committer, to the second.
// Written here rather than through go-git's object package: linking that
// package (and the OpenPGP, diff and merkletrie code it pulls in) slowed
// every command's start-up (docs/performance.md has the numbers).
func encodeCommit(tree plumbing.Hash, parents []plumbing.Hash, msg, name, email string, when time.Time) []byte {
	sig := fmt.Appendf(nil, "%s <%s> %d %s", name, email, max(when.Unix(), 0), when.Format("-0700"))
	b := make([]byte, 0, 64+48*len(parents)+2*len(sig)+len(msg))
	b = append(b, "tree "...)
	b = append(b, tree.String()...)
	for _, p := range parents {
		b = append(b, "\nparent "...)
		b = append(b, p.String()...)
	}
	b = append(b, "\nauthor "...)
	b = append(b, sig...)
	b = append(b, "\ncommitter "...)
	b = append(b, sig...)
	b = append(b, "\n\n"...)
	return append(b, msg...)
}

// encodeTree is git's tree encoding: "<octal mode> <name>\x00<20-byte ID>"
// per entry, modes without leading zeros (go-git's Tree.Encode writes the
// same bytes, through a buffered writer per call).
func encodeTree(entries []TreeEntry) []byte {
	n := 0
	for _, e := range entries {
		n += 8 + len(e.Name) + 21
	}
	b := make([]byte, 0, n)
	for _, e := range entries {
		b = strconv.AppendUint(b, uint64(e.Mode), 8)
		b = append(b, ' ')
		b = append(b, e.Name...)
		b = append(b, 0)
		b = append(b, e.Hash[:]...)
	}
	return b
}

// treeKey is git's tree sort key: directories compare as if named "name/".
func treeKey(e TreeEntry) string {
	if e.Mode == filemode.Dir {
		return e.Name + "/"
	}
	return e.Name
}
