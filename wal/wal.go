// Package wal owns refs/grite/wal and the WAL's own format on git: it
// appends chunk commits (one chunk per commit, meta.json beside it,
// docs/format.md §6) with an atomic compare-and-swap of the ref, and reads
// events back following meta.json's prev_wal chain; reads of foreign
// history can validate every commit strictly (docs/format.md §4). It also
// writes and reads snapshots, chooses the objects of grite's refs to pack
// (PackLoose) and copies history from another repository on this machine
// (a local fetch). Reading and writing git objects and packs is gitdir's.
// It never rewrites history and never touches the working tree.
package wal

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"

	"grite/event"
	"grite/gitdir"
)

// Ref is the WAL ref.
const Ref = "refs/grite/wal"

// Identity of WAL and snapshot commits (docs/format.md §6).
const (
	CommitterName  = "grite"
	CommitterEmail = "grit@local"
)

// maxAppendAttempts bounds the compare-and-swap loop; each lost race means
// another writer made progress, so this only trips under pathological load.
const maxAppendAttempts = 2000

// WAL appends to and reads one ref of an opened repository.
type WAL struct {
	repo *gitdir.Repo
	ref  string
}

// Open returns the WAL at Ref.
func Open(repo *gitdir.Repo) *WAL { return &WAL{repo: repo, ref: Ref} }

// OpenRef returns a WAL reader/writer over another ref (e.g. a fetched
// remote WAL under refs/grite/remotes/).
func OpenRef(repo *gitdir.Repo, ref string) *WAL { return &WAL{repo: repo, ref: ref} }

// RefName is the ref this WAL reads and writes.
func (w *WAL) RefName() string { return w.ref }

// Head returns the current WAL commit, zero when the WAL is empty.
func (w *WAL) Head() (plumbing.Hash, error) { return w.repo.ReadRef(w.ref) }

// Commit is one WAL commit and the events of its chunk in stored order.
type Commit struct {
	Hash   plumbing.Hash
	Meta   Meta
	Events []event.Event
}

// Error is a malformed or invalid WAL commit; Commit names it.
type Error struct {
	Commit plumbing.Hash
	Err    error
}

