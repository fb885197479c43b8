package tools_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"grite/tools"
)

func changes(t *testing.T, a *coordAgent, in tools.ChangesInput) tools.ChangesOutput {
	t.Helper()
	out, err := tools.Changes.Call(context.Background(), a.s, in)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The feed as an agent uses it: everything from the start with labels and
// summaries, filters by issue and kind, "now", and clear errors.
func TestChanges(t *testing.T) {
	r := newCoordRepo(t)
	a, b := r.agent("alice"), r.agent("bob")
	x := coordMust(a, tools.IssueCreate, tools.IssueCreateInput{Title: "first issue"}).IssueID
	coordMust(b, tools.IssueComment, tools.IssueCommentInput{ID: x, Body: "a comment\nwith a second line"})
	y := coordMust(b, tools.IssueCreate, tools.IssueCreateInput{Title: "second issue"}).IssueID

	all := changes(t, a, tools.ChangesInput{})
	if len(all.Events) != 3 || all.HasMore || all.NextCursor == "" {
		t.Fatalf("all: %+v", all)
	}
	want := []struct{ issue, kind, label, summary string }{
		{x, "IssueCreated", "alice", "first issue"},
		{x, "CommentAdded", "bob", "a comment…"},
		{y, "IssueCreated", "bob", "second issue"},
	}
	for i, w := range want {
		e := all.Events[i]
		if e.IssueID != w.issue || e.Kind != w.kind || e.ActorLabel != w.label || e.Summary != w.summary {
			t.Errorf("event %d: %+v, want %+v", i, e, w)
		}
	}
	if got := changes(t, a, tools.ChangesInput{Since: all.NextCursor}); len(got.Events) != 0 || got.NextCursor != all.NextCursor {
		t.Fatalf("after the end: %+v", got)
	}
	if got := changes(t, a, tools.ChangesInput{Issue: x[:6]}); len(got.Events) != 2 {
		t.Fatalf("issue filter: %+v", got)
	}
	if got := changes(t, a, tools.ChangesInput{Kinds: []string{"comment_added"}}); len(got.Events) != 1 || got.Events[0].Kind != "CommentAdded" {
		t.Fatalf("kind filter: %+v", got)
	}
	now := changes(t, a, tools.ChangesInput{Since: "now"})
	if len(now.Events) != 0 || now.NextCursor != all.NextCursor {
		t.Fatalf("now: %+v, want the end cursor %s", now, all.NextCursor)
	}
	page := changes(t, a, tools.ChangesInput{Limit: 2})
	if len(page.Events) != 2 || !page.HasMore {
		t.Fatalf("page of 2: %+v", page)
	}

	for _, bad := range []tools.ChangesInput{
		{Since: "yesterday"},
		{Since: "c1.1234567890123456789012345678901234567890.0"},
		{Kinds: []string{"IssueDeleted"}},
		{Limit: tools.MaxChangesLimit + 1},
		{Issue: "zzzz"},
	} {
		_, err := tools.Changes.Call(context.Background(), a.s, bad)
		var te *tools.Error
		if !errors.As(err, &te) || (te.Code != tools.CodeInvalidArgs && te.Code != tools.CodeNotFound) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

// A wait returns as soon as a matching event is written, skips events the
// filters pass over, returns empty when its time is up, and ends when its
// context does.
func TestChangesWait(t *testing.T) {
	r := newCoordRepo(t)
	a, b := r.agent("waiter"), r.agent("writer")
	x := coordMust(b, tools.IssueCreate, tools.IssueCreateInput{Title: "watched"}).IssueID
	start := changes(t, a, tools.ChangesInput{Since: "now"}).NextCursor

	got := make(chan tools.ChangesOutput, 1)
	go func() {
		out, err := tools.Changes.Call(context.Background(), a.s, tools.ChangesInput{Since: start, Kinds: []string{"CommentAdded"}, Wait: time.Minute})
		if err != nil {
			t.Error(err)
		}
		got <- out
	}()
	// Not a comment: passed over, the wait goes on.
	coordMust(b, tools.IssueUpdate, tools.IssueUpdateInput{ID: x, AddLabels: []string{"noise"}})
	coordMust(b, tools.IssueComment, tools.IssueCommentInput{ID: x, Body: "done"})
	select {
	case out := <-got:
		if len(out.Events) != 1 || out.Events[0].Summary != "done" {
			t.Fatalf("woken with %+v", out)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the wait was not woken by a write")
	}

	out := changes(t, a, tools.ChangesInput{Since: "now", Wait: 50 * time.Millisecond})
	if len(out.Events) != 0 || out.NextCursor == "" {
		t.Fatalf("timed-out wait: %+v", out)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := tools.Changes.Call(ctx, a.s, tools.ChangesInput{Since: "now", Wait: time.Hour})
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled wait: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a cancelled wait did not end")
	}
}
