package tools_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"grite/event"
	"grite/tools"
)

// The primer carries what an agent needs, and fits in max_chars (text and
// JSON) by leaving list items out, ready issues first, saying how many.
func TestPrimerFitsItsBudget(t *testing.T) {
	ctx := context.Background()
	r := newCoordRepo(t)
	a, b := r.agent("worker"), r.agent("other")
	long := strings.Repeat("a long title ", 8)
	for i := range 30 {
		a.create(fmt.Sprintf("%s%d", long, i))
	}
	mine := a.create("mine")
	coordMust(a, tools.IssueClaim, tools.ClaimInput{ID: mine})
	coordMust(a, tools.IssueComment, tools.IssueCommentInput{ID: mine, Kind: "handoff", Done: "step one", Next: "step two"})
	coordMust(b, tools.IssueClaim, tools.ClaimInput{Next: true})
	blocked := a.create("blocked")
	coordMust(a, tools.IssueDep, tools.DepInput{ID: mine, Target: blocked, Type: "blocks", Action: "add"})
	// Project context, as the original grite writes it.
	pc := event.Event{IssueID: event.IssueID{0xcc}, Actor: event.ActorID{9}, TS: uint64(r.clock.now.UnixMilli()),
		Kind: event.ProjectContextUpdated{Key: "build", Value: "go test ./..."}}
	if err := pc.Seal(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.s.WAL.Append(ctx, pc.Actor, []event.Event{pc}, time.Now()); err != nil {
		t.Fatal(err)
	}

	full := coordMust(a, tools.WhoAmI, tools.WhoAmIInput{MaxChars: tools.MaxPrimerChars})
	want := tools.Counts{Open: 32, Ready: 29, Blocked: 1, ClaimedByMe: 1, ClaimedByOthers: 1}
	if full.Counts != want {
		t.Fatalf("counts %+v, want %+v", full.Counts, want)
	}
	if len(full.Claims) != 1 || full.Claims[0].IssueID != mine || full.Claims[0].Handoff == nil || full.Claims[0].Handoff.Next != "step two" {
		t.Fatalf("claims %+v", full.Claims)
	}
	if len(full.Ready) != 10 || len(full.Context) != 1 || full.Context[0] != (tools.ContextEntry{Key: "build", Value: "go test ./..."}) || full.Cursor == "" || len(full.Omitted) != 0 {
		t.Fatalf("ready %d, context %+v, cursor %q, omitted %v", len(full.Ready), full.Context, full.Cursor, full.Omitted)
	}
	for _, max := range []int{1000, 1500, 4000} {
		out := coordMust(a, tools.WhoAmI, tools.WhoAmIInput{MaxChars: max})
		// As the CLI prints it: indented, in the envelope.
		b, _ := json.MarshalIndent(map[string]any{"schema_version": 1, "ok": true, "data": out}, "", "  ")
		if len(b) > max || len(out.Text()) > max {
			t.Errorf("max %d: JSON %d, text %d characters", max, len(b), len(out.Text()))
		}
		if len(out.Ready)+out.Omitted["ready"] != 10 {
			t.Errorf("max %d: %d ready + %d omitted, want 10", max, len(out.Ready), out.Omitted["ready"])
		}
		if out.Omitted["claims"] > 0 && len(out.Ready) > 0 {
			t.Errorf("max %d: a claim left out before the ready issues", max)
		}
		if out.Counts != want || out.Cursor != full.Cursor {
			t.Errorf("max %d: counts or cursor trimmed", max)
		}
	}
	if _, err := tools.WhoAmI.Call(ctx, a.s, tools.WhoAmIInput{MaxChars: 10}); err == nil {
		t.Fatal("max_chars 10 accepted")
	}
}

// An agent holding many claims, each with a long handoff, on a larger
// backlog: the primer still fits, dropping ready issues, then handoffs,
// then claims, and counts what it dropped.
func TestPrimerFitsWithManyClaims(t *testing.T) {
	r := newCoordRepo(t)
	a := r.agent("busy")
	for i := range 200 {
		a.create(fmt.Sprintf("backlog item %d with a title of some length", i))
	}
	const held = 40
	for range held {
		out := coordMust(a, tools.IssueClaim, tools.ClaimInput{Next: true})
		coordMust(a, tools.IssueComment, tools.IssueCommentInput{ID: out.IssueID, Kind: "handoff",
			Done: strings.Repeat("did things ", 20), Next: strings.Repeat("do more ", 20)})
	}
	for _, max := range []int{tools.MinPrimerChars, 2000, tools.DefaultPrimerChars} {
		out := coordMust(a, tools.WhoAmI, tools.WhoAmIInput{MaxChars: max})
		b, _ := json.Marshal(out)
		if len(b) > max || len(out.Text()) > max {
			t.Errorf("max %d: JSON %d, text %d characters", max, len(b), len(out.Text()))
		}
		if len(out.Claims)+out.Omitted["claims"] != held || out.Counts.ClaimedByMe != held {
			t.Errorf("max %d: %d claims + %d omitted, counts %+v", max, len(out.Claims), out.Omitted["claims"], out.Counts)
		}
		if out.Omitted["claims"] > 0 && (len(out.Ready) > 0 || out.Omitted["handoffs"] < held-out.Omitted["claims"]) {
			t.Errorf("max %d: claims dropped before ready issues or handoffs: %v", max, out.Omitted)
		}
	}
}
