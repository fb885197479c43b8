package gitdir

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

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
