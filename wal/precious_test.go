package wal_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"grite/event"
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
			w, err := gitdir.Discover(dir)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 12 {
				// A pack of grite's with one new blob (what a small
				// fetch leaves); grite merges only its own packs.
				if _, _, err := w.WritePack([]gitdir.Object{{Type: plumbing.BlobObject, Data: []byte(fmt.Sprintf("blob %d\n", i))}}); err != nil {
					t.Fatal(err)
				}
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
			// Loose objects of grite's stay loose too.
			appendN(t, wal.Open(r), event.ActorID{1}, 1, 2)
			loose := len(looseFiles(t, dir))
			res, err := wal.PackLoose(context.Background(), r)
			if err != nil {
				t.Fatal(err)
			}
			if precious && (res.Objects != 0 || len(looseFiles(t, dir)) != loose) {
				t.Fatalf("precious objects: packed %+v", res)
			}
			merged, err := r.ConsolidatePacks(4)
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
