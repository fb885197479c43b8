package gitdir

import (
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// PackLimit is how many packs a repository may hold before grite
// consolidates the small ones (after a local fetch, which writes one
// pack). git's own automatic gc starts repacking everything past 50
// (gc.autoPackLimit), and every object lookup, grite's or git's, probes
// each pack's index.
const PackLimit = 16

// geometricFactor is how much larger than all smaller packs together a
// pack must be to be left alone. With 4, a history of 100k commits (800k
// objects) settles in at most nine packs, so the limit leaves room for
// several fetches between consolidations, and each object is copied
// O(log₄ n) times.
const geometricFactor = 4

// ConsolidatePacks merges the smallest of the packs grite wrote into one
// when the repository holds more than limit packs, and returns how many it
// merged. A pack git or the user made is never merged or removed.
// Packs are chosen as git's geometric repack does (git repack
// --geometric=4): the smallest ones, until every pack left holds at least
// four times the objects of all smaller ones together. Only packs without
// deltas qualify (grite's own, and any git wrote that way): their
// entries are copied byte for byte, never inflated, recompressed or
// re-deltified, so a pack of the user's history that git deltified is
// never made bigger.
//
// The repository is left to git while a gc holds gc.pid or a
// multi-pack index lists packs (it would name removed ones); packs with a
// .keep or .promisor file are never touched. Concurrent consolidations
// are serialized by a lock file in grite's directory; a reader that had
// listed a removed pack finds its objects in the new one (the new pack is
// complete before any old one is removed, index first).
func (repo *Repo) ConsolidatePacks(limit int) (int, error) {
	if repo.PreciousObjects() { // extensions.preciousObjects: git deletes nothing, nor may grite
		return 0, nil
	}
	dir := filepath.Join(repo.CommonDir, "objects", "pack")
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, nil
		}
		return 0, err
	}
	var bases []string
	for _, e := range ents {
		if name, ok := strings.CutSuffix(e.Name(), ".idx"); ok {
			bases = append(bases, filepath.Join(dir, name))
		}
	}
	if len(bases) <= limit || exists(filepath.Join(dir, "multi-pack-index")) || exists(filepath.Join(repo.CommonDir, "gc.pid")) {
		return 0, nil
	}
	unlock, ok := consolidationLock(repo.GriteDir())
	if !ok {
		return 0, nil // another process is consolidating
	}
	defer unlock()

	type candidate struct {
		base  string
		n     int         // objects, from the index's header
		p     *pack       // mapped once chosen
		spans []entrySpan // of a chosen pack without deltas
	}
	var cands []candidate
	defer func() {
		for _, c := range cands {
			if c.p != nil {
				closePacks([]*pack{c.p})
			}
		}
	}()
	ours := repo.GritePacks()
	for _, b := range bases {
		// Only packs grite wrote: git's and the user's are theirs to keep.
		if !ours[filepath.Base(b)] || exists(b+".keep") || exists(b+".promisor") {
			continue
		}
		if n, ok := indexCount(b + ".idx"); ok {
			cands = append(cands, candidate{base: b, n: n})
		}
	}
	slices.SortFunc(cands, func(a, b candidate) int { return a.n - b.n })
	// Choose by object counts, then map and check only the chosen packs
	// (a large pack of git's is never read): one with deltas leaves the
	// candidates and the choice is made again.
	k := 0
	for {
		sum := 0
		k = 0
		for j, c := range cands {
			if j > 0 && c.n < geometricFactor*sum {
				k = j + 1
			}
			sum += c.n
		}
		// Far past the limit even so (many packs git wrote, say): merge
		// enough of the smallest to get back to it.
		if left := len(bases) - k + 1; left > 2*limit {
			k = min(len(cands), len(bases)+1-limit)
		}
		bad := -1
		for i := 0; i < k && bad < 0; i++ {
			c := &cands[i]
			if c.p != nil {
				continue
			}
			p, err := mapPack(c.base+".idx", c.base+".pack")
			if err != nil {
				bad = i
				continue
			}
			c.p = p
			if c.spans, ok = p.entrySpans(); !ok {
				bad = i
			}
		}
		if bad < 0 {
			break
		}
		if cands[bad].p != nil {
			closePacks([]*pack{cands[bad].p})
		}
		cands = slices.Delete(cands, bad, bad+1)
	}
	if k < 2 {
		return 0, nil
	}
	type span struct {
		p        *pack
		id       plumbing.Hash
		off, end int
	}
	var spans []span
	seen := map[plumbing.Hash]bool{}
	for _, c := range cands[:k] {
		for _, s := range c.spans {
			id := c.p.name(s.i)
			if !seen[id] {
				seen[id] = true
				spans = append(spans, span{c.p, id, s.off, s.end})
			}
		}
	}
	name, err := repo.WriteRawPack(len(spans), func(i int) (RawEntry, error) {
		s := spans[i]
		return RawEntry{ID: s.id, Raw: s.p.data[s.off:s.end]}, nil
	})
	if err != nil {
		return 0, err
	}
	for _, c := range cands[:k] {
		if filepath.Base(c.base) == name {
			continue
		}
		// Index first: readers find a pack through its index.
		for _, ext := range []string{".idx", ".pack", ".rev", ".bitmap", ".mtimes"} {
			_ = os.Remove(c.base + ext)
		}
	}
	return k, repo.KeepPackList(repo.GritePacks())
}

