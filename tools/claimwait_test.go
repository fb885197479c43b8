package tools_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"grite/tools"
)

// Waiting claimers take issues as they become ready, each issue once; a
// wait with nothing arriving ends in not_found.
func TestClaimNextWaitsForWork(t *testing.T) {
	r := newCoordRepo(t)
	const waiters = 3
	var agents []*coordAgent
	for _, l := range []string{"w1", "w2", "w3"} {
		agents = append(agents, r.agent(l))
	}
	maker := r.agent("maker")
	got := make(chan string, waiters)
	var wg sync.WaitGroup
	for _, a := range agents {
		wg.Go(func() {
			// Each waiter has a session of its own, as separate agents do.
			out, err := tools.IssueClaim.Call(context.Background(), a.s, tools.ClaimInput{Next: true, Wait: time.Minute})
			if err != nil {
				t.Error(err)
				got <- ""
				return
			}
			got <- out.IssueID
		})
	}
	made := map[string]bool{}
	for range waiters {
		made[coordMust(maker, tools.IssueCreate, tools.IssueCreateInput{Title: "new work"}).IssueID] = true
	}
	wg.Wait()
	close(got)
	claimed := map[string]bool{}
	for id := range got {
		if !made[id] || claimed[id] {
			t.Fatalf("claimed %q: not one of the new issues, or twice", id)
		}
		claimed[id] = true
	}
	_, err := tools.IssueClaim.Call(context.Background(), agents[0].s, tools.ClaimInput{Next: true, Wait: 50 * time.Millisecond})
	var te *tools.Error
	if !errors.As(err, &te) || te.Code != tools.CodeNotFound {
		t.Fatalf("a wait with nothing ready: %v", err)
	}
}
