package wal

import (
	"bytes"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// The walk decodes trees and commits itself; go-git's decoders are the
// reference. Whatever both accept must decode the same, and parseTree
// must refuse what go-git refuses (parseCommit reads only the header, so
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
		got, err := parseTree(data)
		var want object.Tree
		werr := want.Decode(goGitObject(plumbing.TreeObject, data))
		if err != nil {
			return // stricter than go-git is fine: a WAL tree is git's own
		}
		if werr != nil {
			t.Fatalf("parseTree accepted what go-git refuses (%v): %q -> %+v", werr, data, got)
		}
		if !slices.EqualFunc(got, want.Entries, func(a TreeEntry, b object.TreeEntry) bool {
			return a.Name == b.Name && a.Mode == b.Mode && a.Hash == b.Hash
		}) {
			t.Fatalf("parseTree %+v, go-git %+v", got, want.Entries)
		}
	})
}

func FuzzParseCommit(f *testing.F) {
	f.Add([]byte("tree 0123456789abcdef0123456789abcdef01234567\nparent 89abcdef0123456789abcdef0123456789abcdef\nauthor a <a> 1 +0000\ncommitter a <a> 1 +0000\n\nmsg\n"))
	f.Add([]byte("tree 0123456789abcdef0123456789abcdef01234567\n\nparent 89abcdef0123456789abcdef0123456789abcdef\n"))
	f.Add([]byte("parent 89abcdef0123456789abcdef0123456789abcdef\n"))
	f.Add([]byte("tree xyz\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := parseCommit(data)
		if err != nil {
			return
		}
		var want object.Commit
		if werr := want.Decode(goGitObject(plumbing.CommitObject, data)); werr != nil {
			t.Fatalf("parseCommit accepted what go-git refuses (%v): %q", werr, data)
		}
		if got.TreeHash != want.TreeHash || !slices.Equal(got.ParentHashes, want.ParentHashes) {
			t.Fatalf("parseCommit %+v, go-git tree %s parents %v", got, want.TreeHash, want.ParentHashes)
		}
	})
}

// encodeCommit must write the bytes go-git's Commit.Encode writes for the
// same commit (and so the same ID), whatever the parents, zone or text.
func TestEncodeCommitMatchesGoGit(t *testing.T) {
	h1 := plumbing.NewHash("0123456789abcdef0123456789abcdef01234567")
	h2 := plumbing.NewHash("89abcdef0123456789abcdef0123456789abcdef")
	east := time.FixedZone("", 5*3600+30*60)
	west := time.FixedZone("", -(9*3600 + 45*60))
	cases := []struct {
		name    string
		parents []plumbing.Hash
		msg     string
		who     string
		when    time.Time
	}{
		{"root commit", nil, "WAL append: 1 event", "grite", time.Unix(1700000000, 0).UTC()},
		{"one parent, east of UTC", []plumbing.Hash{h2}, "Lock: issue:abc", "grite", time.Unix(1700000000, 0).In(east)},
		{"two parents, west of UTC", []plumbing.Hash{h1, h2}, "merge", "grite", time.Unix(1234567890, 0).In(west)},
		{"multi-line message, unicode name", []plumbing.Hash{h1}, "first line\n\nbody\n", "Zoë Ünïcode", time.Unix(1, 0).UTC()},
		{"before 1970 clamps to zero", nil, "old", "grite", time.Unix(-5, 0).UTC()},
		{"empty message", []plumbing.Hash{h2}, "", "grite", time.Unix(1700000000, 0).UTC()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := encodeCommit(h1, tc.parents, tc.msg, tc.who, "grite@localhost", tc.when)
			sig := object.Signature{Name: tc.who, Email: "grite@localhost", When: tc.when}
			c := &object.Commit{Author: sig, Committer: sig, Message: tc.msg, TreeHash: h1, ParentHashes: tc.parents}
			o := &plumbing.MemoryObject{}
			if err := c.Encode(o); err != nil {
				t.Fatal(err)
			}
			rd, _ := o.Reader()
			want, _ := io.ReadAll(rd)
			if !bytes.Equal(got, want) {
				t.Fatalf("encodeCommit:\n%q\ngo-git:\n%q", got, want)
			}
		})
	}
}
