package gitdir

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"grite/internal/testrepo"
)

// packTestObjects returns every kind of object, linked so that the commit
// and the tag reach all blobs, plus a duplicate; the commit is objs[5].
func packTestObjects() []Object {
	hello := []byte("hello pack\n")
	big := make([]byte, 100<<10) // compressible, yet not a repeat of one byte
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = "abcdefgh\n"[rng.IntN(9)]
	}
	entry := func(name string, data []byte) string {
		h := plumbing.ComputeHash(plumbing.BlobObject, data)
		return "100644 " + name + "\x00" + string(h[:])
	}
	tree := []byte(entry("big", big) + entry("empty", nil) + entry("hello", hello))
	treeID := plumbing.ComputeHash(plumbing.TreeObject, tree)
	const who = "T <t@example.com> 1700000000 +0000"
	commit := fmt.Appendf(nil, "tree %s\nauthor %s\ncommitter %s\n\npacked\n", treeID, who, who)
	commitID := plumbing.ComputeHash(plumbing.CommitObject, commit)
	tag := fmt.Appendf(nil, "object %s\ntype commit\ntag v1\ntagger %s\n\nv1\n", commitID, who)
	return []Object{
		{Type: plumbing.BlobObject, Data: hello},
		{Type: plumbing.BlobObject, Data: nil},
		{Type: plumbing.BlobObject, Data: big},
		{Type: plumbing.TreeObject, Data: tree},
		{Type: plumbing.BlobObject, Data: hello}, // duplicate
		{Type: plumbing.CommitObject, Data: commit},
		{Type: plumbing.TagObject, Data: tag},
	}
}

func openTestRepo(t *testing.T) (*Repo, string) {
	t.Helper()
	dir := testrepo.New(t)
	r, err := Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r, dir
}

// A written pack must be one git reads as its own: verify-pack lists
// exactly the objects, cat-file returns them unchanged, fsck is clean, and
// go-git's object storage finds them.
func TestWritePackReadByGit(t *testing.T) {
	r, dir := openTestRepo(t)
	objs := packTestObjects()
	name, ids, err := r.WritePack(objs)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != len(objs) {
		t.Fatalf("%d ids for %d objects", len(ids), len(objs))
	}
	want := map[plumbing.Hash]Object{}
	for i, o := range objs {
		if h := plumbing.ComputeHash(o.Type, o.Data); ids[i] != h {
			t.Fatalf("ids[%d] = %s, want %s", i, ids[i], h)
		}
		want[ids[i]] = o
	}

	idx := filepath.Join(r.CommonDir, "objects", "pack", name+".idx")
	listed := map[plumbing.Hash]bool{}
	for _, line := range strings.Split(testrepo.Git(t, dir, "verify-pack", "-v", idx), "\n") {
		// "<id> <type> <size> <size in pack> <offset>" for each whole object
		f := strings.Fields(line)
		if len(f) != 5 {
			continue
		}
		h, ok := ParseHash(f[0])
		if !ok {
			t.Fatalf("verify-pack: %q", line)
		}
		o, ok := want[h]
		if !ok || listed[h] || f[1] != o.Type.String() || f[2] != strconv.Itoa(len(o.Data)) {
			t.Errorf("verify-pack lists %q", line)
		}
		listed[h] = true
		// Small objects are stored (zlib adds 11 bytes); large ones compressed.
		inPack, _ := strconv.Atoi(f[3])
		stored := len(appendEntryHeader(nil, o.Type, uint64(len(o.Data)))) + len(o.Data) + 11
		if len(o.Data) <= storedMax && inPack != stored || len(o.Data) > storedMax && inPack > len(o.Data)/2 {
			t.Errorf("%s: %d bytes in the pack for %d of content", h, inPack, len(o.Data))
		}
	}
	if len(listed) != len(want) {
		t.Errorf("verify-pack lists %d objects, want %d", len(listed), len(want))
	}

	var in bytes.Buffer
	for _, h := range ids {
		fmt.Fprintln(&in, h)
	}
	out := testrepo.GitStdin(t, dir, in.Bytes(), "cat-file", "--batch")
	for i, h := range ids {
		line, rest, _ := bytes.Cut(out, []byte("\n"))
		o := objs[i]
		if head := fmt.Sprintf("%s %s %d", h, o.Type, len(o.Data)); string(line) != head {
			t.Fatalf("cat-file: %q, want %q", line, head)
		}
		if len(rest) < len(o.Data)+1 || !bytes.Equal(rest[:len(o.Data)], o.Data) {
			t.Fatalf("cat-file: content of %s differs", h)
		}
		out = rest[len(o.Data)+1:]
	}

	testrepo.Git(t, dir, "update-ref", "refs/heads/x", ids[5].String())
	testrepo.Git(t, dir, "update-ref", "refs/tags/v1", ids[6].String())
	testrepo.Git(t, dir, "fsck", "--full", "--strict")

	st := filesystem.NewStorage(osfs.New(r.CommonDir), cache.NewObjectLRUDefault())
	for h, o := range want {
		eo, err := st.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			t.Fatalf("go-git: %s: %v", h, err)
		}
		if eo.Type() != o.Type || eo.Size() != int64(len(o.Data)) {
			t.Fatalf("go-git: %s is a %s of %d bytes", h, eo.Type(), eo.Size())
		}
	}
}