// indexCount reads how many objects a version-2 pack index lists (the
// last fan-out entry) without mapping the index or its pack.
func indexCount(path string) (int, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	var head [8 + 256*4]byte
	if _, err := io.ReadFull(f, head[:]); err != nil {
		return 0, false
	}
	n, v1, err := indexHeader(head[:])
	return n, err == nil && !v1
}

// entrySpan is where the i-th object of a pack's index lies in the pack.
type entrySpan struct{ i, off, end int }

// entrySpans returns every entry's extent in pack order; ok is false when
// the pack holds a delta (or its offsets make no sense).
func (p *pack) entrySpans() ([]entrySpan, bool) {
	const names = 8 + 256*4
	offs := p.idx[names+p.n*24:]
	spans := make([]entrySpan, p.n)
	for i := range spans {
		off := binary.BigEndian.Uint32(offs[i*4:])
		if off&0x80000000 != 0 {
			return nil, false // beyond 2 GiB: not a pack of grite's
		}
		spans[i] = entrySpan{i: i, off: int(off)}
	}
	slices.SortFunc(spans, func(a, b entrySpan) int { return a.off - b.off })
	end := len(p.data) - 20
	for j := len(spans) - 1; j >= 0; j-- {
		s := &spans[j]
		if s.off < 12 || s.off >= end {
			return nil, false
		}
		if t := plumbing.ObjectType(p.data[s.off] >> 4 & 7); t == plumbing.OFSDeltaObject || t == plumbing.REFDeltaObject {
			return nil, false
		}
		s.end, end = end, s.off
	}
	return spans, true
}

// name returns the object ID of the i-th index entry.
func (p *pack) name(i int) plumbing.Hash {
	var h plumbing.Hash
	copy(h[:], p.idx[8+256*4+i*20:])
	return h
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// consolidationLock takes grite's consolidation lock; a lock left by a
// killed process is taken over after a minute (a consolidation takes
// milliseconds).
func consolidationLock(griteDir string) (unlock func(), ok bool) {
	path := filepath.Join(griteDir, "packs.lock")
	for attempt := 0; attempt < 2; attempt++ {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			f.Close()
			return func() { _ = os.Remove(path) }, true
		}
		if errors.Is(err, fs.ErrNotExist) {
			if os.MkdirAll(griteDir, 0o755) != nil {
				return nil, false
			}
			continue
		}
		fi, serr := os.Stat(path)
		if serr != nil || time.Since(fi.ModTime()) < time.Minute {
			return nil, false
		}
		_ = os.Remove(path)
	}
	return nil, false
}