func (e *Error) Error() string { return fmt.Sprintf("WAL commit %s: %v", e.Commit, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// AppendResult is what one append wrote.
type AppendResult struct {
	Commit   plumbing.Hash
	Prev     plumbing.Hash
	Attempts int // 1 when no other writer raced us
}

// ObjectsPerCommit is how many objects an append writes (docs/format.md §6): the
// chunk blob, the four trees of events/YYYY/MM/DD, meta.json, the root tree
// and the commit.
const ObjectsPerCommit = 8

// Append writes events as one chunk commit on top of the current head and
// moves the ref with a compare-and-swap; a lost race re-parents the same
// chunk on the new head and retries.
func (w *WAL) Append(ctx context.Context, actor event.ActorID, events []event.Event, now time.Time) (AppendResult, error) {
	return w.appendChunk(ctx, actor, events, now, nil)
}

// Onto names the parent of a rebased chunk commit and the value the ref must
// still hold for the commit to land.
type Onto struct {
	Parent   plumbing.Hash
	Expected plumbing.Hash
}

// AppendOnto writes events as one chunk commit whose parent is onto.Parent
// and moves the ref from onto.Expected to it (compare-and-swap, one attempt:
// a *gitdir.ErrRefChanged tells the caller to start over).
func (w *WAL) AppendOnto(ctx context.Context, actor event.ActorID, events []event.Event, now time.Time, onto Onto) (AppendResult, error) {
	return w.appendChunk(ctx, actor, events, now, &onto)
}

func (w *WAL) appendChunk(ctx context.Context, actor event.ActorID, events []event.Event, now time.Time, onto *Onto) (AppendResult, error) {
	if len(events) == 0 {
		return AppendResult{}, event.ErrEmptyChunk
	}
	chunk, err := event.EncodeChunk(events)
	if err != nil {
		return AppendResult{}, err
	}
	hash := event.ChunkHash(chunk)
	firstTS := events[0].TS
	if firstTS > 253402300799999 { // after 9999-12-31: the original uses "now"
		firstTS = uint64(now.UnixMilli())
	}
	// Loose objects, as git writes them. A pack per append (two files, not
	// eight) was faster in a fresh repository but slower once it had
	// history: every append then created, renamed and (consolidating)
	// removed files in the one objects/pack directory, whose cost grows
	// with that churn on ext4, where loose objects spread over 256
	// directories and are never removed.
	eventsTree, err := writeChunkTree(w.repo, chunk, event.ChunkPath(firstTS, hash))
	if err != nil {
		return AppendResult{}, err
	}
	msg := fmt.Sprintf("WAL: %d events from %s", len(events), actor.Short())
	if onto != nil {
		// Rebase: one attempt on an explicit parent, moving the ref only if
		// it still holds the expected value; the caller handles a lost race.
		meta := MarshalMeta(Meta{SchemaVersion: 1, ActorID: actor, ChunkHash: hash, PrevWAL: onto.Parent})
		commit, err := writeCommit(w.repo, meta, eventsTree, onto.Parent, msg, now)
		if err != nil {
			return AppendResult{}, err
		}
		if err := w.repo.UpdateRef(w.ref, commit, onto.Expected); err != nil {
			return AppendResult{}, err
		}
		return AppendResult{Commit: commit, Prev: onto.Parent, Attempts: 1}, nil
	}
	for attempt := 1; attempt <= maxAppendAttempts; attempt++ {
		if err := ctx.Err(); err != nil {
			return AppendResult{}, err
		}
		var prev, commit plumbing.Hash
		// Appenders of one repository take turns from reading the head to
		// moving the ref: racing, a swarm of sessions wrote a commit (three
		// objects) for a head that had moved on about once per four
		// appends. The compare-and-swap still guards against writers that
		// do not take the turn (sync's rebase, the original grite). The
		// ref's file is recycled (UpdateHotRef): freeing the replaced one
		// was most of the turn's time.
		err := w.repo.WithTurn("wal-append", func(t *gitdir.Turn) error {
			var err error
			if prev, err = w.Head(); err != nil {
				return err
			}
			meta := MarshalMeta(Meta{SchemaVersion: 1, ActorID: actor, ChunkHash: hash, PrevWAL: prev})
			if commit, err = writeCommit(w.repo, meta, eventsTree, prev, msg, now); err != nil {
				return err
			}
			return t.UpdateHotRef(w.ref, commit, prev)
		})
		var changed *gitdir.ErrRefChanged
		if errors.As(err, &changed) {
			// Another writer appended first: back off briefly (jittered so
			// racers spread out) and rebuild the commit on the new head.
			time.Sleep(time.Duration(rand.Int64N(int64(200*time.Microsecond) * int64(min(attempt, 20)))))
			continue
		}
		if err != nil {
			return AppendResult{}, err
		}
		return AppendResult{Commit: commit, Prev: prev, Attempts: attempt}, nil
	}
	return AppendResult{}, fmt.Errorf("append to %s: gave up after %d lost races", w.ref, maxAppendAttempts)
}

// writeChunkTree writes the chunk blob and the events/YYYY/MM/DD trees and
// returns the hash of the "events" tree.
func writeChunkTree(repo *gitdir.Repo, chunk []byte, path string) (plumbing.Hash, error) {
	h, err := repo.WriteObject(plumbing.BlobObject, chunk)
	if err != nil {
		return h, err
	}
	// path is events/YYYY/MM/DD/<hash>.bin; build trees from the leaf up.
	parts := splitPath(path)
	name, mode := parts[len(parts)-1], filemode.Regular
	for i := len(parts) - 2; i >= 1; i-- {
		h, err = repo.WriteTree([]gitdir.TreeEntry{{Name: name, Mode: mode, Hash: h}})
		if err != nil {
			return h, err
		}
		name, mode = parts[i], filemode.Dir
	}
	return repo.WriteTree([]gitdir.TreeEntry{{Name: name, Mode: mode, Hash: h}})
}

func splitPath(p string) []string {
	var out []string
	for len(p) > 0 {
		i := bytes.IndexByte([]byte(p), '/')
		if i < 0 {
			out = append(out, p)
			break
		}
		out = append(out, p[:i])
		p = p[i+1:]
	}
	return out
}

func writeCommit(repo *gitdir.Repo, meta []byte, eventsTree, prev plumbing.Hash, msg string, now time.Time) (plumbing.Hash, error) {
	metaHash, err := repo.WriteObject(plumbing.BlobObject, meta)
	if err != nil {
		return metaHash, err
	}
	root, err := repo.WriteTree([]gitdir.TreeEntry{
		{Name: "events", Mode: filemode.Dir, Hash: eventsTree},
		{Name: "meta.json", Mode: filemode.Regular, Hash: metaHash},
	})
	if err != nil {
		return root, err
	}
	var parents []plumbing.Hash
	if !prev.IsZero() {
		parents = []plumbing.Hash{prev}
	}
	return repo.WriteCommit(root, parents, msg, CommitterName, CommitterEmail, now)
}

// ReadOptions control a history walk.
type ReadOptions struct {
	// Stop ends the walk (exclusive) at the first commit for which it
	// returns true; nil walks to the root.
	Stop func(plumbing.Hash) bool
	// Strict validates each commit as foreign data must be (docs/format.md §4):
	// tree shape, chunk_hash, every event ID, prev_wal equal to the parent.
	Strict bool
	// PublicKey, when set with Strict, returns the known key of an actor;
	// events of actors with a known key must carry a valid signature.
	PublicKey func(event.ActorID) ed25519.PublicKey
	// Cache holds objects already in memory (what CopyHistory copied);
	// they are read from it instead of the repository. Its objects must
	// have been checked against their names.
	Cache Cache
}

// Walk visits commits from head back along prev_wal (newest first), calling
// fn for each. A malformed commit stops the walk with an *Error naming it.
func (w *WAL) Walk(ctx context.Context, head plumbing.Hash, opts ReadOptions, fn func(Commit) error) error {
	r := gitdir.NewReader(w.repo)
	r.SetCache(opts.Cache)
	defer r.Close()
	for h := head; !h.IsZero(); {
		if opts.Stop != nil && opts.Stop(h) {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		c, err := w.readCommit(r, h, opts)
		if err != nil {
			return err
		}
		if err := fn(c); err != nil {
			return err
		}
		h = c.Meta.PrevWAL
	}
	return nil
}

// ReadSince returns the commits after since (exclusive; zero = from the
// root) up to head, oldest first.
func (w *WAL) ReadSince(ctx context.Context, head, since plumbing.Hash, opts ReadOptions) ([]Commit, error) {
	stop := opts.Stop
	opts.Stop = func(h plumbing.Hash) bool { return h == since || (stop != nil && stop(h)) }
	var out []Commit
	err := w.Walk(ctx, head, opts, func(c Commit) error { out = append(out, c); return nil })
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, err
}

// Events flattens commits (oldest first) into the original's read order:
// commits oldest first, events inside a chunk reversed (docs/format.md §6).
func Events(commits []Commit) []event.Event {
	n := 0
	for _, c := range commits {
		n += len(c.Events)
	}
	out := make([]event.Event, 0, n)
	for _, c := range commits {
		for i := len(c.Events) - 1; i >= 0; i-- {
			out = append(out, c.Events[i])
		}
	}
	return out
}

// ReadAll returns every event reachable from the current head.
func (w *WAL) ReadAll(ctx context.Context) ([]event.Event, plumbing.Hash, error) {
	head, err := w.Head()
	if err != nil {
		return nil, head, err
	}
	commits, err := w.ReadSince(ctx, head, plumbing.ZeroHash, ReadOptions{})
	return Events(commits), head, err
}

// Reader reads WAL commits one at a time through one object reader (its
// packs mapped once), for walks that are not one line back from a head:
// the change feed walks two histories in step to find where they meet.
type Reader struct {
	w *WAL
	r *gitdir.Reader
}

// NewReader returns a Reader; Close it when done.
func (w *WAL) NewReader() *Reader { return &Reader{w: w, r: gitdir.NewReader(w.repo)} }

// Commit loads and decodes one WAL commit.
func (r *Reader) Commit(h plumbing.Hash) (Commit, error) {
	return r.w.readCommit(r.r, h, ReadOptions{})
}

// Close unmaps what the reader mapped.
func (r *Reader) Close() { r.r.Close() }

// ReadCommit loads and decodes one WAL commit.
func (w *WAL) ReadCommit(h plumbing.Hash, opts ReadOptions) (Commit, error) {
	r := gitdir.NewReader(w.repo)
	defer r.Close()
	return w.readCommit(r, h, opts)
}

func (w *WAL) readCommit(r *gitdir.Reader, h plumbing.Hash, opts ReadOptions) (Commit, error) {
	fail := func(format string, args ...any) (Commit, error) {
		return Commit{}, &Error{Commit: h, Err: fmt.Errorf(format, args...)}
	}
	commit, err := r.Commit(h)
	if err != nil {
		return fail("read commit: %w", err)
	}
	tree, err := r.Tree(commit.TreeHash)
	if err != nil {
		return fail("read tree: %w", err)
	}
	var metaEntry *gitdir.TreeEntry
	var eventsEntry *gitdir.TreeEntry
	for i := range tree {
		e := &tree[i]
		switch {
		case e.Name == "meta.json" && e.Mode.IsFile():
			metaEntry = e
		case e.Name == "events" && e.Mode == filemode.Dir:
			eventsEntry = e
		case opts.Strict:
			return fail("unexpected tree entry %q", e.Name)
		}
	}
	if metaEntry == nil {
		return fail("meta.json missing")
	}
	metaBytes, _, err := r.Read(metaEntry.Hash, plumbing.BlobObject, maxMetaBytes)
	if err != nil {
		return fail("meta.json: %w", err)
	}
	meta, err := ParseMeta(metaBytes)
	if err != nil {
		return fail("%w", err)
	}
	if opts.Strict {
		switch {
		case len(commit.ParentHashes) > 1:
			return fail("merge commits are not WAL commits")
		case meta.PrevWAL.IsZero() != (len(commit.ParentHashes) == 0),
			len(commit.ParentHashes) == 1 && commit.ParentHashes[0] != meta.PrevWAL:
			return fail("prev_wal %s does not match the commit's parent", meta.PrevWAL)
		}
	}
	var chunks []chunkFile
	if eventsEntry != nil {
		sub, err := r.Tree(eventsEntry.Hash)
		if err != nil {
			return fail("read events tree: %w", err)
		}
		if err := collectChunks(r, sub, "events", 0, opts.Strict, &chunks); err != nil {
			return fail("%w", err)
		}
	}
	if opts.Strict && len(chunks) != 1 {
		return fail("expected exactly one chunk, found %d", len(chunks))
	}
	c := Commit{Hash: h, Meta: meta}
	for _, ch := range chunks {
		var evs []event.Event
		if opts.Strict {
			if got := event.ChunkHash(ch.data); got != meta.ChunkHash {
				return fail("chunk %s: chunk_hash mismatch (meta.json says %x, content hashes to %x)", ch.path, meta.ChunkHash, got)
			}
			evs, err = event.VerifyChunk(ch.data)
		} else {
			evs, err = event.DecodeChunk(ch.data)
		}
		if err != nil {
			return fail("chunk %s: %w", ch.path, err)
		}
		if opts.Strict && len(evs) > 0 {
			want := event.ChunkPath(evs[0].TS, meta.ChunkHash)
			if evs[0].TS <= 253402300799999 && ch.path != want {
				return fail("chunk at %s, expected %s", ch.path, want)
			}
		}
		if opts.Strict && opts.PublicKey != nil {
			for i := range evs {
				if pub := opts.PublicKey(evs[i].Actor); pub != nil {
					if err := evs[i].VerifySignature(pub); err != nil {
						return fail("chunk %s: %w", ch.path, err)
					}
				}
			}
		}
		c.Events = append(c.Events, evs...)
	}
	return c, nil
}

type chunkFile struct {
	path string
	data []byte
}

// collectChunks walks a tree in git order collecting *.bin blobs. Depth is
// bounded: a WAL tree is events/YYYY/MM/DD. Strict rejects anything else in
// the tree (a stray file would otherwise travel on with an accepted commit).
func collectChunks(r *gitdir.Reader, t []gitdir.TreeEntry, prefix string, depth int, strict bool, out *[]chunkFile) error {
	if depth > 4 {
		return fmt.Errorf("events tree deeper than YYYY/MM/DD at %s", prefix)
	}
	for _, e := range t {
		p := prefix + "/" + e.Name
		switch {
		case e.Mode == filemode.Dir:
			sub, err := r.Tree(e.Hash)
			if err != nil {
				return fmt.Errorf("read tree %s: %w", p, err)
			}
			if err := collectChunks(r, sub, p, depth+1, strict, out); err != nil {
				return err
			}
		case e.Mode.IsFile() && len(e.Name) > 4 && e.Name[len(e.Name)-4:] == ".bin":
			data, _, err := r.Read(e.Hash, plumbing.BlobObject, event.MaxChunkBytes)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			*out = append(*out, chunkFile{p, data})
		case strict:
			return fmt.Errorf("unexpected tree entry %s", p)
		}
	}
	return nil
}