// The files are where the name says, read-only, with no temporaries left,
// and the index is the one git index-pack builds from the pack.
func TestWritePackFilesMatchGit(t *testing.T) {
	r, dir := openTestRepo(t)
	name, _, err := r.WritePack(packTestObjects())
	if err != nil {
		t.Fatal(err)
	}
	packDir := filepath.Join(r.CommonDir, "objects", "pack")
	ents, err := os.ReadDir(packDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
		fi, err := e.Info()
		if err != nil || fi.Mode().Perm() != 0o444 {
			t.Errorf("%s: mode %v %v, want 0444", e.Name(), fi.Mode(), err)
		}
	}
	if got, want := strings.Join(names, " "), name+".idx "+name+".pack"; got != want {
		t.Fatalf("objects/pack holds %s, want %s", got, want)
	}

	pack, err := os.ReadFile(filepath.Join(packDir, name+".pack"))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := os.ReadFile(filepath.Join(packDir, name+".idx"))
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(t.TempDir(), "copy.pack")
	if err := os.WriteFile(copyPath, pack, 0o644); err != nil {
		t.Fatal(err)
	}
	// index-pack prints the pack's checksum, which git names the pack after.
	if sum := testrepo.Git(t, dir, "index-pack", copyPath); "pack-"+sum != name {
		t.Errorf("index-pack says pack %s, we named it %s", sum, name)
	}
	gitIdx, err := os.ReadFile(strings.TrimSuffix(copyPath, ".pack") + ".idx")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(idx, gitIdx) {
		t.Fatalf("index differs from git index-pack's (%d vs %d bytes)", len(idx), len(gitIdx))
	}
}

// The same objects make the same pack: a second write is a no-op.
func TestWritePackTwiceIsOnePack(t *testing.T) {
	r, _ := openTestRepo(t)
	objs := packTestObjects()
	first, _, err := r.WritePack(objs)
	if err != nil {
		t.Fatal(err)
	}
	second, _, err := r.WritePack(objs)
	if err != nil {
		t.Fatal(err)
	}
	if first != second {
		t.Fatalf("second write named %s, first %s", second, first)
	}
	files, _ := filepath.Glob(filepath.Join(r.CommonDir, "objects", "pack", "*"))
	if len(files) != 2 {
		t.Fatalf("objects/pack holds %v, want one pack and its index", files)
	}
}

func TestWritePackRejects(t *testing.T) {
	r, _ := openTestRepo(t)
	cases := []struct {
		name string
		objs []Object
	}{
		{"nil", nil},
		{"empty", []Object{}},
		{"delta type", []Object{{Type: plumbing.BlobObject, Data: []byte("ok")}, {Type: plumbing.OFSDeltaObject, Data: []byte("x")}}},
		{"invalid type", []Object{{Type: plumbing.InvalidObject, Data: nil}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if name, ids, err := r.WritePack(tc.objs); err == nil {
				t.Fatalf("got %s %v, want an error", name, ids)
			}
		})
	}
	if files, _ := filepath.Glob(filepath.Join(r.CommonDir, "objects", "pack", "*")); len(files) != 0 {
		t.Fatalf("left behind: %v", files)
	}
}

// Offsets past 2^31-1 go to the 64-bit table in index order, as git
// writes them; no test pack is big enough to reach them.
func TestPackIndexLargeOffsets(t *testing.T) {
	id := func(b byte) plumbing.Hash { return plumbing.Hash{b} }
	entries := []packEntry{ // out of order: the index sorts them
		{id: id(4), offset: 1 << 40},
		{id: id(1), offset: 0x7fffffff},
		{id: id(3), offset: 12},
		{id: id(2), offset: 1 << 31},
	}
	idx := packIndex(entries, [20]byte{})
	offs := idx[8+256*4+4*(20+4):]
	var want []byte
	for _, v := range []uint32{0x7fffffff, 0x80000000, 12, 0x80000001} {
		want = binary.BigEndian.AppendUint32(want, v)
	}
	want = binary.BigEndian.AppendUint64(want, 1<<31)
	want = binary.BigEndian.AppendUint64(want, 1<<40)
	if got := offs[:len(offs)-40]; !bytes.Equal(got, want) {
		t.Fatalf("offsets\n%x\nwant\n%x", got, want)
	}
}
