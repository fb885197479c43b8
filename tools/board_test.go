package tools_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"grite/tools"
)

func boardIDs(col tools.BoardColumn) []string {
	ids := []string{}
	for _, c := range col.Cards {
		ids = append(ids, c.IssueID)
	}
	return ids
}

func TestBoardSplitsOpenIssuesIntoReadyClaimedAndBlocked(t *testing.T) {
	r := newCoordRepo(t)
	alice, bob := r.agent("alice"), r.agent("bob")
	base := alice.create("base")
	waiting := alice.create("waits for base")
	free := alice.create("free")
	done := alice.create("done")
	coordMust(alice, tools.IssueDep, tools.DepInput{ID: waiting, Target: base, Type: "depends_on", Action: "add"})
	claim := coordMust(bob, tools.IssueClaim, tools.ClaimInput{ID: base})
	coordMust(alice, tools.IssueUpdate, tools.IssueUpdateInput{ID: done, State: "closed"})

	b := coordMust(alice, tools.Board, tools.BoardInput{})
	if got := boardIDs(b.Ready); !slices.Equal(got, []string{free}) {
		t.Errorf("ready %v, want [%s]", got, free)
	}
	if got := boardIDs(b.Claimed); !slices.Equal(got, []string{base}) {
		t.Fatalf("claimed %v, want [%s]", got, base)
	}
	c := b.Claimed.Cards[0].Claim
	if c == nil || !c.Live || c.Owner != bob.id || c.OwnerLabel != "bob" || c.ExpiresUnixMS != claim.ExpiresUnixMS {
		t.Errorf("claim %+v, want bob's live claim until %d", c, claim.ExpiresUnixMS)
	}
	if got := boardIDs(b.Blocked); !slices.Equal(got, []string{waiting}) {
		t.Fatalf("blocked %v, want [%s]", got, waiting)
	}
	if by := b.Blocked.Cards[0].BlockedBy; len(by) != 1 || by[0].IssueID != base || by[0].Title != "base" {
		t.Errorf("blocked by %+v, want base", by)
	}
	if got := boardIDs(b.Closed); !slices.Equal(got, []string{done}) {
		t.Errorf("closed %v, want [%s]", got, done)
	}

	// Closing the blocker frees its dependent; a filter narrows every column.
	coordMust(bob, tools.IssueUpdate, tools.IssueUpdateInput{ID: base, State: "closed"})
	b = coordMust(alice, tools.Board, tools.BoardInput{Query: "waits"})
	if got := boardIDs(b.Ready); !slices.Equal(got, []string{waiting}) || b.Blocked.Total != 0 || b.Closed.Total != 0 {
		t.Errorf("after closing base, filtered: ready %v blocked %d closed %d; want only %s ready", got, b.Blocked.Total, b.Closed.Total, waiting)
	}
}

func TestBoardColumnsCountBeyondTheirLimit(t *testing.T) {
	r := newCoordRepo(t)
	a := r.agent("a")
	for i := 0; i < 5; i++ {
		a.create("issue")
	}
	b := coordMust(a, tools.Board, tools.BoardInput{Limit: 2})
	if len(b.Ready.Cards) != 2 || b.Ready.Total != 5 {
		t.Errorf("ready shows %d of %d, want 2 of 5", len(b.Ready.Cards), b.Ready.Total)
	}
	if _, err := coordCall(a, tools.Board, tools.BoardInput{Limit: -1}); tools.AsError(err).Code != tools.CodeInvalidArgs {
		t.Errorf("negative limit: %v, want invalid_args", err)
	}
}

