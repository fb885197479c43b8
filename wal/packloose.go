package wal

import (
	"context"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"

	"grite/gitdir"
)

// maxObjectBytes bounds one object read for packing (a snapshot's chunk
// can be large; nothing grite writes comes near it).
const maxObjectBytes = 256 << 20

// packedRun is how many packed commits in a row end a ref's walk: a
// fetched history is packed, and grite's own loose commits sit above it.
const packedRun = 64

// PackLoose packs the loose objects of grite's refs (refs/grite/*: the
// WAL, locks, snapshots) with gitdir's Repo.PackLoose, which also merges
// grite's small packs; only objects reachable from grite's refs are
// touched, never the user's. What is grite's is found here, by walking
// each ref's first parents down to where its history is packed.
func PackLoose(ctx context.Context, repo *gitdir.Repo) (gitdir.PackResult, error) {
	return repo.PackLoose(func(r *gitdir.Reader) ([]gitdir.Object, error) {
		refs, err := repo.ListRefs("refs/grite/")
		if err != nil {
			return nil, err
		}
		c := &looseCollector{r: r, seen: map[plumbing.Hash]bool{}}
		for _, tip := range refs {
			if err := c.history(ctx, tip); err != nil {
				return nil, err
			}
		}
		return c.found, nil
	})
}

// looseCollector gathers the loose objects of commit histories.
type looseCollector struct {
	r     *gitdir.Reader
	seen  map[plumbing.Hash]bool
	found []gitdir.Object
}

// take adds object h if it is loose; it reports whether it was.
func (c *looseCollector) take(h plumbing.Hash) (bool, error) {
	if c.seen[h] {
		return false, nil
	}
	c.seen[h] = true
	if !c.r.Loose(h) {
		return false, nil
	}
	data, t, err := c.r.Read(h, plumbing.AnyObject, maxObjectBytes)
	if err != nil {
		return false, err
	}
	c.found = append(c.found, gitdir.Object{Type: t, Data: data, ID: h})
	return true, nil
}

// history walks first parents back from tip, taking each loose commit with
// its tree, until packedRun packed commits in a row.
func (c *looseCollector) history(ctx context.Context, tip plumbing.Hash) error {
	run := 0
	for h := tip; !h.IsZero() && run < packedRun; {
		if err := ctx.Err(); err != nil {
			return err
		}
		if c.seen[h] {
			return nil // another ref's walk came this way
		}
		commit, err := c.r.Commit(h)
		if err != nil {
			return err
		}
		took, err := c.take(h)
		if err != nil {
			return err
		}
		if took {
			run = 0
			if err := c.tree(commit.TreeHash); err != nil {
				return err
			}
		} else {
			run++
		}
		if len(commit.ParentHashes) == 0 {
			return nil
		}
		h = commit.ParentHashes[0]
	}
	return nil
}

// tree takes the loose objects of a tree, recursively.
func (c *looseCollector) tree(h plumbing.Hash) error {
	took, err := c.take(h)
	if err != nil || !took {
		return err
	}
	entries, err := gitdir.ParseTree(c.found[len(c.found)-1].Data)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Mode == filemode.Dir {
			err = c.tree(e.Hash)
		} else {
			_, err = c.take(e.Hash)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
