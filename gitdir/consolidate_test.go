package gitdir_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"grite/gitdir"
	"grite/internal/testrepo"
)

// openRepo opens a new repository in a temporary directory.
func openRepo(t *testing.T) (*gitdir.Repo, string) {
	t.Helper()
	dir := testrepo.New(t)
	r, err := gitdir.Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r, dir
}

// packs lists the pack names (without extension) of a repository.
func packs(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "*.idx"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range m {
		m[i] = strings.TrimSuffix(filepath.Base(m[i]), ".idx")
	}
	return m
}

// git runs git through testrepo, whose environment holds the identity a
// commit needs: a machine without a global git identity runs these tests too.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	return string(testrepo.GitRaw(t, dir, args...))
}

// packCommit writes, as one pack (what a local fetch writes), a commit
// of a tree holding one new blob, on top of parent; it returns the commit.
func packCommit(t *testing.T, r *gitdir.Repo, i int, parent plumbing.Hash) plumbing.Hash {
	t.Helper()
	blob := []byte(fmt.Sprintf("object %d\n", i))
	bh := plumbing.ComputeHash(plumbing.BlobObject, blob)
	tree := append([]byte("100644 f\x00"), bh[:]...)
	th := plumbing.ComputeHash(plumbing.TreeObject, tree)
	commit := fmt.Sprintf("tree %s\n", th)
	if !parent.IsZero() {
		commit += fmt.Sprintf("parent %s\n", parent)
	}
	commit += "author a <a@b> 1700000000 +0000\ncommitter a <a@b> 1700000000 +0000\n\nc\n"
	_, ids, err := r.WritePack([]gitdir.Object{
		{Type: plumbing.BlobObject, Data: blob},
		{Type: plumbing.TreeObject, Data: tree},
		{Type: plumbing.CommitObject, Data: []byte(commit)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids[2]
}

// TestConsolidationKeepsFewPacks: one pack per fetch, consolidated after
// each, keeps the count bounded while history grows; git reads the result
// (fsck, every object of every commit) and so does grite.
func TestConsolidationKeepsFewPacks(t *testing.T) {
	r, dir := openRepo(t)
	const n = 120
	most := 0
	var head plumbing.Hash
	for i := 0; i < n; i++ {
		head = packCommit(t, r, i, head)
		if _, err := r.ConsolidatePacks(gitdir.PackLimit); err != nil {
			t.Fatal(err)
		}
		most = max(most, len(packs(t, dir)))
	}
	if most > gitdir.PackLimit+1 {
		t.Fatalf("up to %d packs during %d fetches", most, n)
	}
	git(t, dir, "update-ref", "refs/heads/x", head.String())
	if counts := git(t, dir, "count-objects", "-v"); !strings.Contains(counts, "\ngarbage: 0\n") {
		t.Fatalf("git sees garbage in the objects directory:\n%s", counts)
	}
	git(t, dir, "fsck", "--full", "--strict", "--no-dangling")
	if got := strings.Count(git(t, dir, "rev-list", "--objects", "refs/heads/x"), "\n"); got != n*3 {
		t.Fatalf("rev-list --objects lists %d objects, want %d", got, n*3)
	}
}

// TestGitHelperCommitsWithoutAUserIdentity: the tests that commit with git
// pass on a machine whose git has no identity configured, as a newcomer's
// may not.
func TestGitHelperCommitsWithoutAUserIdentity(t *testing.T) {
	t.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	for _, k := range []string{"GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"} {
		t.Setenv(k, "") // restores the variable afterwards
		os.Unsetenv(k)
	}
	dir := testrepo.New(t)
	git(t, dir, "commit", "-q", "--allow-empty", "-m", "needs an identity")
}

// TestConsolidationLeavesGitsPacksAlone: packs git made (with deltas or
// not) and packs with a .keep file are never merged or removed.
func TestConsolidationLeavesGitsPacksAlone(t *testing.T) {
	r, dir := openRepo(t)
	// Some history git packs with deltas: versions of one growing file.
	var body strings.Builder
	for i := 0; i < 30; i++ {
		body.WriteString(strings.Repeat("line of text that repeats\n", 20))
		if err := os.WriteFile(filepath.Join(dir, "f.txt"), []byte(body.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		git(t, dir, "add", "f.txt")
		git(t, dir, "commit", "-q", "-m", "v")
	}
	git(t, dir, "repack", "-adq")
	deltified := packs(t, dir)
	if len(deltified) != 1 || !strings.Contains(git(t, dir, "verify-pack", "-v", filepath.Join(dir, ".git", "objects", "pack", deltified[0]+".idx")), "chain length") {
		t.Fatalf("setup: want one pack with deltas, have %v", deltified)
	}
	// A pack of git's without deltas (its incremental repack of loose
	// objects, window 0): grite could copy it byte for byte, but it is
	// git's, so it stays too.
	if err := os.WriteFile(filepath.Join(dir, "g.txt"), []byte("plain\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "add", "g.txt")
	git(t, dir, "commit", "-q", "-m", "g")
	git(t, dir, "repack", "-dq", "--window=0", "--depth=0")
	var plain string
	for _, p := range packs(t, dir) {
		if p != deltified[0] {
			plain = p
		}
	}
	if plain == "" {
		t.Fatal("setup: git wrote no second pack")
	}
	var head plumbing.Hash
	head = packCommit(t, r, 0, head)
	var kept string
	for _, p := range packs(t, dir) {
		if p != deltified[0] && p != plain {
			kept = p
		}
	}
	if err := os.WriteFile(filepath.Join(dir, ".git", "objects", "pack", kept+".keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 60; i++ {
		head = packCommit(t, r, i, head)
		if _, err := r.ConsolidatePacks(gitdir.PackLimit); err != nil {
			t.Fatal(err)
		}
	}
	have := map[string]bool{}
	for _, p := range packs(t, dir) {
		have[p] = true
	}
	if !have[deltified[0]] || !have[kept] || !have[plain] {
		t.Fatalf("consolidation removed git's packs (%v, %v) or the kept one (%v): %v", have[deltified[0]], have[plain], have[kept], have)
	}
	if len(have) > gitdir.PackLimit+2 {
		t.Fatalf("%d packs after 60 fetches", len(have))
	}
	git(t, dir, "update-ref", "refs/heads/x", head.String())
	git(t, dir, "fsck", "--full", "--strict", "--no-dangling")
}

// TestConsolidationWaitsForGit: while git's gc runs (gc.pid) or a
// multi-pack index names the packs, nothing is merged.
func TestConsolidationWaitsForGit(t *testing.T) {
	for _, name := range []string{"gc.pid", "objects/pack/multi-pack-index"} {
		t.Run(name, func(t *testing.T) {
			r, dir := openRepo(t)
			var head plumbing.Hash
			for i := 0; i < 20; i++ {
				if i == 1 {
					if err := os.WriteFile(filepath.Join(dir, ".git", name), []byte("x"), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				head = packCommit(t, r, i, head)
				if n, err := r.ConsolidatePacks(gitdir.PackLimit); err != nil || n != 0 {
					t.Fatalf("consolidated %d packs (%v) with %s present", n, err, name)
				}
			}
			if got := len(packs(t, dir)); got != 20 {
				t.Fatalf("%d packs, want the 20 fetches' own", got)
			}
		})
	}
}
