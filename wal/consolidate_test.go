package wal_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"grite/event"
	"grite/wal"
)

// packs lists the pack names (without extension) of a repository.
func packs(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "*.idx"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range m {
		m[i] = strings.TrimSuffix(filepath.Base(m[i]), ".idx")
	}
	return m
}

func looseCount(t *testing.T, dir string) int {
	t.Helper()
	for _, l := range strings.Split(git(t, dir, "count-objects", "-v"), "\n") {
		if n, ok := strings.CutPrefix(l, "count: "); ok {
			c, err := strconv.Atoi(n)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
	}
	t.Fatal("git count-objects printed no count")
	return 0
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestAppendsKeepFewPacks: every append writes one pack, and appends
// consolidate the small ones, so the count stays bounded while history
// grows; git reads the result (fsck, every commit's objects) and so does
// the WAL, with all events in order.
func TestAppendsKeepFewPacks(t *testing.T) {
	r, dir := openRepo(t)
	w := wal.Open(r)
	actor := event.ActorID{7}
	const n = 120
	looseBefore := looseCount(t, dir)
	most := 0
	for i := 0; i < n; i++ {
		e := newEvent(t, actor, event.IssueID{byte(i + 1)}, 1700000000000+uint64(i), event.IssueCreated{Title: "t"})
		if _, err := w.Append(ctx, actor, []event.Event{e}, time.Now()); err != nil {
			t.Fatal(err)
		}
		most = max(most, len(packs(t, dir)))
	}
	if most > 17 { // packLimit, plus the append that tips it over
		t.Fatalf("up to %d packs during %d appends", most, n)
	}
	if got := looseCount(t, dir); got != looseBefore {
		t.Fatalf("appends wrote %d loose objects", got-looseBefore)
	}
	if counts := git(t, dir, "count-objects", "-v"); !strings.Contains(counts, "\ngarbage: 0\n") {
		t.Fatalf("git sees garbage in the objects directory:\n%s", counts)
	}
	git(t, dir, "fsck", "--full", "--strict", "--no-dangling")
	if got := strings.Count(git(t, dir, "rev-list", "--objects", wal.Ref), "\n"); got != n*8 { // FORMAT.md §6: eight objects per commit
		t.Fatalf("rev-list --objects lists %d objects", got)
	}
	evs, _, err := w.ReadAll(ctx)
	if err != nil || len(evs) != n {
		t.Fatalf("read back %d events: %v", len(evs), err)
	}
}

// TestConsolidationLeavesGitsPacksAlone: packs with deltas (git's, of the
// user's history) and packs with a .keep file are never merged or removed.
func TestConsolidationLeavesGitsPacksAlone(t *testing.T) {
	r, dir := openRepo(t)
	// Some history git packs with deltas: versions of one growing file.
	var body strings.Builder
	for i := 0; i < 30; i++ {
		body.WriteString(strings.Repeat("line of text that repeats\n", 20))
		if err := os.WriteFile(filepath.Join(dir, "f.txt"), []byte(body.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		git(t, dir, "add", "f.txt")
		git(t, dir, "commit", "-q", "-m", "v")
	}
	git(t, dir, "repack", "-adq")
	deltified := packs(t, dir)
	if len(deltified) != 1 || !strings.Contains(git(t, dir, "verify-pack", "-v", filepath.Join(dir, ".git", "objects", "pack", deltified[0]+".idx")), "chain length") {
		t.Fatalf("setup: want one pack with deltas, have %v", deltified)
	}
	w := wal.Open(r)
	actor := event.ActorID{8}
	appendOne := func(i int) {
		e := newEvent(t, actor, event.IssueID{byte(i + 1)}, 1700000000000+uint64(i), event.IssueCreated{Title: "t"})
		if _, err := w.Append(ctx, actor, []event.Event{e}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	appendOne(0)
	kept := packs(t, dir)[0]
	if kept == deltified[0] {
		kept = packs(t, dir)[1]
	}
	if err := os.WriteFile(filepath.Join(dir, ".git", "objects", "pack", kept+".keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 60; i++ {
		appendOne(i)
	}
	have := map[string]bool{}
	for _, p := range packs(t, dir) {
		have[p] = true
	}
	if !have[deltified[0]] || !have[kept] {
		t.Fatalf("consolidation removed git's pack (%v) or the kept one (%v): %v", have[deltified[0]], have[kept], have)
	}
	if len(have) > 10 {
		t.Fatalf("%d packs after 60 appends", len(have))
	}
	git(t, dir, "fsck", "--full", "--strict", "--no-dangling")
}

// TestConsolidationWaitsForGit: while git's gc runs (gc.pid) or a
// multi-pack index names the packs, nothing is merged.
func TestConsolidationWaitsForGit(t *testing.T) {
	for _, name := range []string{"gc.pid", "objects/pack/multi-pack-index"} {
		t.Run(name, func(t *testing.T) {
			r, dir := openRepo(t)
			w := wal.Open(r)
			actor := event.ActorID{9}
			for i := 0; i < 20; i++ {
				if i == 1 {
					if err := os.WriteFile(filepath.Join(dir, ".git", name), []byte("x"), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				e := newEvent(t, actor, event.IssueID{byte(i + 1)}, 1700000000000+uint64(i), event.IssueCreated{Title: "t"})
				if _, err := w.Append(ctx, actor, []event.Event{e}, time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			if got := len(packs(t, dir)); got != 20 {
				t.Fatalf("%d packs, want the 20 appends' own", got)
			}
		})
	}
}
