package gitdir

import (
	"os"
	"path/filepath"
)

// LooseThreshold is how many loose objects grite writes before it packs
// them: every append writes eight small objects, and each loose one takes
// a file (a 4 KiB block on most file systems, for a few hundred bytes) and
// makes git pack it again at every push. 128 objects is 16 appends; a
// packing of them takes a few milliseconds, in the background.
const LooseThreshold = 128

// PackResult says what PackLoose did.
type PackResult struct {
	Objects int    `json:"objects"`       // loose objects packed
	Pack    string `json:"pack"`          // the new pack's name ("" if none)
	Removed int    `json:"loose_removed"` // loose files removed after
	Merged  int    `json:"packs_merged"`  // grite's packs merged after
	Skipped string `json:"skipped,omitempty"`
}

// PackLoose packs the loose objects collect returns into one pack, removes
// their loose files and merges grite's small packs (ConsolidatePacks), as
// git gc --auto keeps a repository compact. collect chooses the objects
// (grite's, never the user's); it runs with a reader of the repository,
// under grite's packing lock and after the loose count was reset, so
// objects written meanwhile count for the next packing. PackLoose leaves
// the repository to git while a gc holds gc.pid, and to another grite
// packing (a lock file).
//
// It is safe with readers and writers in other processes: the pack and
// its index are in place before any loose file is removed, so a reader
// that misses a loose object finds it in the new pack (readers list packs
// again on a miss, as git does), and an object written again meanwhile
// is in the pack either way.
func (repo *Repo) PackLoose(collect func(*Reader) ([]Object, error)) (PackResult, error) {
	var res PackResult
	repo.sweepRetired() // housekeeping of grite's own files, as git gc prunes its temporaries
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
	if err := repo.ResetLooseCount(); err != nil {
		return res, err
	}
	r := NewReader(repo)
	defer r.Close()
	found, err := collect(r)
	if err != nil {
		return res, err
	}
	if len(found) > 0 {
		if res.Pack, _, err = repo.WritePack(found); err != nil {
			return res, err
		}
		res.Objects = len(found)
		fans := map[string]bool{}
		for _, o := range found {
			if p := r.loosePath(o.ID); os.Remove(p) == nil {
				res.Removed++
				fans[filepath.Dir(p)] = true
			}
		}
		// Empty fan-out directories go too, as git prune-packed does:
		// each holds a block. A writer that finds its directory gone makes
		// it again; one that is not empty stays.
		for d := range fans {
			_ = os.Remove(d)
		}
	}
	// ConsolidatePacks takes the lock itself.
	unlock()
	locked = false
	res.Merged, err = repo.ConsolidatePacks(PackLimit)
	return res, err
}
