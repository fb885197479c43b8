package tools_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"grite/event"
	"grite/internal/testrepo"
	"grite/tools"
)

// BenchmarkChanges100After10k is one page of the change feed as an agent
// reads it: the 100 events written after its cursor, in a repository of
// 10,000 issues, each created by a WAL commit of its own (as 10,000
// `issue create` calls make them). The cursor is taken ("now") after the
// 10,000 issues; then 100 comments are written through tools (100 WAL
// commits, one per write, as 100 agents' calls would make them). Each
// iteration reads the same page: Changes since the cursor, limit 100.
// Target (issue tracker, not asserted here): ≤ 5 ms in process.
//
//	go test ./tools -run '^$' -bench 'Changes100After10k' -benchtime 300x
func BenchmarkChanges100After10k(b *testing.B) { benchmarkChanges100(b, 1, "") }

// BenchmarkChanges100After10kBatched is the same over 10,000 issues
// written 100 to a WAL commit (populate): the feed's walk reads some
// commits below the cursor (feed.meet), and here each holds 100 issues.
func BenchmarkChanges100After10kBatched(b *testing.B) { benchmarkChanges100(b, 100, "") }

// BenchmarkChanges100After10kPacked is BenchmarkChanges100After10k after
// `git repack -a -d`: the same commits read from a pack instead of loose
// object files (a local write leaves its objects loose; a pull packs them).
func BenchmarkChanges100After10kPacked(b *testing.B) { benchmarkChanges100(b, 1, "git") }

// BenchmarkChanges100After10kGC is BenchmarkChanges100After10k after
// grite's own packing (tools.GC), which the CLI and grite-mcp run in the
// background once 128 loose objects have accumulated: what a repository
// in use looks like (at most the last 16 commits loose).
func BenchmarkChanges100After10kGC(b *testing.B) { benchmarkChanges100(b, 1, "grite") }

func benchmarkChanges100(b *testing.B, perCommit int, pack string) {
	ctx := context.Background()
	s, dir := benchSession(b)
	var ids []event.IssueID
	if perCommit == 1 {
		ids = populateEach(b, s, 10000)
	} else {
		ids = populate(b, s, 10000)
	}
	now, err := tools.Changes.Call(ctx, s, tools.ChangesInput{Since: "now"})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 100 {
		id := ids[(i*97)%len(ids)].String()
		if _, err := tools.IssueComment.Call(ctx, s, tools.IssueCommentInput{ID: id, Body: fmt.Sprintf("comment %d: seen again after the sync", i)}); err != nil {
			b.Fatal(err)
		}
	}
	switch pack {
	case "git":
		testrepo.Git(b, dir, "repack", "-a", "-d", "-q")
	case "grite":
		if _, err := tools.GC.Call(ctx, s, tools.GCInput{}); err != nil {
			b.Fatal(err)
		}
	}
	in := tools.ChangesInput{Since: now.NextCursor, Limit: 100}
	var ts timings
	cpu := cpuTime()
	for b.Loop() {
		start := time.Now()
		out, err := tools.Changes.Call(ctx, s, in)
		if err != nil {
			b.Fatal(err)
		}
		ts = append(ts, time.Since(start))
		if len(out.Events) != 100 || out.HasMore {
			b.Fatalf("%d events (more: %v), want 100 and no more", len(out.Events), out.HasMore)
		}
	}
	ts.report(b, "")
	reportCPU(b, cpu)
}

// populateEach appends n issues straight to the WAL, one commit each, and
// brings the view up to date. It returns the issue IDs in creation order.
func populateEach(b *testing.B, s *tools.Session, n int) []event.IssueID {
	b.Helper()
	ctx := context.Background()
	ids := make([]event.IssueID, n)
	ts := uint64(time.Now().Add(-time.Hour).UnixMilli())
	for i := range ids {
		rand.Read(ids[i][:])
		ts++
		e := sealed(b, ids[i], s.Actor.ID, ts, event.IssueCreated{
			Title:  fmt.Sprintf("Issue %d: sync drops events when the remote was rewritten", i),
			Body:   "Steps to reproduce, what was expected and what happened instead.",
			Labels: []string{"bug", fmt.Sprintf("p%d", i%4)},
		})
		if _, err := s.WAL.Append(ctx, s.Actor.ID, []event.Event{e}, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.CatchUp(ctx); err != nil {
		b.Fatal(err)
	}
	return ids
}
