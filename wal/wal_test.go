package wal_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"grite/event"
	"grite/gitdir"
	"grite/internal/testrepo"
	"grite/wal"
)

var ctx = context.Background()

func openRepo(t *testing.T) (*gitdir.Repo, string) {
	t.Helper()
	dir := testrepo.New(t)
	r, err := gitdir.Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r, dir
}

func newEvent(t testing.TB, actor event.ActorID, issue event.IssueID, ts uint64, k event.Kind) event.Event {
	t.Helper()
	e := event.Event{IssueID: issue, Actor: actor, TS: ts, Kind: k}
	if err := e.Seal(nil); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestMetaJSONMatchesVector(t *testing.T) {
	var a event.ActorID
	for i := range a {
		a[i] = byte(0x10 + i)
	}
	var h [32]byte
	copy(h[:], mustHex("762674a2ca507121c33ab91f1b674fe02f13665681c164bb6044fbecd881d66d"))
	want := "{\n  \"schema_version\": 1,\n  \"actor_id\": \"101112131415161718191a1b1c1d1e1f\",\n  \"chunk_hash\": \"762674a2ca507121c33ab91f1b674fe02f13665681c164bb6044fbecd881d66d\",\n  \"prev_wal\": null\n}"
	if got := string(wal.MarshalMeta(wal.Meta{SchemaVersion: 1, ActorID: a, ChunkHash: h})); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	m, err := wal.ParseMeta([]byte(want))
	if err != nil || m.ActorID != a || m.ChunkHash != h || !m.PrevWAL.IsZero() {
		t.Fatalf("parse: %+v %v", m, err)
	}
	prev := plumbing.NewHash("0123456789abcdef0123456789abcdef01234567")
	withPrev := string(wal.MarshalMeta(wal.Meta{SchemaVersion: 1, ActorID: a, ChunkHash: h, PrevWAL: prev}))
	if !strings.HasSuffix(withPrev, "\"prev_wal\": \"0123456789abcdef0123456789abcdef01234567\"\n}") {
		t.Fatalf("prev not rendered: %s", withPrev)
	}
}

func mustHex(s string) []byte {
	b := make([]byte, len(s)/2)
	fmt.Sscanf(s, "%x", &b)
	return b
}

func TestAppendAndReadBack(t *testing.T) {
	r, dir := openRepo(t)
	w := wal.Open(r)
	actor := event.ActorID{1}
	issue := event.IssueID{2}
	now := time.UnixMilli(1700000000000)
	e1 := newEvent(t, actor, issue, 1700000000000, event.IssueCreated{Title: "t", Labels: []string{"b", "a"}})
	e2 := newEvent(t, actor, issue, 1700000001000, event.CommentAdded{Body: "c1"})
	e3 := newEvent(t, actor, issue, 1700000002000, event.CommentAdded{Body: "c2"})
	r1, err := w.Append(ctx, actor, []event.Event{e1}, now)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := w.Append(ctx, actor, []event.Event{e2, e3}, now)
	if err != nil {
		t.Fatal(err)
	}
	if r2.Prev != r1.Commit {
		t.Fatalf("second commit's prev %s want %s", r2.Prev, r1.Commit)
	}
	all, head, err := w.ReadAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if head != r2.Commit {
		t.Fatalf("head %s want %s", head, r2.Commit)
	}
	// Original order: commits oldest first, events in a chunk reversed.
	wantOrder := []event.EventID{e1.ID, e3.ID, e2.ID}
	if len(all) != 3 {
		t.Fatalf("read %d events", len(all))
	}
	for i, id := range wantOrder {
		if all[i].ID != id {
			t.Fatalf("event %d is %s want %s", i, all[i].ID, id)
		}
	}
	// Strict read (as for foreign data) accepts what we write.
	if _, err := w.ReadSince(ctx, head, plumbing.ZeroHash, wal.ReadOptions{Strict: true}); err != nil {
		t.Fatal(err)
	}
	// Incremental read since the first commit.
	since, err := w.ReadSince(ctx, head, r1.Commit, wal.ReadOptions{})
	if err != nil || len(since) != 1 || since[0].Hash != r2.Commit {
		t.Fatalf("since: %v %v", since, err)
	}
	testrepo.Git(t, dir, "fsck", "--strict", "--no-dangling")
	if msg := testrepo.Git(t, dir, "log", "-1", "--format=%an <%ae>|%B", wal.Ref); msg != "grite <grit@local>|WAL: 2 events from 01000000" {
		t.Fatalf("commit identity/message: %q", msg)
	}
}

func TestStrictReadRejectsTamperedChunk(t *testing.T) {
	r, _ := openRepo(t)
	w := wal.Open(r)
	actor := event.ActorID{1}
	e := newEvent(t, actor, event.IssueID{2}, 1700000000000, event.CommentAdded{Body: "x"})
	e.Kind = event.CommentAdded{Body: "forged"} // ID no longer matches content
	res, err := w.Append(ctx, actor, []event.Event{e}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.ReadSince(ctx, res.Commit, plumbing.ZeroHash, wal.ReadOptions{Strict: true})
	var werr *wal.Error
	if !errors.As(err, &werr) || werr.Commit != res.Commit || !errors.Is(err, event.ErrIDMismatch) {
		t.Fatalf("got %v, want a wal.Error naming %s with ErrIDMismatch", err, res.Commit)
	}
}

func TestStrictReadChecksKnownSignatures(t *testing.T) {
	r, _ := openRepo(t)
	w := wal.Open(r)
	pub, priv, _ := ed25519.GenerateKey(nil)
	otherPub, _, _ := ed25519.GenerateKey(nil)
	actor := event.ActorID{7}
	e := event.Event{IssueID: event.IssueID{3}, Actor: actor, TS: 1700000000000, Kind: event.CommentAdded{Body: "signed"}}
	if err := e.Seal(priv); err != nil {
		t.Fatal(err)
	}
	res, err := w.Append(ctx, actor, []event.Event{e}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keys := func(k ed25519.PublicKey) wal.ReadOptions {
		return wal.ReadOptions{Strict: true, PublicKey: func(a event.ActorID) ed25519.PublicKey {
			if a == actor {
				return k
			}
			return nil
		}}
	}
	if _, err := w.ReadSince(ctx, res.Commit, plumbing.ZeroHash, keys(pub)); err != nil {
		t.Fatalf("good signature rejected: %v", err)
	}
	if _, err := w.ReadSince(ctx, res.Commit, plumbing.ZeroHash, keys(otherPub)); !errors.Is(err, event.ErrBadSignature) {
		t.Fatalf("forged signature accepted: %v", err)
	}
}

func TestConcurrentAppendsAllLand(t *testing.T) {
	r, dir := openRepo(t)
	const writers, each = 6, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each goroutine opens its own handle, as separate processes do.
			rr, err := gitdir.Discover(dir)
			if err != nil {
				errs <- err
				return
			}
			w := wal.Open(rr)
			actor := event.ActorID{byte(g + 1)}
			for i := range each {
				e := newEvent(t, actor, event.IssueID{byte(g), byte(i)}, uint64(1700000000000+i), event.IssueCreated{Title: "x"})
				if _, err := w.Append(ctx, actor, []event.Event{e}, time.Now()); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all, _, err := wal.Open(r).ReadAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != writers*each {
		t.Fatalf("%d events in WAL, want %d", len(all), writers*each)
	}
	if n := testrepo.Git(t, dir, "rev-list", "--count", "--merges", wal.Ref); n != "0" {
		t.Fatalf("WAL history has %s merges", n)
	}
}
