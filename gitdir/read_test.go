package gitdir_test

import (
	"bytes"
	"errors"
	"io/fs"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"

	"grite/event"
	"grite/gitdir"
	"grite/internal/testrepo"
)

// ReadFile finds a file by its slash-separated path in a commit's tree,
// and only a file: a directory, a path through a file or a missing name
// is fs.ErrNotExist; a file over the limit is event.ErrTooLarge.
func TestReadFile(t *testing.T) {
	dir := testrepo.New(t)
	r, err := gitdir.Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	blob := func(s string) plumbing.Hash {
		h, err := r.WriteObject(plumbing.BlobObject, []byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	sub, err := r.WriteTree([]gitdir.TreeEntry{{Name: "a.bin", Mode: filemode.Regular, Hash: blob("deep")}})
	if err != nil {
		t.Fatal(err)
	}
	root, err := r.WriteTree([]gitdir.TreeEntry{
		{Name: "lock.json", Mode: filemode.Regular, Hash: blob(`{"x":1}`)},
		{Name: "chunks", Mode: filemode.Dir, Hash: sub},
	})
	if err != nil {
		t.Fatal(err)
	}
	commit, err := r.WriteCommit(root, nil, "test", "grite", "grite@localhost", time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	// git agrees the commit is well formed.
	testrepo.Git(t, dir, "fsck", "--strict", "--no-dangling", "--no-progress", commit.String())
	cases := []struct {
		path    string
		limit   int64
		want    string
		wantErr error
	}{
		{"lock.json", 100, `{"x":1}`, nil},
		{"chunks/a.bin", 100, "deep", nil},
		{"chunks", 100, "", fs.ErrNotExist},
		{"lock.json/a.bin", 100, "", fs.ErrNotExist},
		{"missing", 100, "", fs.ErrNotExist},
		{"chunks/missing", 100, "", fs.ErrNotExist},
		{"", 100, "", fs.ErrNotExist},
		{"lock.json", 3, "", event.ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			got, err := r.ReadFile(commit, tc.path, tc.limit)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got %q, %v; want %v", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// Readers pass their inflater and read buffer on to the next reader once
// closed: objects of every size (a stored stream, a compressed one, one
// whose compressed bytes outgrow the buffer, one past what is kept for
// reuse), read in turn by readers made after others closed, including one
// left half-read, come out whole.
func TestReadersReuseScratch(t *testing.T) {
	dir := testrepo.New(t)
	r, err := gitdir.Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	noise := func(n int) []byte { // incompressible: the loose file is as large
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rnd.Uint32())
		}
		return b
	}
	contents := [][]byte{[]byte("small"), bytes.Repeat([]byte("compressible "), 5000), noise(40 << 10), noise(300 << 10), []byte("after the big one")}
	var hashes []plumbing.Hash
	for _, c := range contents {
		h, err := r.WriteObject(plumbing.BlobObject, c)
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, h)
	}
	for round := range 3 {
		for i := range contents {
			// Each object by a new reader, and the order shifted each round,
			// so every object meets scratch left by every other.
			j := (i + round) % len(contents)
			rd := gitdir.NewReader(r)
			got, _, err := rd.Read(hashes[j], plumbing.BlobObject, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, contents[j]) {
				t.Fatalf("round %d: object %d read back as %d bytes, want %d", round, j, len(got), len(contents[j]))
			}
			if j == 1 {
				// A reader that fails mid-object (limit) still hands on a
				// usable inflater.
				if _, _, err := rd.Read(hashes[3], plumbing.BlobObject, 10); !errors.Is(err, event.ErrTooLarge) {
					t.Fatalf("read over the limit: %v, want ErrTooLarge", err)
				}
			}
			rd.Close()
		}
	}
}
