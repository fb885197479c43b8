package tools_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"grite/tools"
)

// A session that defers view updates answers a write before its view has
// the events; FlushView, CatchUp or Close then give them to the view,
// directly or (another writer having appended in between) from the WAL.
func TestDeferredViewUpdates(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		// between runs after the deferred write, as another actor.
		between bool
		// settle brings the view up to date.
		settle func(*tools.Session) error
	}{
		{"FlushView", false, func(s *tools.Session) error { return s.FlushView(ctx) }},
		{"CatchUp", false, func(s *tools.Session) error { return s.CatchUp(ctx) }},
		{"FlushView after another writer", true, func(s *tools.Session) error { return s.FlushView(ctx) }},
		{"CatchUp after another writer", true, func(s *tools.Session) error { return s.CatchUp(ctx) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newCoordRepo(t)
			a, b := r.agent("a"), r.agent("b")
			first := coordMust(a, tools.IssueCreate, tools.IssueCreateInput{Title: "first"})
			a.s.DeferViewUpdates(true)
			w, err := tools.IssueCreate.Call(ctx, a.s, tools.IssueCreateInput{Title: "deferred"})
			a.s.DeferViewUpdates(false)
			if err != nil {
				t.Fatal(err)
			}
			if !a.s.ViewBehind() {
				t.Fatal("ViewBehind false after a deferred write")
			}
			if _, ok, err := a.s.Store().Issue(ctx, w.IssueID); err != nil || ok {
				t.Fatalf("the view has the deferred issue before any flush (%v, %v)", ok, err)
			}
			var other string
			if tc.between {
				other = coordMust(b, tools.IssueCreate, tools.IssueCreateInput{Title: "other"}).IssueID
				// The other writer found the view behind its append and gave
				// it the deferred commit too, in the same transaction.
				if _, ok, err := b.s.Store().Issue(ctx, w.IssueID); err != nil || !ok {
					t.Fatalf("after the other write, the view lacks the deferred issue (%v, %v)", ok, err)
				}
			}
			if err := tc.settle(a.s); err != nil {
				t.Fatal(err)
			}
			if a.s.ViewBehind() {
				t.Fatal("ViewBehind still true after settling")
			}
			for _, id := range []string{first.IssueID, w.IssueID, other} {
				if id == "" {
					continue
				}
				if _, ok, err := a.s.Store().Issue(ctx, id); err != nil || !ok {
					t.Fatalf("issue %s missing from the view (%v)", id, err)
				}
			}
			applied, err := a.s.Store().Meta(ctx, "wal_head")
			if err != nil {
				t.Fatal(err)
			}
			if head, _ := a.s.WAL.Head(); applied != head.String() {
				t.Fatalf("view at %s, WAL at %s", applied, head)
			}
			list := coordMust(a, tools.IssueList, tools.IssueListInput{})
			if want := map[bool]int{false: 2, true: 3}[tc.between]; list.Total != want {
				t.Fatalf("list total %d, want %d", list.Total, want)
			}
		})
	}
}

// A claim answers before its view update, as the MCP server runs it
// (WriteLast): other sessions' ready queues leave the claimed issue out at
// once (they read the lock refs), and the view has the assignment after
// the flush (or another session's catch-up).
func TestDeferredClaim(t *testing.T) {
	ctx := context.Background()
	r := newCoordRepo(t)
	a, b := r.agent("a"), r.agent("b")
	first := coordMust(a, tools.IssueCreate, tools.IssueCreateInput{Title: "first"})
	r.clock.advance(time.Millisecond) // the queue's order is by creation time
	second := coordMust(a, tools.IssueCreate, tools.IssueCreateInput{Title: "second"})
	if !tools.IssueClaim.WriteLast {
		t.Fatal("issue_claim is not WriteLast: the MCP server would apply its view update before answering")
	}
	a.s.DeferViewUpdates(true)
	c, err := tools.IssueClaim.Call(ctx, a.s, tools.ClaimInput{Next: true})
	a.s.DeferViewUpdates(false)
	if err != nil {
		t.Fatal(err)
	}
	if c.IssueID != first.IssueID || !a.s.ViewBehind() {
		t.Fatalf("claimed %s (view behind %v), want %s with the view behind", c.IssueID, a.s.ViewBehind(), first.IssueID)
	}
	ready := coordMust(b, tools.IssueReady, tools.IssueReadyInput{})
	if len(ready.Issues) != 1 || ready.Issues[0].IssueID != second.IssueID {
		t.Fatalf("b's ready queue %v, want only %s", ready.Issues, second.IssueID)
	}
	if err := a.s.FlushView(ctx); err != nil {
		t.Fatal(err)
	}
	sum, ok, err := a.s.Store().Issue(ctx, first.IssueID)
	if err != nil || !ok || !slices.Contains(sum.Assignees, c.Assignee) {
		t.Fatalf("after the flush the view has %v as assignees (%v, %v), want %s", sum.Assignees, ok, err, c.Assignee)
	}
	// whoami refreshes the view's lock cache from the lock refs first.
	me := coordMust(a, tools.WhoAmI, tools.WhoAmIInput{})
	if len(me.Claims) != 1 || me.Claims[0].IssueID != first.IssueID {
		t.Fatalf("whoami's claims of a: %+v, want %s", me.Claims, first.IssueID)
	}
	// Claiming next again (a's next call catches the view up) takes the
	// other issue, never the one a holds.
	if c2 := coordMust(a, tools.IssueClaim, tools.ClaimInput{Next: true}); c2.IssueID != second.IssueID {
		t.Fatalf("second claim took %s, want %s", c2.IssueID, second.IssueID)
	}
}
