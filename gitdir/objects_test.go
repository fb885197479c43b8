package gitdir_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"grite/gitdir"
	"grite/internal/testrepo"
)

// writePaths are the ways WriteObject places a file: an unnamed file
// linked in (where the kernel allows) and a named temporary renamed.
var writePaths = []struct {
	name  string
	setup func(*gitdir.Repo)
}{
	{"unnamed file", func(*gitdir.Repo) {}},
	{"named temporary", (*gitdir.Repo).UseNamedTemps},
}

// Objects written by WriteObject must be what git itself would store: the
// same ID as `git hash-object`, readable by `git cat-file`, clean under
// `git fsck`, read-only like git's, and no temporary files left behind.
func TestWriteObjectMatchesGit(t *testing.T) {
	eachWritePath(t, func(t *testing.T, dir string, r *gitdir.Repo) {
		named := r.NamedTemps()
		testWriteObjectMatchesGit(t, dir, r)
		if !named && r.NamedTemps() && unnamedFilesWork(t, filepath.Join(dir, ".git", "objects")) {
			t.Fatal("fell back to named temporaries where unnamed files work")
		}
	})
}

// eachWritePath runs test once per write path, on a fresh repository.
func eachWritePath(t *testing.T, test func(t *testing.T, dir string, r *gitdir.Repo)) {
	for _, wp := range writePaths {
		t.Run(wp.name, func(t *testing.T) {
			dir := testrepo.New(t)
			r, err := gitdir.Discover(dir)
			if err != nil {
				t.Fatal(err)
			}
			wp.setup(r)
			test(t, dir, r)
		})
	}
}

func testWriteObjectMatchesGit(t *testing.T, dir string, r *gitdir.Repo) {
	cases := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"text", []byte("hello grite\n")},
		{"stored, largest", bytes.Repeat([]byte{0, 0xff, 0x80, 7}, (8<<10-11)/4)},
		{"compressed, smallest", bytes.Repeat([]byte{0, 0xff, 0x80, 7}, (8<<10)/4)},
		{"large", bytes.Repeat([]byte("chunk "), 200_000)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, err := r.WriteObject(plumbing.BlobObject, tc.data)
			if err != nil {
				t.Fatal(err)
			}
			want := strings.TrimSpace(string(testrepo.GitStdin(t, dir, tc.data, "hash-object", "--stdin")))
			if h.String() != want {
				t.Fatalf("ID %s, git says %s", h, want)
			}
			got := testrepo.GitStdin(t, dir, nil, "cat-file", "blob", h.String())
			if !bytes.Equal(got, tc.data) {
				t.Fatalf("git cat-file returned %d bytes, want %d", len(got), len(tc.data))
			}
			fi, err := os.Stat(filepath.Join(dir, ".git", "objects", h.String()[:2], h.String()[2:]))
			if err != nil || fi.Mode().Perm()&0o222 != 0 {
				t.Fatalf("loose object %v, err %v: want a read-only file", fi.Mode(), err)
			}
			// Writing it again is a no-op that returns the same ID.
			h2, err := r.WriteObject(plumbing.BlobObject, tc.data)
			if err != nil || h2 != h {
				t.Fatalf("rewrite: %s %v", h2, err)
			}
		})
	}
	testrepo.Git(t, dir, "fsck", "--strict", "--no-dangling")
	tmps, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "*", "tmp_obj_*"))
	if len(tmps) != 0 {
		t.Fatalf("temporary files left: %v", tmps)
	}
}

// A fan-out directory that cannot be created (a file is in its place)
// fails with an error naming the object and leaves nothing behind.
func TestWriteObjectUnwritableFails(t *testing.T) {
	eachWritePath(t, testWriteObjectUnwritableFails)
}

func testWriteObjectUnwritableFails(t *testing.T, dir string, r *gitdir.Repo) {
	data := []byte("blocked")
	h := plumbing.ComputeHash(plumbing.BlobObject, data)
	fan := filepath.Join(dir, ".git", "objects", h.String()[:2])
	if err := os.RemoveAll(fan); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fan, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := r.WriteObject(plumbing.BlobObject, data); err == nil || !strings.Contains(err.Error(), h.String()) {
		t.Fatalf("got %v, want an error naming %s", err, h)
	}
	if fi, err := os.Stat(fan); err != nil || fi.Size() != 0 {
		t.Fatalf("the blocking file changed: %v %v", fi, err)
	}
}

