package wal

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"

	"grite/event"
	"grite/gitdir"
)

// CopyResult is what CopyHistory copied.
type CopyResult struct {
	Objects int
	// Known holds the commits dst already had where the copy stopped: an
	// ancestor of a tip that is in Known is an ancestor dst shares.
	Known map[plumbing.Hash]bool
	// Cache holds the copied objects while they fit in copyCacheBytes, so
	// that the strict read of the copied history that follows does not
	// read them back; nil past that.
	Cache Cache
	// Flush writes the last pack of the copy. Until it returns nil,
	// nothing may name a copied object (no ref, no new commit); a caller
	// may run it while it reads the copy from Cache.
	Flush func() error
}

// Cache is objects already in memory, by name; a walk given one reads
// them from it (ReadOptions.Cache).
type Cache = gitdir.Cache

// CachedObject is one object of a Cache.
type CachedObject = gitdir.CachedObject

// copyCacheBytes bounds CopyResult.Cache (a pull of 1,000 one-event
// commits holds ~2 MB of objects).
const copyCacheBytes = 32 << 20

// copyPackObjects bounds one pack of a copy, so a long history is copied
// in bounded memory (a pack of 100k one-event commits is 800k objects).
const copyPackObjects = 50_000

// CopyHistory copies into dst every object reachable from tips in src
// that dst lacks, as packs: a fetch from a repository on this machine
// without running git. As git assumes of a repository, a commit dst holds
// comes with its whole history, so the walk stops there. Every object's
// content is hashed against its name and its type checked against what
// refers to it, so a corrupt object in src stops the copy with an error
// naming it; packs already written then hold only valid objects no ref
// points to. The last pack is left to the caller (CopyResult.Flush).
// Nothing here validates WAL content: the caller reads the copied history
// strictly, as it would after git fetch.
//
// haves are commits dst is known to hold (its refs' values): the walk
// stops there without a lookup. Other commits are looked up in dst's pack
// indexes only: a loose commit is copied again, which costs a duplicate
// and a walk down to the next known commit, where a lookup of every loose
// object would cost a system call per commit.
func CopyHistory(dst, src *gitdir.Repo, tips, haves []plumbing.Hash) (CopyResult, error) {
	from, have := gitdir.NewReader(src), gitdir.NewReader(dst)
	defer from.Close()
	defer have.Close()
	res := CopyResult{Known: map[plumbing.Hash]bool{}}
	known := map[plumbing.Hash]bool{}
	for _, h := range haves {
		known[h] = true
	}
	// seen is also the cache handed to the caller: one map, not two.
	// Sized for what src holds packed (bounded): growing a map of 8,000
	// objects cost more than the copy's hashing.
	hint := min(from.PackedObjects(), 1<<16)
	seen, cached, caching := make(Cache, hint), 0, true
	type item struct {
		h plumbing.Hash
		t plumbing.ObjectType // expected; AnyObject for a tip
	}
	var stack []item
	for _, h := range tips {
		stack = append(stack, item{h, plumbing.AnyObject})
	}
	batch := dst.NewBatch(hint)
	pending := 0
	var hasher gitdir.ObjectHasher
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if _, ok := seen[it.h]; ok {
			continue
		}
		seen[it.h] = CachedObject{}
		// Only commits (and tips) are looked up in dst: the trees and blobs
		// of a new WAL commit are new too, and duplicates are harmless.
		if it.t != plumbing.TreeObject && it.t != plumbing.BlobObject && (known[it.h] || have.Packed(it.h)) {
			res.Known[it.h] = true
			continue
		}
		// The cap is memory's, not the WAL's: strict reading applies the
		// WAL's own limits to what was copied.
		data, t, err := from.Read(it.h, it.t, event.MaxChunkBytes)
		if err != nil {
			return res, fmt.Errorf("copy object %s: %w", it.h, err)
		}
		if got := hasher.Sum(t, data); got != it.h {
			return res, fmt.Errorf("copy object %s: content hashes to %s (corrupt object)", it.h, got)
		}
		refs, err := references(t, data)
		if err != nil {
			return res, fmt.Errorf("copy object %s: %w", it.h, err)
		}
		for _, r := range refs {
			stack = append(stack, item(r))
		}
		batch.Add(it.h, t, data)
		if caching {
			if cached += len(data); cached > copyCacheBytes {
				caching = false
			} else {
				seen[it.h] = CachedObject{Type: t, Data: data}
			}
		}
		res.Objects++
		if pending++; pending == copyPackObjects {
			if err := batch.Flush(); err != nil {
				return res, err
			}
			pending = 0
		}
	}
	if caching {
		res.Cache = seen
	}
	res.Flush = batch.Flush
	return res, nil
}

type ref struct {
	h plumbing.Hash
	t plumbing.ObjectType
}

// references returns the objects an object names: a commit's tree and
// parents, a tree's entries (submodule commits excluded: they live in
// another repository), a tag's object.
func references(t plumbing.ObjectType, data []byte) ([]ref, error) {
	switch t {
	case plumbing.BlobObject:
		return nil, nil
	case plumbing.CommitObject:
		c, err := gitdir.ParseCommit(data)
		if err != nil {
			return nil, err
		}
		out := []ref{{c.TreeHash, plumbing.TreeObject}}
		for _, p := range c.ParentHashes {
			out = append(out, ref{p, plumbing.CommitObject})
		}
		return out, nil
	case plumbing.TagObject:
		for len(data) > 0 {
			line, rest, _ := bytes.Cut(data, []byte("\n"))
			data = rest
			if len(line) == 0 {
				break
			}
			if val, ok := bytes.CutPrefix(line, []byte("object ")); ok {
				h, ok := gitdir.ParseHash(val)
				if !ok {
					return nil, fmt.Errorf("tag names a malformed object %q", val)
				}
				return []ref{{h, plumbing.AnyObject}}, nil
			}
		}
		return nil, errors.New("tag names no object")
	case plumbing.TreeObject:
		entries, err := gitdir.ParseTree(data)
		if err != nil {
			return nil, err
		}
		out := make([]ref, 0, len(entries))
		for _, e := range entries {
			switch e.Mode {
			case filemode.Submodule:
			case filemode.Dir:
				out = append(out, ref{e.Hash, plumbing.TreeObject})
			default:
				out = append(out, ref{e.Hash, plumbing.BlobObject})
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("unexpected %s object", t)
}
