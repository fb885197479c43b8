package wal_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"grite/event"
	"grite/gitdir"
	"grite/internal/testrepo"
	"grite/wal"
)

// writeHistory appends n commits of similar events (so that repacking
// finds deltas between them) and returns everything ReadAll sees.
func writeHistory(t *testing.T, w *wal.WAL, n int) []event.Event {
	t.Helper()
	actor := event.ActorID{7}
	for i := 0; i < n; i++ {
		e := newEvent(t, actor, event.IssueID{byte(i % 5)}, uint64(1700000000000+i), event.CommentAdded{Body: strings.Repeat(fmt.Sprintf("progress note %d ", i%3), 20)})
		if _, err := w.Append(ctx, actor, []event.Event{e}, time.Unix(1700000000, 0)); err != nil {
			t.Fatal(err)
		}
	}
	evs, _, err := w.ReadAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// The mapped-pack reader must read packed history exactly as it was
// written loose, whatever delta encoding git chose: offset deltas (git's
// default), reference deltas, and no deltas at all.
func TestReadPackedHistory(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		deltas bool
	}{
		{"offset deltas", []string{"-c", "repack.useDeltaBaseOffset=true", "repack", "-adq", "-f", "--window=50", "--depth=50"}, true},
		{"reference deltas", []string{"-c", "repack.useDeltaBaseOffset=false", "repack", "-adq", "-f", "--window=50", "--depth=50"}, true},
		{"no deltas", []string{"repack", "-adq", "-f", "--window=0"}, false},
		{"index version 1", []string{"-c", "pack.indexVersion=1", "repack", "-adq", "-f", "--window=50", "--depth=50"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := testrepo.New(t)
			r, err := gitdir.Discover(dir)
			if err != nil {
				t.Fatal(err)
			}
			loose := writeHistory(t, wal.Open(r), 60)
			testrepo.Git(t, dir, tc.args...)
			testrepo.Git(t, dir, "prune-packed")
			idx, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "*.idx"))
			chained := 0
			for _, line := range strings.Split(testrepo.Git(t, dir, "verify-pack", "-v", idx[0]), "\n") {
				if len(strings.Fields(line)) == 7 { // an entry stored as a delta names its base
					chained++
				}
			}
			if (chained > 0) != tc.deltas {
				t.Fatalf("%d delta entries in the pack; the case needs deltas=%v", chained, tc.deltas)
			}
			b, err := os.ReadFile(idx[0])
			if err != nil {
				t.Fatal(err)
			}
			if v1 := !bytes.HasPrefix(b, []byte("\xfftOc")); v1 != strings.Contains(tc.name, "version 1") {
				t.Fatalf("index of version 1: %v, in case %q", v1, tc.name)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "??", "*")); len(left) != 0 {
				t.Fatalf("%d objects still loose after repacking", len(left))
			}
			r2, err := gitdir.Discover(dir)
			if err != nil {
				t.Fatal(err)
			}
			var packed []event.Event
			head, _ := wal.Open(r2).Head()
			err = wal.Open(r2).Walk(ctx, head, wal.ReadOptions{Strict: true}, func(c wal.Commit) error {
				packed = append(c.Events, packed...)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(packed, loose) {
				t.Fatalf("packed history differs: %d events, %d written", len(packed), len(loose))
			}
		})
	}
}

// A damaged pack yields an error naming the commit, never a panic or
// different events.
func TestReadDamagedPack(t *testing.T) {
	dir := testrepo.New(t)
	r, err := gitdir.Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	loose := writeHistory(t, wal.Open(r), 20)
	testrepo.Git(t, dir, "repack", "-adq", "-f", "--window=50")
	testrepo.Git(t, dir, "prune-packed")
	packs, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "*.pack"))
	if len(packs) != 1 {
		t.Fatalf("want one pack, got %v", packs)
	}
	orig, err := os.ReadFile(packs[0])
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for pos := 12; pos < len(orig)-20; pos += len(orig) / 97 {
		b := append([]byte(nil), orig...)
		b[pos] ^= 0x5a
		os.Chmod(packs[0], 0o644)
		if err := os.WriteFile(packs[0], b, 0o644); err != nil {
			t.Fatal(err)
		}
		r2, err := gitdir.Discover(dir)
		if err != nil {
			t.Fatal(err)
		}
		evs, _, err := wal.Open(r2).ReadAll(ctx)
		if err != nil {
			failed++
			continue
		}
		if !reflect.DeepEqual(evs, loose) {
			t.Fatalf("byte %d flipped: read different events without an error", pos)
		}
	}
	if failed == 0 {
		t.Fatal("no flipped byte was detected")
	}
}
