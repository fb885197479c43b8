package wal_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"grite/event"
	"grite/gitdir"
	"grite/internal/testrepo"
	"grite/wal"
)

// looseFiles lists the loose object files of a repository.
func looseFiles(t *testing.T, dir string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	objects := filepath.Join(dir, ".git", "objects")
	fans, _ := os.ReadDir(objects)
	for _, f := range fans {
		if len(f.Name()) != 2 {
			continue
		}
		files, _ := os.ReadDir(filepath.Join(objects, f.Name()))
		for _, o := range files {
			out[f.Name()+o.Name()] = true
		}
	}
	return out
}

func appendN(t *testing.T, w *wal.WAL, actor event.ActorID, issue byte, n int) {
	t.Helper()
	for i := range n {
		e := newEvent(t, actor, event.IssueID{issue}, uint64(1_700_000_000_000+i), event.CommentAdded{Body: fmt.Sprint(issue, i)})
		if _, err := w.Append(context.Background(), actor, []event.Event{e}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
}

// PackLoose packs every loose object of grite's refs and nothing of the
// user's: the WAL reads back whole, git finds every object (fsck
// --strict), the user's loose objects stay loose, and the count restarts.
func TestPackLoose(t *testing.T) {
	r, dir := openRepo(t)
	w := wal.Open(r)
	userBlob := strings.TrimSpace(string(testrepo.GitStdin(t, dir, []byte("user's own file\n"), "hash-object", "-w", "--stdin")))
	appendN(t, w, event.ActorID{1}, 1, 40)
	if n := r.LooseCount(); n != 40*wal.ObjectsPerCommit {
		t.Fatalf("loose count %d after 40 appends, want %d", n, 40*wal.ObjectsPerCommit)
	}
	before := looseFiles(t, dir)
	res, err := wal.PackLoose(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if res.Objects != 40*wal.ObjectsPerCommit || res.Removed != res.Objects || res.Pack == "" {
		t.Fatalf("packed %+v, want %d objects", res, 40*wal.ObjectsPerCommit)
	}
	after := looseFiles(t, dir)
	if !after[userBlob] || len(after) != len(before)-res.Removed {
		t.Fatalf("loose files %d -> %d (user's blob kept: %v)", len(before), len(after), after[userBlob])
	}
	if r.LooseCount() != 0 {
		t.Fatalf("loose count %d after packing", r.LooseCount())
	}
	events, _, err := w.ReadAll(context.Background())
	if err != nil || len(events) != 40 {
		t.Fatalf("read back %d events: %v", len(events), err)
	}
	testrepo.GitRaw(t, dir, "fsck", "--strict", "--no-dangling")
	// Nothing left to pack: no new pack.
	if res, err := wal.PackLoose(context.Background(), r); err != nil || res.Objects != 0 || res.Pack != "" {
		t.Fatalf("second packing: %+v, %v", res, err)
	}
}

// Packing while other writers append (separate Repo handles, as other
// processes have) loses nothing: every event reads back and git is happy.
func TestPackLooseWithConcurrentAppends(t *testing.T) {
	r, dir := openRepo(t)
	const writers, each = 3, 30
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			rw, err := gitdir.Discover(dir)
			if err != nil {
				t.Error(err)
				return
			}
			appendN(t, wal.Open(rw), event.ActorID{byte(i + 1)}, byte(i+1), each)
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for packing := true; packing; {
		select {
		case <-done:
			packing = false
		default:
		}
		if _, err := wal.PackLoose(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := wal.PackLoose(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	events, _, err := wal.Open(r).ReadAll(context.Background())
	if err != nil || len(events) != writers*each {
		t.Fatalf("read back %d events, want %d: %v", len(events), writers*each, err)
	}
	testrepo.GitRaw(t, dir, "fsck", "--strict", "--no-dangling")
}