// BenchmarkWriteObjects writes the eight new loose objects of one append
// (docs/format.md §6), each way WriteObject can place them. The two run one
// after the other, so compare them over several -count runs: the disk's
// speed here moves by minutes.
func BenchmarkWriteObjects(b *testing.B) {
	for _, wp := range writePaths {
		b.Run(wp.name, func(b *testing.B) {
			r, err := gitdir.Discover(testrepo.New(b))
			if err != nil {
				b.Fatal(err)
			}
			wp.setup(r)
			data := bytes.Repeat([]byte("x"), 300)
			for i := 0; b.Loop(); i++ {
				for k := range 8 {
					copy(data, fmt.Sprintf("%d/%d ", i, k))
					if _, err := r.WriteObject(plumbing.BlobObject, data); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// ObjectHasher must name every object as go-git does, state reused or not.
func TestObjectHasherMatchesGoGit(t *testing.T) {
	var o gitdir.ObjectHasher
	cases := []struct {
		t    plumbing.ObjectType
		data []byte
	}{
		{plumbing.BlobObject, nil},
		{plumbing.BlobObject, []byte("hello\n")},
		{plumbing.TreeObject, bytes.Repeat([]byte{0, 1, 2}, 5000)},
		{plumbing.CommitObject, []byte("tree 0123456789abcdef0123456789abcdef01234567\n\nm")},
		{plumbing.TagObject, []byte("object x")},
		{plumbing.BlobObject, []byte("hello\n")}, // again, after other states
	}
	for i, tc := range cases {
		if got, want := o.Sum(tc.t, tc.data), plumbing.ComputeHash(tc.t, tc.data); got != want {
			t.Fatalf("case %d (%s, %d bytes): %s, go-git %s", i, tc.t, len(tc.data), got, want)
		}
	}
}

// A packer (this process's or another's) removes loose objects and then
// their emptied fan-out directories while writers go on; a writer whose
// directory disappears under it, between finding it and creating its file
// in it, makes it again and still writes its object.
func TestWriteObjectRacesFanOutRemoval(t *testing.T) {
	eachWritePath(t, testWriteObjectRacesFanOutRemoval)
}

func testWriteObjectRacesFanOutRemoval(t *testing.T, dir string, r *gitdir.Repo) {
	objects := filepath.Join(dir, ".git", "objects")
	named := r.NamedTemps()
	stop := make(chan struct{})
	done := make(chan int)
	go func() {
		rounds := 0
		for {
			select {
			case <-stop:
				done <- rounds
				return
			default:
			}
			fans, _ := filepath.Glob(filepath.Join(objects, "[0-9a-f][0-9a-f]"))
			for _, fan := range fans {
				files, _ := os.ReadDir(fan)
				for _, f := range files {
					if len(f.Name()) == 38 { // objects, as a packer removes them; not a writer's temporaries
						_ = os.Remove(filepath.Join(fan, f.Name()))
					}
				}
				_ = os.Remove(fan)
			}
			rounds++
		}
	}()
	var failed error
	for i := 0; i < 3000 && failed == nil; i++ {
		_, failed = r.WriteObject(plumbing.BlobObject, []byte(fmt.Sprintf("object %d", i)))
	}
	close(stop)
	rounds := <-done
	if failed != nil {
		t.Fatalf("a write failed while fan-out directories were being removed (%d removal rounds): %v", rounds, failed)
	}
	if r.NamedTemps() != named {
		t.Fatal("a lost race made the writer give up unnamed files for good")
	}
	h, err := r.WriteObject(plumbing.BlobObject, []byte("after the race"))
	if err != nil {
		t.Fatal(err)
	}
	if out := testrepo.Git(t, dir, "cat-file", "-p", h.String()); out != "after the race" {
		t.Fatalf("cat-file: %q", out)
	}
}
