package wal_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"

	"grite/event"
	"grite/gitdir"
	"grite/wal"
)

// TestStrictReadRejectsAnythingBesideTheChunk: a WAL commit whose events
// tree holds, beside its one valid chunk, another file (here next to the
// chunk in events/YYYY/MM/DD) is refused by a strict read, which foreign
// history gets, with a *wal.Error naming the commit; a lenient local read
// still returns the chunk's events.
func TestStrictReadRejectsAnythingBesideTheChunk(t *testing.T) {
	r, _ := openRepo(t)
	actor := event.ActorID{9}
	e := newEvent(t, actor, event.IssueID{4}, 1700000000000, event.IssueCreated{Title: "one chunk"})
	chunk, err := event.EncodeChunk([]event.Event{e})
	if err != nil {
		t.Fatal(err)
	}
	sum := event.ChunkHash(chunk)
	parts := strings.Split(event.ChunkPath(e.TS, sum), "/") // events YYYY MM DD <hash>.bin
	blob := mustWrite(t, r, plumbing.BlobObject, chunk)
	stray := mustWrite(t, r, plumbing.BlobObject, []byte("smuggled"))
	tree, err := r.WriteTree([]gitdir.TreeEntry{
		{Name: parts[4], Mode: filemode.Regular, Hash: blob},
		{Name: "notes.txt", Mode: filemode.Regular, Hash: stray},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 3; i >= 1; i-- {
		if tree, err = r.WriteTree([]gitdir.TreeEntry{{Name: parts[i], Mode: filemode.Dir, Hash: tree}}); err != nil {
			t.Fatal(err)
		}
	}
	meta := mustWrite(t, r, plumbing.BlobObject, wal.MarshalMeta(wal.Meta{SchemaVersion: 1, ActorID: actor, ChunkHash: sum}))
	root, err := r.WriteTree([]gitdir.TreeEntry{
		{Name: "events", Mode: filemode.Dir, Hash: tree},
		{Name: "meta.json", Mode: filemode.Regular, Hash: meta},
	})
	if err != nil {
		t.Fatal(err)
	}
	commit, err := r.WriteCommit(root, nil, "WAL: 1 events from 09000000", wal.CommitterName, wal.CommitterEmail, time.Now())
	if err != nil {
		t.Fatal(err)
	}

	w := wal.Open(r)
	_, err = w.ReadCommit(commit, wal.ReadOptions{Strict: true})
	var werr *wal.Error
	if !errors.As(err, &werr) || werr.Commit != commit || !strings.Contains(err.Error(), "notes.txt") {
		t.Fatalf("strict read: %v, want a *wal.Error naming %s and notes.txt", err, commit)
	}
	c, err := w.ReadCommit(commit, wal.ReadOptions{})
	if err != nil || len(c.Events) != 1 || c.Events[0].ID != e.ID {
		t.Fatalf("lenient read: %+v, %v", c.Events, err)
	}
}

func mustWrite(t *testing.T, r *gitdir.Repo, typ plumbing.ObjectType, data []byte) plumbing.Hash {
	t.Helper()
	h, err := r.WriteObject(typ, data)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
