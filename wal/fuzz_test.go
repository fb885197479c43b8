package wal_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"

	"grite/event"
	"grite/gitdir"
	"grite/internal/testrepo"
	"grite/wal"
)

// FuzzParseMeta feeds arbitrary bytes to the meta.json parser (every WAL
// commit read, local or from a remote, goes through it). It must not panic;
// anything over the size cap fails; and whatever it accepts is a
// schema_version 1 meta that MarshalMeta renders as valid JSON parsing back
// to the same meta, byte-stable from then on. Seeds:
// testdata/fuzz/FuzzParseMeta.
func FuzzParseMeta(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := wal.ParseMeta(b)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("error without a message")
			}
			return
		}
		if len(b) > 4096 {
			t.Fatalf("accepted a meta.json of %d bytes", len(b))
		}
		if m.SchemaVersion != 1 {
			t.Fatalf("accepted schema_version %d", m.SchemaVersion)
		}
		out := wal.MarshalMeta(m)
		if !json.Valid(out) {
			t.Fatalf("MarshalMeta wrote invalid JSON: %s", out)
		}
		again, err := wal.ParseMeta(out)
		if err != nil {
			t.Fatalf("re-parsing %s: %v", out, err)
		}
		if again != m {
			t.Fatalf("round trip changed the meta:\n%+v\n%+v", m, again)
		}
		if twice := wal.MarshalMeta(again); !bytes.Equal(twice, out) {
			t.Fatalf("MarshalMeta is not stable:\n%s\n%s", out, twice)
		}
	})
}

// snapshotFixture is a repository holding the events tree of a snapshot:
// events/0000.bin (two events) and events/0001.bin (one event).
type snapshotFixture struct {
	repo       *gitdir.Repo
	eventsTree plumbing.Hash
	hashes     [2]string // chunk_hash of 0000.bin and 0001.bin
	counts     map[string]int
}

func newSnapshotFixture(f *testing.F) *snapshotFixture {
	repo, err := gitdir.Discover(testrepo.New(f))
	if err != nil {
		f.Fatal(err)
	}
	actor := event.ActorID{7}
	var evs []event.Event
	for i := range 3 {
		e := event.Event{IssueID: event.IssueID{1}, Actor: actor, TS: 1_700_000_000_000 + uint64(i), Kind: event.CommentAdded{Body: "snapshot fixture"}}
		if i == 0 {
			e.Kind = event.IssueCreated{Title: "fixture"}
		}
		if err := e.Seal(nil); err != nil {
			f.Fatal(err)
		}
		evs = append(evs, e)
	}
	fx := &snapshotFixture{repo: repo, counts: map[string]int{}}
	var entries []gitdir.TreeEntry
	for i, part := range [][]event.Event{evs[:2], evs[2:]} {
		chunk, err := event.EncodeChunk(part)
		if err != nil {
			f.Fatal(err)
		}
		h, err := repo.WriteObject(plumbing.BlobObject, chunk)
		if err != nil {
			f.Fatal(err)
		}
		sum := event.ChunkHash(chunk)
		fx.hashes[i] = hex.EncodeToString(sum[:])
		fx.counts[fx.hashes[i]] = len(part)
		entries = append(entries, gitdir.TreeEntry{Name: []string{"0000.bin", "0001.bin"}[i], Mode: filemode.Regular, Hash: h})
	}
	if fx.eventsTree, err = repo.WriteTree(entries); err != nil {
		f.Fatal(err)
	}
	return fx
}

// commit stores a snapshot commit whose snapshot.json is meta.
func (fx *snapshotFixture) commit(t *testing.T, meta []byte) plumbing.Hash {
	blob, err := fx.repo.WriteObject(plumbing.BlobObject, meta)
	if err != nil {
		t.Fatal(err)
	}
	root, err := fx.repo.WriteTree([]gitdir.TreeEntry{
		{Name: "events", Mode: filemode.Dir, Hash: fx.eventsTree},
		{Name: "snapshot.json", Mode: filemode.Regular, Hash: blob},
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := fx.repo.WriteCommit(root, nil, "Snapshot: fuzz", wal.CommitterName, wal.CommitterEmail, time.Unix(1_700_000_000, 0))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// FuzzReadSnapshotJSON reads snapshots whose snapshot.json is arbitrary
// bytes over a fixed, valid events tree (snapshot refs travel with sync,
// so the file is foreign input). ReadSnapshot must not panic; it fails
// only with a *wal.Error naming the commit; and it succeeds only when
// every chunk it lists is one of the tree's chunks with its recorded hash,
// returning exactly those chunks' events. In the seeds
// (testdata/fuzz/FuzzReadSnapshotJSON) @CHUNK0@ and @CHUNK1@ stand for the
// two chunks' hashes.
func FuzzReadSnapshotJSON(f *testing.F) {
	fx := newSnapshotFixture(f)
	f.Fuzz(func(t *testing.T, meta []byte) {
		meta = bytes.ReplaceAll(meta, []byte("@CHUNK0@"), []byte(fx.hashes[0]))
		meta = bytes.ReplaceAll(meta, []byte("@CHUNK1@"), []byte(fx.hashes[1]))
		c := fx.commit(t, meta)
		got, events, err := wal.ReadSnapshot(ctx, fx.repo, wal.Snapshot{Ref: wal.SnapshotPrefix + "1", Commit: c})
		if err != nil {
			var we *wal.Error
			if !errors.As(err, &we) || we.Commit != c {
				t.Fatalf("error %T %v, want a *wal.Error naming %s", err, err, c)
			}
			return
		}
		want := 0
		for _, ch := range got.Chunks {
			n, ok := fx.counts[ch.ChunkHash]
			if !ok {
				t.Fatalf("accepted chunk %+v, which is none of the tree's chunks", ch)
			}
			want += n
		}
		if len(events) != want {
			t.Fatalf("%d events from chunks %+v, want %d", len(events), got.Chunks, want)
		}
		for i := range events {
			if err := events[i].VerifyID(); err != nil {
				t.Fatalf("event %d: %v", i, err)
			}
		}
	})
}
