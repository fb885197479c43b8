package gitdir

import (
	"slices"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// The walk decodes trees and commits itself; go-git's decoders are the
// reference. Whatever both accept must decode the same, and ParseTree
// must refuse what go-git refuses (ParseCommit reads only the header, so
// it is compared on what it reads).

func goGitObject(t plumbing.ObjectType, data []byte) *plumbing.MemoryObject {
	o := &plumbing.MemoryObject{}
	o.SetType(t)
	o.Write(data)
	return o
}

func FuzzParseTree(f *testing.F) {
	h := plumbing.NewHash("0123456789abcdef0123456789abcdef01234567")
	f.Add(encodeTree([]TreeEntry{{Name: "events", Mode: filemode.Dir, Hash: h}, {Name: "meta.json", Mode: filemode.Regular, Hash: h}}))
	f.Add(append([]byte("160000 sub\x00"), h[:]...))
	f.Add(append([]byte("0100644 x\x00"), h[:]...))
	f.Add([]byte("100644 truncated\x00abc"))
	f.Add([]byte("10a644 x\x00"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseTree(data)
		var want object.Tree
		werr := want.Decode(goGitObject(plumbing.TreeObject, data))
		if err != nil {
			return // stricter than go-git is fine: a WAL tree is git's own
		}
		if werr != nil {
			t.Fatalf("ParseTree accepted what go-git refuses (%v): %q -> %+v", werr, data, got)
		}
		if !slices.EqualFunc(got, want.Entries, func(a TreeEntry, b object.TreeEntry) bool {
			return a.Name == b.Name && a.Mode == b.Mode && a.Hash == b.Hash
		}) {
			t.Fatalf("ParseTree %+v, go-git %+v", got, want.Entries)
		}
	})
}

func FuzzParseCommit(f *testing.F) {
	f.Add([]byte("tree 0123456789abcdef0123456789abcdef01234567\nparent 89abcdef0123456789abcdef0123456789abcdef\nauthor a <a> 1 +0000\ncommitter a <a> 1 +0000\n\nmsg\n"))
	f.Add([]byte("tree 0123456789abcdef0123456789abcdef01234567\n\nparent 89abcdef0123456789abcdef0123456789abcdef\n"))
	f.Add([]byte("parent 89abcdef0123456789abcdef0123456789abcdef\n"))
	f.Add([]byte("tree xyz\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseCommit(data)
		if err != nil {
			return
		}
		var want object.Commit
		if werr := want.Decode(goGitObject(plumbing.CommitObject, data)); werr != nil {
			t.Fatalf("ParseCommit accepted what go-git refuses (%v): %q", werr, data)
		}
		if got.TreeHash != want.TreeHash || !slices.Equal(got.ParentHashes, want.ParentHashes) {
			t.Fatalf("ParseCommit %+v, go-git tree %s parents %v", got, want.TreeHash, want.ParentHashes)
		}
	})
}
