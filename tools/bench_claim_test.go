package tools_test

import (
	"context"
	"testing"
	"time"

	"grite/tools"
)

// BenchmarkClaimNextAndClose is one agent's turn at the queue in process:
// claim the next ready issue of 1,000, then close it. Contention adds to
// this (bench/swarm.sh measures eight sessions at once); this is the cost
// each of them pays alone.
//
//	go test ./tools -run '^$' -bench ClaimNext -benchtime 500x
func BenchmarkClaimNextAndClose(b *testing.B) {
	s, _ := benchSession(b)
	populate(b, s, 1000)
	ctx := context.Background()
	var claim, closing timings
	start := cpuTime()
	for b.Loop() {
		t0 := time.Now()
		c, err := tools.IssueClaim.Call(ctx, s, tools.ClaimInput{Next: true})
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := tools.IssueUpdate.Call(ctx, s, tools.IssueUpdateInput{ID: c.IssueID, State: "closed"}); err != nil {
			b.Fatal(err)
		}
		claim, closing = append(claim, t1.Sub(t0)), append(closing, time.Now().Sub(t1))
	}
	reportCPU(b, start)
	claim.report(b, "claim-")
	closing.report(b, "close-")
}
