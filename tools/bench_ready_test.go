package tools_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"grite/event"
	"grite/tools"
)

// populateDeps adds n dependency edges between earlier and later issues
// (half blocks, half depends_on; always from a later to an earlier issue in
// wait order, so the graph stays acyclic) and closes every tenth issue.
func populateDeps(b *testing.B, s *tools.Session, ids []event.IssueID, n int) {
	b.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	ts := uint64(time.Now().Add(-30 * time.Minute).UnixMilli())
	var batch []event.Event
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if _, err := s.WAL.Append(ctx, s.Actor.ID, batch, time.Now()); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	for i := 0; i < n; i++ {
		a, c := rng.IntN(len(ids)), rng.IntN(len(ids))
		if a == c {
			continue
		}
		lo, hi := min(a, c), max(a, c)
		ts++
		if i%2 == 0 { // hi waits for lo
			batch = append(batch, sealed(b, ids[hi], s.Actor.ID, ts, event.DependencyAdded{Target: ids[lo], Type: event.DepDependsOn}))
		} else {
			batch = append(batch, sealed(b, ids[lo], s.Actor.ID, ts, event.DependencyAdded{Target: ids[hi], Type: event.DepBlocks}))
		}
		if len(batch) == 500 {
			flush()
		}
	}
	for i := 0; i < len(ids); i += 10 {
		ts++
		batch = append(batch, sealed(b, ids[i], s.Actor.ID, ts, event.StateChanged{State: event.StateClosed}))
		if len(batch) == 500 {
			flush()
		}
	}
	flush()
	if err := s.CatchUp(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkIssueReady10k is the ready queue over 10,000 issues with 10,000
// dependency edges (target ≤ 10 ms in process), for the whole queue and for
// the first 50 (what agents and the MCP tool ask for).
func BenchmarkIssueReady10k(b *testing.B) {
	s, _ := benchSession(b)
	ids := populate(b, s, 10000)
	populateDeps(b, s, ids, 10000)
	ctx := context.Background()
	for _, limit := range []int{0, 50} {
		name := "all"
		if limit > 0 {
			name = "first50"
		}
		b.Run(name, func(b *testing.B) {
			var t timings
			n := 0
			for b.Loop() {
				start := time.Now()
				out, err := tools.IssueReady.Call(ctx, s, tools.IssueReadyInput{Limit: limit})
				t = append(t, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				n = len(out.Issues)
			}
			b.ReportMetric(float64(n), "ready-issues")
			t.report(b, "")
		})
	}
}
