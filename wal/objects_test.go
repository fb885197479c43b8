package wal_test

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"grite/event"
	"grite/gitdir"
	"grite/internal/testrepo"
	"grite/wal"
)

// TestReadsPackedAndLooseObjectsAlike reads the same WAL while its objects
// are loose, after git packed them, and with new loose commits on top of the
// pack: loose objects are read directly, packed ones from the mapped packs.
func TestReadsPackedAndLooseObjectsAlike(t *testing.T) {
	r, dir := openRepo(t)
	w := wal.Open(r)
	actor := event.ActorID{9}
	ts := uint64(1700000000000)
	appendN := func(n int) {
		for i := range n {
			var evs []event.Event
			for j := range 3 {
				ts++
				evs = append(evs, newEvent(t, actor, event.IssueID{byte(i)}, ts, event.CommentAdded{Body: "comment " + string(rune('a'+j))}))
			}
			if _, err := w.Append(ctx, actor, evs, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	ids := func() []event.EventID {
		t.Helper()
		events, _, err := w.ReadAll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]event.EventID, len(events))
		for i := range events {
			out[i] = events[i].ID
		}
		return out
	}
	appendN(5)
	loose := ids()
	testrepo.Git(t, dir, "repack", "-a", "-d", "-q")
	testrepo.Git(t, dir, "prune-packed")
	if n := testrepo.Git(t, dir, "count-objects"); n != "0 objects, 0 kilobytes" {
		t.Fatalf("objects still loose after repack: %s", n)
	}
	if packed := ids(); !slices.Equal(packed, loose) {
		t.Fatalf("packed read %d events, loose read %d, or in another order", len(packed), len(loose))
	}
	appendN(2)
	mixed := ids()
	if len(mixed) != len(loose)+6 || !slices.Equal(mixed[:len(loose)], loose) {
		t.Fatalf("mixed read: %d events", len(mixed))
	}
	head, err := w.Head()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.ReadCommit(head, wal.ReadOptions{Strict: true}); err != nil {
		t.Fatalf("strict read of a loose commit over packed history: %v", err)
	}
}

// TestUnreadableLooseObjectIsAWALError damages a loose object file in several
// ways; the walk must report the commit, never panic or return garbage.
func TestUnreadableLooseObjectIsAWALError(t *testing.T) {
	replace := func(b []byte) func([]byte) []byte { return func([]byte) []byte { return b } }
	for name, damage := range map[string]func(orig []byte) []byte{
		"empty":          replace([]byte{}),
		"not zlib":       replace([]byte("this is not a zlib stream")),
		"truncated zlib": replace([]byte{0x78, 0x9c, 0x4b}),
		"wrong type":     replace(zlibBytes(t, "blob 3\x00abc")),
		"bad header":     replace(zlibBytes(t, "commit x\x00")),
		"short content":  replace(zlibBytes(t, "commit 900\x00tree ")),
		"long content":   replace(zlibBytes(t, "commit 4\x00tree 0000")),
		"truncated":      func(orig []byte) []byte { return orig[:len(orig)-6] },
		"bad checksum": func(orig []byte) []byte { // the real commit, Adler-32 trailer damaged
			b := bytes.Clone(orig)
			b[len(b)-1] ^= 0xff
			return b
		},
	} {
		t.Run(name, func(t *testing.T) {
			r, dir := openRepo(t)
			w := wal.Open(r)
			actor := event.ActorID{9}
			res, err := w.Append(ctx, actor, []event.Event{newEvent(t, actor, event.IssueID{1}, 1700000000000, event.IssueCreated{Title: "x"})}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			// Appends write packs; the loose reader still serves git's
			// loose objects, so store a loose copy of the commit, which
			// is read before the packs.
			data := testrepo.GitRaw(t, dir, "cat-file", "commit", res.Commit.String())
			if h, err := r.WriteObject(plumbing.CommitObject, data); err != nil || h != res.Commit {
				t.Fatalf("loose copy: %v, %v", h, err)
			}
			hex := res.Commit.String()
			path := filepath.Join(dir, ".git", "objects", hex[:2], hex[2:])
			orig, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			os.Chmod(path, 0o644)
			if err := os.WriteFile(path, damage(orig), 0o644); err != nil {
				t.Fatal(err)
			}
			_, _, err = w.ReadAll(ctx)
			var werr *wal.Error
			if !errors.As(err, &werr) || werr.Commit != res.Commit {
				t.Fatalf("got %v, want a wal.Error naming %s", err, res.Commit)
			}
		})
	}
}

func zlibBytes(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zlib.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.Bytes()
}

// TestReadsThroughAlternates reads a WAL whose objects live in the
// repositories this one borrows from (git clone --shared): loose and packed,
// through a chain of two alternates files, one with a relative path and a
// comment. An object no directory holds is an error naming it, not a panic.
func TestReadsThroughAlternates(t *testing.T) {
	rA, dirA := openRepo(t)
	wA := wal.Open(rA)
	actor := event.ActorID{7}
	for i := range 4 {
		ev := newEvent(t, actor, event.IssueID{byte(i)}, uint64(1700000000000+i), event.CommentAdded{Body: "borrowed"})
		if _, err := wA.Append(ctx, actor, []event.Event{ev}, time.Now()); err != nil {
			t.Fatal(err)
		}
		if i == 1 { // the first two commits packed, the rest loose
			testrepo.Git(t, dirA, "repack", "-a", "-d", "-q")
			testrepo.Git(t, dirA, "prune-packed")
		}
	}
	want, _, err := wA.ReadAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	head, err := wA.Head()
	if err != nil {
		t.Fatal(err)
	}

	// B borrows from A by an absolute path, C from B by a relative one.
	parent := t.TempDir()
	dirB, dirC := filepath.Join(parent, "b"), filepath.Join(parent, "c")
	testrepo.Git(t, parent, "clone", "-q", "--shared", dirA, dirB)
	testrepo.Git(t, parent, "init", "-q", dirC)
	alt := "# borrowed from b\n../../../b/.git/objects\n"
	if err := os.WriteFile(filepath.Join(dirC, ".git", "objects", "info", "alternates"), []byte(alt), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{dirB, dirC} {
		testrepo.Git(t, dir, "update-ref", "refs/grite/wal", head.String())
		if n := testrepo.Git(t, dir, "count-objects"); n != "0 objects, 0 kilobytes" {
			t.Fatalf("%s holds objects of its own: %s", dir, n)
		}
		r, err := gitdir.Discover(dir)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := wal.Open(r).ReadAll(ctx)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d events, want %d", dir, len(got), len(want))
		}
		for i := range got {
			if got[i].ID != want[i].ID {
				t.Fatalf("%s: event %d is %s, want %s", dir, i, got[i].ID, want[i].ID)
			}
		}
	}

	missing := plumbing.NewHash("00000000000000000000000000000000000000aa")
	rC, err := gitdir.Discover(dirC)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wal.Open(rC).ReadCommit(missing, wal.ReadOptions{}); err == nil || !errors.Is(err, plumbing.ErrObjectNotFound) {
		t.Fatalf("reading a missing commit through alternates: %v", err)
	}
}

// An append writes ObjectsPerCommit new objects (docs/format.md §6).
func TestAppendWritesObjectsPerCommit(t *testing.T) {
	r, dir := openRepo(t)
	w := wal.Open(r)
	actor := event.ActorID{5}
	loose := func() int {
		t.Helper()
		var n int
		if _, err := fmt.Sscanf(testrepo.Git(t, dir, "count-objects"), "%d objects", &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for i := range 3 {
		before := loose()
		e := newEvent(t, actor, event.IssueID{byte(i)}, uint64(1700000000000+i), event.IssueCreated{Title: "counted"})
		if _, err := w.Append(ctx, actor, []event.Event{e}, time.Now()); err != nil {
			t.Fatal(err)
		}
		if got := loose() - before; got != wal.ObjectsPerCommit {
			t.Fatalf("append %d wrote %d objects, want %d", i, got, wal.ObjectsPerCommit)
		}
	}
}
