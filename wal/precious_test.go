package wal_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"grite/gitdir"
	"grite/internal/testrepo"
	"grite/wal"
)

// In a repository with extensions.preciousObjects, git deletes no object
// (git gc and repack -d refuse), and neither does grite: pack
// consolidation leaves its packs alone. The same packs are consolidated
// without the extension, so the setup is one that would be.
func TestConsolidationKeepsPreciousObjects(t *testing.T) {
	for _, precious := range []bool{true, false} {
		t.Run(fmt.Sprintf("precious=%v", precious), func(t *testing.T) {
			dir := testrepo.New(t)
			for i := range 12 {
				// A pack of one new blob (what a small fetch leaves).
				id := testrepo.GitStdin(t, dir, []byte(fmt.Sprintf("blob %d\n", i)), "hash-object", "-w", "--stdin")
				testrepo.GitStdin(t, dir, id, "pack-objects", "-q", ".git/objects/pack/pack")
			}
			idx := func() int {
				m, err := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "*.idx"))
				if err != nil {
					t.Fatal(err)
				}
				return len(m)
			}
			before := idx()
			if before < 12 {
				t.Fatalf("set up %d packs, want 12 or more", before)
			}
			if precious {
				testrepo.Git(t, dir, "config", "extensions.preciousObjects", "true")
			}
			r, err := gitdir.Discover(dir)
			if err != nil {
				t.Fatal(err)
			}
			if r.PreciousObjects() != precious {
				t.Fatalf("PreciousObjects() = %v", r.PreciousObjects())
			}
			merged, err := wal.ConsolidatePacks(r, 4)
			if err != nil {
				t.Fatal(err)
			}
			after := idx()
			if precious && (merged != 0 || after != before) {
				t.Fatalf("precious objects: merged %d packs, %d packs left of %d", merged, after, before)
			}
			if !precious && (merged == 0 || after >= before) {
				t.Fatalf("without the extension: merged %d packs, %d left of %d: the setup would not show a consolidation", merged, after, before)
			}
			testrepo.Git(t, dir, "fsck", "--no-dangling")
		})
	}
}
