package tools_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"

	"grite/actor"
	"grite/event"
	"grite/internal/testrepo"
	"grite/tools"
)

// In-process costs of the operations over a real repository and SQLite view
// in a temporary directory. Targets (issue tracker, not asserted here):
// create ≤ 1 ms median, rebuild of 100k events ≤ 2 s, creates stay flat
// (median of the last 100 of 10,000 ≤ 1.2 × the first 100).
//
//	go test ./tools -run '^$' -bench . -benchtime 2000x
//
// The 10k/100k setups take seconds (they write real git objects); select
// single benchmarks with -bench when iterating.

// benchSession opens a session on a fresh repository as a new local actor.
func benchSession(b *testing.B) (*tools.Session, string) {
	b.Helper()
	dir := testrepo.NewForBench(b)
	s, err := tools.Open(context.Background(), tools.OpenOptions{Dir: dir, Selection: actor.Selection{}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s, dir
}

// populate appends n issues straight to the WAL (100 per commit: the shape
// does not matter for the view) and brings the view up to date. Every issue
// has two labels, every third an assignee. It returns the issue IDs in
// creation order.
func populate(b *testing.B, s *tools.Session, n int) []event.IssueID {
	b.Helper()
	ctx := context.Background()
	ids := make([]event.IssueID, n)
	ts := uint64(time.Now().Add(-time.Hour).UnixMilli())
	batch := make([]event.Event, 0, 200)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if _, err := s.WAL.Append(ctx, s.Actor.ID, batch, time.Now()); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	for i := range ids {
		rand.Read(ids[i][:])
		ts++
		batch = append(batch, sealed(b, ids[i], s.Actor.ID, ts, event.IssueCreated{
			Title:  fmt.Sprintf("Issue %d: sync drops events when the remote was rewritten", i),
			Body:   "Steps to reproduce, what was expected and what happened instead.",
			Labels: []string{"bug", fmt.Sprintf("p%d", i%4)},
		}))
		if i%3 == 0 {
			batch = append(batch, sealed(b, ids[i], s.Actor.ID, ts, event.AssigneeAdded{User: "alice"}))
		}
		if (i+1)%100 == 0 {
			flush()
		}
	}
	flush()
	if err := s.CatchUp(ctx); err != nil {
		b.Fatal(err)
	}
	return ids
}

func sealed(b *testing.B, issue event.IssueID, a event.ActorID, ts uint64, k event.Kind) event.Event {
	e := event.Event{IssueID: issue, Actor: a, TS: ts, Kind: k}
	if err := e.Seal(nil); err != nil {
		b.Fatal(err)
	}
	return e
}

// timings collects one duration per iteration and reports the median and
// p90 in milliseconds next to Go's mean ns/op.
type timings []time.Duration

func (t timings) report(b *testing.B, prefix string) {
	if len(t) == 0 {
		return
	}
	s := slices.Clone(t)
	slices.Sort(s)
	b.ReportMetric(ms(s[len(s)/2]), prefix+"median-ms")
	b.ReportMetric(ms(s[len(s)*9/10]), prefix+"p90-ms")
}

// cpuTime is the process's user+system CPU time. On a shared machine it
// moves less than wall time, so cpu-ms/op helps tell slow code from a busy
// neighbour (it includes the GC's and SQLite's threads).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports CPU ms per iteration since start (call after b.Loop).
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(ms(cpuTime()-start)/float64(b.N), "cpu-ms/op")
}

func (t timings) median() time.Duration {
	s := slices.Clone(t)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkIssueCreate is one `issue create` after the session is open: a
// one-event WAL commit (blob, trees, commit, ref CAS) and the view update.
func BenchmarkIssueCreate(b *testing.B) { benchmarkIssueCreate(b, 0) }

// BenchmarkIssueCreateAfter1k is BenchmarkIssueCreate once the repository
// has history (1,000 issues created first, one append each): the steady
// state, where the object store's directories have seen a thousand
// appends.
func BenchmarkIssueCreateAfter1k(b *testing.B) { benchmarkIssueCreate(b, 1000) }

func benchmarkIssueCreate(b *testing.B, before int) {
	ctx := context.Background()
	s, _ := benchSession(b)
	for i := range before {
		if _, err := tools.IssueCreate.Call(ctx, s, tools.IssueCreateInput{Title: fmt.Sprintf("issue %d", i), Body: "body", Labels: []string{"bench"}}); err != nil {
			b.Fatal(err)
		}
	}
	in := tools.IssueCreateInput{Title: "Sync drops events", Body: "Steps to reproduce.", Labels: []string{"bug", "p1"}}
	var ts timings
	cpu := cpuTime()
	for b.Loop() {
		start := time.Now()
		if _, err := tools.IssueCreate.Call(ctx, s, in); err != nil {
			b.Fatal(err)
		}
		ts = append(ts, time.Since(start))
	}
	ts.report(b, "")
	reportCPU(b, cpu)
}

func benchmarkIssueList(b *testing.B, n int) {
	ctx := context.Background()
	s, _ := benchSession(b)
	populate(b, s, n)
	var ts timings
	cpu := cpuTime()
	for b.Loop() {
		start := time.Now()
		out, err := tools.IssueList.Call(ctx, s, tools.IssueListInput{})
		if err != nil {
			b.Fatal(err)
		}
		ts = append(ts, time.Since(start))
		if len(out.Issues) != n {
			b.Fatalf("listed %d issues, want %d", len(out.Issues), n)
		}
	}
	ts.report(b, "")
	reportCPU(b, cpu)
}

func BenchmarkIssueList1k(b *testing.B)  { benchmarkIssueList(b, 1000) }
func BenchmarkIssueList10k(b *testing.B) { benchmarkIssueList(b, 10000) }

// BenchmarkIssueShow shows an issue with 20 comments among 1,000 issues.
func BenchmarkIssueShow(b *testing.B) {
	ctx := context.Background()
	s, _ := benchSession(b)
	ids := populate(b, s, 1000)
	target := ids[len(ids)/2].String()
	for i := range 20 {
		if _, err := tools.IssueComment.Call(ctx, s, tools.IssueCommentInput{ID: target, Body: fmt.Sprintf("comment %d with some words", i)}); err != nil {
			b.Fatal(err)
		}
	}
	var ts timings
	cpu := cpuTime()
	for b.Loop() {
		start := time.Now()
		out, err := tools.IssueShow.Call(ctx, s, tools.IssueShowInput{ID: target[:8]})
		if err != nil {
			b.Fatal(err)
		}
		ts = append(ts, time.Since(start))
		if len(out.Issue.Comments) != 20 {
			b.Fatalf("%d comments", len(out.Issue.Comments))
		}
	}
	ts.report(b, "")
	reportCPU(b, cpu)
}

// BenchmarkIssueComment comments round-robin on 1,000 issues (so no single
// issue grows without bound).
func BenchmarkIssueComment(b *testing.B) {
	ctx := context.Background()
	s, _ := benchSession(b)
	ids := populate(b, s, 1000)
	var ts timings
	i := 0
	cpu := cpuTime()
	for b.Loop() {
		id := ids[i%len(ids)].String()
		i++
		start := time.Now()
		if _, err := tools.IssueComment.Call(ctx, s, tools.IssueCommentInput{ID: id, Body: "looks like the same bug"}); err != nil {
			b.Fatal(err)
		}
		ts = append(ts, time.Since(start))
	}
	ts.report(b, "")
	reportCPU(b, cpu)
}

// BenchmarkRebuild100k rebuilds the view from a WAL of 100,000 events written
// as 10,000 appends of 10 events (one issue each: a creation and nine edits).
func BenchmarkRebuild100k(b *testing.B) {
	if testing.Short() {
		b.Skip("writes 10,000 WAL commits")
	}
	ctx := context.Background()
	s, _ := benchSession(b)
	const appends, perAppend = 10000, 10
	ts := uint64(time.Now().Add(-24 * time.Hour).UnixMilli())
	body := "A comment long enough to look like one: the sync dropped two events after the remote was rewritten."
	for i := range appends {
		var id event.IssueID
		rand.Read(id[:])
		evs := make([]event.Event, 0, perAppend)
		ts++
		evs = append(evs, sealed(b, id, s.Actor.ID, ts, event.IssueCreated{Title: fmt.Sprintf("Issue %d", i), Body: body, Labels: []string{"bug"}}))
		for j := 1; j < perAppend; j++ {
			var k event.Kind
			switch j % 5 {
			case 0:
				k = event.LabelAdded{Label: fmt.Sprintf("p%d", j)}
			case 1:
				k = event.AssigneeAdded{User: "alice"}
			case 2:
				k = event.StateChanged{State: event.StateClosed}
			default:
				k = event.CommentAdded{Body: body}
			}
			evs = append(evs, sealed(b, id, s.Actor.ID, ts+uint64(j), k))
		}
		if _, err := s.WAL.Append(ctx, s.Actor.ID, evs, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	var tm timings
	cpu := cpuTime()
	for b.Loop() {
		start := time.Now()
		out, err := tools.Rebuild.Call(ctx, s, tools.RebuildInput{})
		if err != nil {
			b.Fatal(err)
		}
		tm = append(tm, time.Since(start))
		if out.EventCount != appends*perAppend {
			b.Fatalf("rebuilt %d events", out.EventCount)
		}
	}
	tm.report(b, "")
	reportCPU(b, cpu)
}

// BenchmarkIssueCreateFlatness makes 10,000 issues one create at a time and
// compares the median create of the last 100 with that of the first 100: the
// WAL and the view must not make later appends slower (target ratio ≤ 1.2).
func BenchmarkIssueCreateFlatness(b *testing.B) {
	if testing.Short() {
		b.Skip("makes 10,000 issues")
	}
	const n, window = 10000, 100
	ctx := context.Background()
	in := tools.IssueCreateInput{Title: "Sync drops events", Body: "Steps to reproduce.", Labels: []string{"bug"}}
	for b.Loop() {
		b.StopTimer()
		s, _ := benchSession(b)
		b.StartTimer()
		ts := make(timings, 0, n)
		for range n {
			start := time.Now()
			if _, err := tools.IssueCreate.Call(ctx, s, in); err != nil {
				b.Fatal(err)
			}
			ts = append(ts, time.Since(start))
		}
		first, last := ts[:window].median(), ts[n-window:].median()
		b.ReportMetric(ms(first), "first100-median-ms")
		b.ReportMetric(ms(last), "last100-median-ms")
		b.ReportMetric(float64(last)/float64(first), "last/first")
		ts.report(b, "all-")
	}
}

// BenchmarkOpenShowClose is the in-process part of one `grite issue show`
// process: select the actor, open the view, check it against the WAL head,
// show an issue with 20 comments, close. Compared with the whole-process
// time (bench/cli.sh) it separates grite's work from process start.
func BenchmarkOpenShowClose(b *testing.B) {
	ctx := context.Background()
	s, dir := benchSession(b)
	ids := populate(b, s, 1000)
	target := ids[len(ids)/2].String()
	for i := range 20 {
		if _, err := tools.IssueComment.Call(ctx, s, tools.IssueCommentInput{ID: target, Body: fmt.Sprintf("comment %d", i)}); err != nil {
			b.Fatal(err)
		}
	}
	var ts timings
	cpu := cpuTime()
	for b.Loop() {
		start := time.Now()
		s, err := tools.Open(ctx, tools.OpenOptions{Dir: dir, Selection: actor.Selection{}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tools.IssueShow.Call(ctx, s, tools.IssueShowInput{ID: target[:8]}); err != nil {
			b.Fatal(err)
		}
		s.Close()
		ts = append(ts, time.Since(start))
	}
	ts.report(b, "")
	reportCPU(b, cpu)
}
