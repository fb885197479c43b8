package gitdir_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"grite/gitdir"
	"grite/internal/testrepo"
)

// ReadHistory visits each commit reachable from a head once, merges
// included, with the root files asked for, whether the objects are loose
// or packed.
func TestReadHistoryVisitsEveryCommitOnceWithItsRootFiles(t *testing.T) {
	for _, packed := range []bool{false, true} {
		dir := testrepo.New(t)
		commit := func(content string) {
			if err := os.WriteFile(filepath.Join(dir, "ops"), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			testrepo.Git(t, dir, "add", "ops")
			testrepo.Git(t, dir, "commit", "-q", "-m", content)
		}
		commit("one")
		testrepo.Git(t, dir, "checkout", "-q", "-b", "side")
		commit("two")
		testrepo.Git(t, dir, "checkout", "-q", "-")
		commit("three")
		testrepo.Git(t, dir, "merge", "-q", "--no-edit", "-X", "ours", "side")
		if packed {
			testrepo.Git(t, dir, "gc", "-q")
		}
		r, err := gitdir.Discover(dir)
		if err != nil {
			t.Fatal(err)
		}
		head := plumbing.NewHash(strings.TrimSpace(testrepo.Git(t, dir, "rev-parse", "HEAD")))
		commits, err := r.ReadHistory(context.Background(), head, []string{"ops"}, 1<<10)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range commits {
			got = append(got, string(c.Files["ops"]))
			if _, ok := c.Files["ops"]; ok != slices.Contains(c.Names, "ops") {
				t.Errorf("commit %s: names %v, files %v", c.Hash, c.Names, c.Files)
			}
		}
		slices.Sort(got)
		// The repository's first commit has no ops; the merge keeps three.
		if want := []string{"", "one", "three", "three", "two"}; !slices.Equal(got, want) {
			t.Errorf("packed %v: files %q, want %q", packed, got, want)
		}
		if _, err := r.ReadHistory(context.Background(), head, []string{"ops"}, 2); err == nil {
			t.Errorf("a file over the limit was read")
		}
	}
}
