package wal

import (
	"context"
	"os"
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"

	"grite/gitdir"
)

// LooseThreshold is how many loose objects grite writes before it packs
// them: every append writes eight small objects, and each loose one takes
// a file (a 4 KiB block on most file systems, for a few hundred bytes) and
// makes git pack it again at every push. 128 objects is 16 appends; a
// packing of them takes a few milliseconds, in the background.
const LooseThreshold = 128

// maxObjectBytes bounds one object read for packing (a snapshot's chunk
// can be large; nothing grite writes comes near it).
const maxObjectBytes = 256 << 20

// packedRun is how many packed commits in a row end a ref's walk: a
// fetched history is packed, and grite's own loose commits sit above it.
const packedRun = 64

// PackResult says what PackLoose did.
type PackResult struct {
	Objects int    `json:"objects"`       // loose objects packed
	Pack    string `json:"pack"`          // the new pack's name ("" if none)
	Removed int    `json:"loose_removed"` // loose files removed after
	Merged  int    `json:"packs_merged"`  // grite's packs merged after
	Skipped string `json:"skipped,omitempty"`
}

// PackLoose packs the loose objects of grite's refs (refs/grite/*: the
// WAL, locks, snapshots) into one pack, removes their loose files and
// merges grite's small packs (ConsolidatePacks), as git gc --auto keeps a
// repository compact; only objects reachable from grite's refs are
// touched, never the user's. It leaves the repository to git while a gc
// holds gc.pid, and to another grite packing (a lock file).
//
// It is safe with readers and writers in other processes: the pack and
// its index are in place before any loose file is removed, so a reader
// that misses a loose object finds it in the new pack (readers list packs
// again on a miss, as git does), and an object written again meanwhile
// is in the pack either way.
func PackLoose(ctx context.Context, repo *gitdir.Repo) (PackResult, error) {
	var res PackResult
	if repo.PreciousObjects() {
		// extensions.preciousObjects: no loose file may go.
		res.Skipped = "the repository's objects are precious (extensions.preciousObjects)"
		return res, nil
	}
	if exists(filepath.Join(repo.CommonDir, "gc.pid")) {
		res.Skipped = "git gc is running"
		return res, nil
	}
	unlock, ok := consolidationLock(repo.GriteDir())
	if !ok {
		res.Skipped = "another grite process is packing"
		return res, nil
	}
	locked := true
	defer func() {
		if locked {
			unlock()
		}
	}()
	// Objects written from now on count for the next packing.
	if err := repo.ResetLooseCount(); err != nil {
		return res, err
	}
	refs, err := repo.ListRefs("refs/grite/")
	if err != nil {
		return res, err
	}
	r := newObjectReader(repo)
	defer r.close()
	c := &looseCollector{r: r, objects: filepath.Join(repo.CommonDir, "objects"), seen: map[plumbing.Hash]bool{}}
	for _, tip := range refs {
		if err := c.history(ctx, tip); err != nil {
			return res, err
		}
	}
	if len(c.found) > 0 {
		if res.Pack, _, err = repo.WritePack(c.found); err != nil {
			return res, err
		}
		res.Objects = len(c.found)
		fans := map[string]bool{}
		for _, o := range c.found {
			if p := c.path(o.ID); os.Remove(p) == nil {
				res.Removed++
				fans[filepath.Dir(p)] = true
			}
		}
		// Empty fan-out directories go too, as git prune-packed does:
		// each holds a block. A writer that finds its directory gone makes
		// it again; one that is not empty stays.
		for d := range fans {
			os.Remove(d)
		}
	}
	// ConsolidatePacks takes the lock itself.
	unlock()
	locked = false
	res.Merged, err = ConsolidatePacks(repo, PackLimit)
	return res, err
}

// looseCollector gathers the loose objects of commit histories.
type looseCollector struct {
	r       *objectReader
	objects string
	seen    map[plumbing.Hash]bool
	found   []gitdir.Object
}

func (c *looseCollector) path(h plumbing.Hash) string {
	s := h.String()
	return filepath.Join(c.objects, s[:2], s[2:])
}

func (c *looseCollector) loose(h plumbing.Hash) bool {
	_, err := os.Lstat(c.path(h))
	return err == nil
}

// take adds object h if it is loose; it reports whether it was.
func (c *looseCollector) take(h plumbing.Hash) (bool, error) {
	if c.seen[h] {
		return false, nil
	}
	c.seen[h] = true
	if !c.loose(h) {
		return false, nil
	}
	data, err := c.r.read(h, plumbing.AnyObject, maxObjectBytes)
	if err != nil {
		return false, err
	}
	c.found = append(c.found, gitdir.Object{Type: c.r.lastType, Data: data, ID: h})
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
		commit, err := c.r.commit(h)
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
	entries, err := parseTree(c.found[len(c.found)-1].Data)
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
