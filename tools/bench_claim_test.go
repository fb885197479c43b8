package tools_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"grite/actor"
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
		claim, closing = append(claim, t1.Sub(t0)), append(closing, time.Since(t1))
	}
	reportCPU(b, start)
	claim.report(b, "claim-")
	closing.report(b, "close-")
}

// BenchmarkClaimSwarm8 is bench/swarm's claim drain in one process: eight
// sessions, one actor each, drain 100 ready issues at once with claim next
// + close, each catching its view up before every call as grite-mcp does.
// One iteration is one whole drain.
//
//	go test ./tools -run '^$' -bench ClaimSwarm8 -benchtime 3x
func BenchmarkClaimSwarm8(b *testing.B) {
	const sessions, issues = 8, 100
	ctx := context.Background()
	var claims timings
	for b.Loop() {
		b.StopTimer()
		first, dir := benchSession(b)
		populate(b, first, issues)
		ss := make([]*tools.Session, sessions)
		for i := range ss {
			bare, err := tools.OpenBare(dir, time.Now)
			if err != nil {
				b.Fatal(err)
			}
			info, err := tools.ActorInit.Call(ctx, bare, tools.ActorInitInput{Label: fmt.Sprintf("swarm%d", i)})
			if err != nil {
				b.Fatal(err)
			}
			if ss[i], err = tools.Open(ctx, tools.OpenOptions{Dir: dir, Selection: actor.Selection{ActorID: info.ActorID}}); err != nil {
				b.Fatal(err)
			}
			defer ss[i].Close()
			if err := ss[i].CatchUp(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, s := range ss {
			wg.Go(func() {
				for {
					t0 := time.Now()
					if err := s.CatchUp(ctx); err != nil {
						b.Error(err)
						return
					}
					c, err := tools.IssueClaim.Call(ctx, s, tools.ClaimInput{Next: true})
					d := time.Since(t0)
					if err != nil && tools.AsError(err).Code == tools.CodeNotFound {
						return
					}
					if err != nil {
						b.Error(err)
						return
					}
					mu.Lock()
					claims = append(claims, d)
					mu.Unlock()
					if err := s.CatchUp(ctx); err != nil {
						b.Error(err)
						return
					}
					if _, err := tools.IssueUpdate.Call(ctx, s, tools.IssueUpdateInput{ID: c.IssueID, State: "closed"}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	claims.report(b, "claim-")
}