func TestClaimClearRemovesTheAssignmentOfAnExpiredClaimOnly(t *testing.T) {
	r := newCoordRepo(t)
	alice, bob := r.agent("alice"), r.agent("bob")
	id := alice.create("work")
	never := alice.create("never claimed")
	claim := coordMust(bob, tools.IssueClaim, tools.ClaimInput{ID: id, TTL: "1m"})

	_, err := coordCall(alice, tools.ClaimClear, tools.ClaimClearInput{ID: id})
	coordConflict(t, err, bob.id, claim.ExpiresUnixMS)
	_, err = coordCall(alice, tools.ClaimClear, tools.ClaimClearInput{ID: never})
	if e := tools.AsError(err); e.Code != tools.CodeNotFound {
		t.Errorf("clear an unclaimed issue: %v, want not_found", err)
	}

	r.clock.advance(2 * time.Minute)
	b := coordMust(alice, tools.Board, tools.BoardInput{})
	if !slices.Contains(boardIDs(b.Ready), id) {
		t.Fatalf("an expired claim's issue is not ready: %v", boardIDs(b.Ready))
	}
	for _, c := range b.Ready.Cards {
		if c.IssueID == id && (c.Claim == nil || c.Claim.Live || c.Claim.Owner != bob.id) {
			t.Errorf("ready card's claim %+v, want bob's expired claim", c.Claim)
		}
	}
	out := coordMust(alice, tools.ClaimClear, tools.ClaimClearInput{ID: id})
	if !out.Changed || out.Unassigned != "bob" || out.Holder != bob.id {
		t.Errorf("clear: %+v, want bob unassigned", out)
	}
	if got := alice.assignees(id); len(got) != 0 {
		t.Errorf("assignees after clear %v, want none", got)
	}
	again := coordMust(alice, tools.ClaimClear, tools.ClaimClearInput{ID: id})
	if again.Changed || again.Message == "" {
		t.Errorf("second clear: %+v, want unchanged with a message", again)
	}
}

func TestActivityListsTheLatestEventsNewestFirst(t *testing.T) {
	r := newCoordRepo(t)
	alice, bob := r.agent("alice"), r.agent("bob")
	first := alice.create("first")
	second := bob.create("second")
	coordMust(alice, tools.IssueComment, tools.IssueCommentInput{ID: first, Body: "note"})

	out := coordMust(bob, tools.Activity, tools.ActivityInput{Limit: 2})
	if len(out.Events) != 2 || !out.More {
		t.Fatalf("got %d events (more %v), want 2 and more", len(out.Events), out.More)
	}
	if e := out.Events[0]; e.Kind != "CommentAdded" || e.IssueID != first || e.ActorLabel != "alice" {
		t.Errorf("newest %+v, want alice's comment on first", e)
	}
	if e := out.Events[1]; e.Kind != "IssueCreated" || e.IssueID != second || out.Titles[second] != "second" {
		t.Errorf("next %+v (title %q), want second's creation", e, out.Titles[second])
	}
	mine := coordMust(bob, tools.Activity, tools.ActivityInput{Actor: bob.id})
	if len(mine.Events) != 1 || mine.Events[0].IssueID != second || mine.More {
		t.Errorf("bob's activity %+v, want only second's creation", mine.Events)
	}
	_, err := coordCall(bob, tools.Activity, tools.ActivityInput{Actor: "bob"})
	var te *tools.Error
	if !errors.As(err, &te) || te.Code != tools.CodeInvalidArgs {
		t.Errorf("activity of a label: %v, want invalid_args", err)
	}
}

func TestBoardActorsShowsEveryActorWithItsClaims(t *testing.T) {
	r := newCoordRepo(t)
	alice, bob := r.agent("alice"), r.agent("bob")
	id := alice.create("work")
	coordMust(bob, tools.IssueClaim, tools.ClaimInput{ID: id})
	coordMust(alice, tools.Lock, tools.LockInput{Action: "acquire", Resource: "path:src/"})

	out := coordMust(alice, tools.BoardActors, struct{}{})
	byID := map[string]tools.BoardActor{}
	for _, a := range out.Actors {
		byID[a.ActorID] = a
	}
	if b := byID[bob.id]; b.Label != "bob" || len(b.Claims) != 1 || b.Claims[0].IssueID != id || len(b.Locks) != 0 {
		t.Errorf("bob %+v, want one claim on %s", b, id)
	}
	if a := byID[alice.id]; len(a.Claims) != 0 || len(a.Locks) != 1 || a.Locks[0].Resource != "path:src/" || a.LastEventTS == 0 {
		t.Errorf("alice %+v, want her path lock and an event", a)
	}
}
