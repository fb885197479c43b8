package tools_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"grite/tools"
)

func claimExpiry(t *testing.T, a *coordAgent, id string) uint64 {
	t.Helper()
	out, err := tools.LockStatus.Call(context.Background(), a.s, tools.LockStatusInput{Resource: "issue:" + id})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range out.Locks {
		if l.Resource == "issue:"+id && l.Live {
			return l.ExpiresUnixMS
		}
	}
	t.Fatalf("no live claim on %s", id)
	return 0
}

// A write by the holder renews its claim to the lease's own length (a
// heartbeat), except right after the last renewal.
func TestWritesRenewTheWritersClaim(t *testing.T) {
	r := newCoordRepo(t)
	a := r.agent("a")
	id := a.create("long task")
	coordMust(a, tools.IssueClaim, tools.ClaimInput{ID: id, TTL: "10m"})
	r.clock.advance(5 * time.Minute)
	coordMust(a, tools.IssueComment, tools.IssueCommentInput{ID: id, Body: "still on it"})
	if got, want := claimExpiry(t, a, id), r.clock.ms(10*time.Minute); got != want {
		t.Fatalf("after a comment at 5m: expires %d, want %d (renewed to 10m)", got, want)
	}
	r.clock.advance(10 * time.Second)
	before := claimExpiry(t, a, id)
	coordMust(a, tools.IssueUpdate, tools.IssueUpdateInput{ID: id, AddLabels: []string{"wip"}})
	if got := claimExpiry(t, a, id); got != before {
		t.Fatalf("a write 10s after the renewal renewed again: %d, want %d", got, before)
	}
	r.clock.advance(9 * time.Minute)
	coordMust(a, tools.IssueDep, tools.DepInput{ID: id, Target: a.create("other"), Type: "related_to", Action: "add"})
	if got, want := claimExpiry(t, a, id), r.clock.ms(10*time.Minute); got != want {
		t.Fatalf("after a dependency: expires %d, want %d", got, want)
	}
}

// An agent whose claim expired and was taken over still writes (nothing
// is lost) but is told claim_lost, naming the holder; under lock_policy
// require it is refused with details.claim_lost. An agent that never held
// the issue gets the ordinary lock warning.
func TestWriteAfterLosingTheClaim(t *testing.T) {
	r := newCoordRepo(t)
	a, b, c := r.agent("slow"), r.agent("fast"), r.agent("bystander")
	id := a.create("contested")
	coordMust(a, tools.IssueClaim, tools.ClaimInput{ID: id, TTL: "1m"})
	r.clock.advance(2 * time.Minute)
	coordMust(b, tools.IssueClaim, tools.ClaimInput{ID: id})

	coordMust(a, tools.IssueComment, tools.IssueCommentInput{ID: id, Body: "late report"})
	w := a.s.TakeWarnings()
	if len(w) != 1 || !strings.HasPrefix(w[0], "claim_lost:") || !strings.Contains(w[0], b.id) || !strings.Contains(w[0], "fast") {
		t.Fatalf("warnings %q, want one claim_lost naming %s (fast)", w, b.id)
	}
	show := coordMust(a, tools.IssueShow, tools.IssueShowInput{ID: id})
	if n := len(show.Issue.Comments); n != 1 {
		t.Fatalf("%d comments: the late report was not kept", n)
	}
	coordMust(c, tools.IssueComment, tools.IssueCommentInput{ID: id, Body: "just a note"})
	if w := c.s.TakeWarnings(); len(w) != 1 || strings.HasPrefix(w[0], "claim_lost") {
		t.Fatalf("bystander's warnings %q, want the lock warning", w)
	}

	if err := os.WriteFile(filepath.Join(string(a.s.Grite), "config.toml"), []byte("lock_policy = \"require\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := coordCall(a, tools.IssueComment, tools.IssueCommentInput{ID: id, Body: "refused"})
	var te *tools.Error
	if !errors.As(err, &te) || te.Code != tools.CodeConflict || te.Details["claim_lost"] != true {
		t.Fatalf("under require: %v (%+v)", err, te)
	}
}

// Claiming an issue someone else held before says who, when and how their
// claim ended, and what they left: their latest handoff and comment.
func TestClaimTellsWhoHeldTheIssueBefore(t *testing.T) {
	cases := []struct {
		name  string
		end   func(r *coordRepo, a *coordAgent, id string)
		how   string
		ended func(r *coordRepo) uint64
	}{
		{"released", func(r *coordRepo, a *coordAgent, id string) {
			coordMust(a, tools.IssueRelease, tools.ReleaseInput{ID: id})
		}, "released", func(r *coordRepo) uint64 { return uint64(r.clock.now.Truncate(time.Second).UnixMilli()) }},
		{"expired", func(r *coordRepo, a *coordAgent, id string) {
			r.clock.advance(time.Hour)
		}, "expired", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newCoordRepo(t)
			a, b := r.agent("first"), r.agent("second")
			id := a.create("relay")
			claimed := coordMust(a, tools.IssueClaim, tools.ClaimInput{ID: id, TTL: "30m"})
			if claimed.Previous != nil {
				t.Fatalf("a first claim has a previous holder: %+v", claimed.Previous)
			}
			coordMust(a, tools.IssueComment, tools.IssueCommentInput{ID: id, Kind: "handoff", Done: "half of it", Next: "the other half"})
			coordMust(a, tools.IssueComment, tools.IssueCommentInput{ID: id, Body: "one more thing"})
			tc.end(r, a, id)
			want := claimed.ExpiresUnixMS
			if tc.ended != nil {
				want = tc.ended(r)
			}
			out := coordMust(b, tools.IssueClaim, tools.ClaimInput{ID: id})
			p := out.Previous
			if p == nil || p.Actor != a.id || p.Label != "first" || p.How != tc.how || p.EndedTS != want {
				t.Fatalf("previous %+v, want %s (first) %s at %d", p, a.id, tc.how, want)
			}
			if p.Handoff == nil || p.Handoff.Done != "half of it" || p.Handoff.Next != "the other half" {
				t.Fatalf("previous handoff %+v", p.Handoff)
			}
			if p.LastComment == nil || p.LastComment.Body != "one more thing" {
				t.Fatalf("previous comment %+v", p.LastComment)
			}
		})
	}
}

// A writer whose own claim ran out, with nobody holding the issue since,
// keeps its event and is told the claim expired.
func TestWriteAfterTheClaimExpired(t *testing.T) {
	r := newCoordRepo(t)
	a := r.agent("slow")
	id := a.create("left too long")
	coordMust(a, tools.IssueClaim, tools.ClaimInput{ID: id, TTL: "1m"})
	r.clock.advance(2 * time.Minute)
	coordMust(a, tools.IssueComment, tools.IssueCommentInput{ID: id, Body: "late"})
	if w := a.s.TakeWarnings(); len(w) != 1 || !strings.HasPrefix(w[0], "claim_expired:") {
		t.Fatalf("warnings %q, want one claim_expired", w)
	}
	// Released, not expired: nothing to say.
	coordMust(a, tools.IssueClaim, tools.ClaimInput{ID: id})
	coordMust(a, tools.IssueRelease, tools.ReleaseInput{ID: id})
	coordMust(a, tools.IssueComment, tools.IssueCommentInput{ID: id, Body: "after release"})
	if w := a.s.TakeWarnings(); len(w) != 0 {
		t.Fatalf("warnings after a release: %q", w)
	}
}
