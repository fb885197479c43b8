package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestCoordClaimNextRaceGivesEveryIssueToExactlyOneActor(t *testing.T) {
	const procs, issues = 8, 5
	dir, _ := newRepo(t)
	var labels []string
	for i := range procs {
		labels = append(labels, fmt.Sprintf("agent%d", i+1))
	}
	actors := coordActors(t, dir, labels...)
	var backlog []string
	for i := range issues {
		backlog = append(backlog, create(t, dir, fmt.Sprintf("task %d", i+1)))
	}
	walBefore := walCount(t, dir)

	var argvs [][]string
	for _, a := range actors {
		argvs = append(argvs, a.as("issue", "claim", "--next", "--json"))
	}
	results := coordRunAll(t, dir, argvs)

	winner := map[string]coordActor{} // issue -> actor that claimed it
	notFound := 0
	for i, r := range results {
		env := parseEnvelope(t, r)
		if !env.OK {
			if env.Error.Code != "not_found" || r.code != 3 {
				t.Fatalf("a losing claim must fail with not_found (exit 3)\n%s", r)
			}
			notFound++
			continue
		}
		var c coordClaim
		if err := jsonUnmarshal(env.Data, &c); err != nil {
			t.Fatal(err)
		}
		if r.code != 0 || c.Owner != actors[i].ID || c.Assignee != actors[i].Label || c.AlreadyHeld || c.TookOverFrom != "" {
			t.Fatalf("claim by %s: %+v\n%s", actors[i].Label, c, r)
		}
		if prev, dup := winner[c.IssueID]; dup {
			t.Fatalf("issue %s claimed by both %s and %s", c.IssueID, prev.Label, actors[i].Label)
		}
		if !slices.Contains(backlog, c.IssueID) {
			t.Fatalf("claimed unknown issue %s", c.IssueID)
		}
		winner[c.IssueID] = actors[i]
	}
	if len(winner) != issues || notFound != procs-issues {
		t.Fatalf("%d issues claimed and %d not_found, want %d and %d", len(winner), notFound, issues, procs-issues)
	}
	if got := walCount(t, dir); got != walBefore+issues {
		t.Fatalf("WAL grew by %d commits, want one per claim (%d)", got-walBefore, issues)
	}

	// The lock refs agree: one per issue, held by its winner.
	if refs := coordLockRefs(t, dir); len(refs) != issues {
		t.Fatalf("%d lock refs, want %d: %v", len(refs), issues, refs)
	}
	nowMS := uint64(time.Now().UnixMilli())
	for id, a := range winner {
		l, _, ok := coordReadLock(t, dir, "issue:"+id)
		if !ok || l.Owner != a.ID || l.ExpiresUnixMS <= nowMS {
			t.Fatalf("lock of %s: %+v (present %v), want live and owned by %s", id, l, ok, a.ID)
		}
	}
	// And so do the issues: exactly one assignee each, the winner's label,
	// from exactly one AssigneeAdded.
	for _, i := range list(t, dir).Issues {
		want := []string{winner[i.IssueID].Label}
		if !slices.Equal(i.Assignees, want) {
			t.Fatalf("issue %s assignees %v, want %v", i.IssueID, i.Assignees, want)
		}
		if n := coordCountKind(coordShow(t, dir, i.IssueID), "AssigneeAdded"); n != 1 {
			t.Fatalf("issue %s has %d AssigneeAdded events, want 1", i.IssueID, n)
		}
	}
	// Nothing is left for anyone else.
	coordRequireReady(t, dir, []string{})
}

// The one test that waits for a real lease to run out (1 s TTL, polled
// for up to 10 s).
func TestCoordClaimExpiresForRealAndAnotherActorTakesOver(t *testing.T) {
	dir, _ := newRepo(t)
	actors := coordActors(t, dir, "agentA", "agentB")
	a, b := actors[0], actors[1]
	id := create(t, dir, "short lease")

	var first coordClaim
	mustJSON(t, dir, &first, a.as("issue", "claim", id, "--ttl", "1")...)
	if first.Owner != a.ID || first.Assignee != "agentA" {
		t.Fatalf("claim by A: %+v", first)
	}

	deadline := time.Now().Add(10 * time.Second)
	for !slices.Contains(coordReady(t, dir, b.as()...), id) {
		if time.Now().After(deadline) {
			t.Fatalf("issue %s not in B's ready queue 10 s after a 1 s claim expired", id)
		}
		time.Sleep(100 * time.Millisecond)
	}

	var took coordClaim
	mustJSON(t, dir, &took, b.as("issue", "claim", id)...)
	if took.Owner != b.ID || took.TookOverFrom != a.ID || took.AlreadyHeld {
		t.Fatalf("claim by B after expiry: %+v, want took_over_from %s", took, a.ID)
	}
	if got := coordShow(t, dir, id).Issue.Assignees; !slices.Equal(got, []string{"agentB"}) {
		t.Fatalf("assignees after takeover %v, want [agentB]", got)
	}
	if l, _, _ := coordReadLock(t, dir, "issue:"+id); l.Owner != b.ID {
		t.Fatalf("lock after takeover owned by %s, want %s", l.Owner, b.ID)
	}
	// The lock's history moved forward: A's claim, then B's on top.
	if n := coordLockCommits(t, dir, "issue:"+id); n != "2" {
		t.Fatalf("lock ref has %s commits, want 2", n)
	}
}

func TestClaimRefusesClosedIssuesForeignReleasesAndDuplicateAssignees(t *testing.T) {
	dir, _ := newRepo(t)
	actors := coordActors(t, dir, "agentA", "agentB")
	a, b := actors[0], actors[1]
	open := create(t, dir, "open work")
	closed := create(t, dir, "already done")
	mustJSON(t, dir, nil, "issue", "close", closed)

	t.Run("closed issue", func(t *testing.T) {
		mustFail(t, dir, "conflict", 4, a.as("issue", "claim", closed)...)
		if _, _, ok := coordReadLock(t, dir, "issue:"+closed); ok {
			t.Fatal("a refused claim left a lock ref")
		}
	})

	var first coordClaim
	mustJSON(t, dir, &first, a.as("issue", "claim", open)...)

	t.Run("claim by another actor", func(t *testing.T) {
		e := mustFail(t, dir, "conflict", 4, b.as("issue", "claim", open)...)
		coordRequireConflict(t, e, a.ID, first.ExpiresUnixMS)
	})

	t.Run("release by a non-holder", func(t *testing.T) {
		before := walCount(t, dir)
		for _, verb := range []string{"release", "unclaim"} {
			e := mustFail(t, dir, "conflict", 4, b.as("issue", verb, open)...)
			coordRequireConflict(t, e, a.ID, first.ExpiresUnixMS)
		}
		if l, _, _ := coordReadLock(t, dir, "issue:"+open); l.Owner != a.ID || l.ExpiresUnixMS != first.ExpiresUnixMS {
			t.Fatalf("lock changed by a refused release: %+v", l)
		}
		if walCount(t, dir) != before {
			t.Fatal("a refused release appended to the WAL")
		}
	})

	t.Run("claim twice", func(t *testing.T) {
		before := walCount(t, dir)
		var again coordClaim
		mustJSON(t, dir, &again, a.as("issue", "claim", open)...)
		// Claiming what you hold renews the lease for its own length.
		if !again.AlreadyHeld || len(again.EventIDs) != 0 || again.ExpiresUnixMS < first.ExpiresUnixMS {
			t.Fatalf("second claim: %+v, want already_held, no events, the lease renewed", again)
		}
		if l, _, _ := coordReadLock(t, dir, "issue:"+open); l.ExpiresUnixMS != again.ExpiresUnixMS {
			t.Fatalf("lock ref %+v after the renewing claim %+v", l, again)
		}
		first = again
		if walCount(t, dir) != before {
			t.Fatal("a repeated claim appended to the WAL")
		}
		s := coordShow(t, dir, open)
		if n := coordCountKind(s, "AssigneeAdded"); n != 1 || !slices.Equal(s.Issue.Assignees, []string{"agentA"}) {
			t.Fatalf("%d AssigneeAdded, assignees %v; want 1 and [agentA]", n, s.Issue.Assignees)
		}
	})

	t.Run("release then claim by another", func(t *testing.T) {
		var rel struct {
			Released bool   `json:"released"`
			EventID  string `json:"event_id"`
		}
		mustJSON(t, dir, &rel, a.as("issue", "release", open)...)
		if !rel.Released || rel.EventID == "" {
			t.Fatalf("release: %+v", rel)
		}
		if l, _, ok := coordReadLock(t, dir, "issue:"+open); !ok || l.ExpiresUnixMS != 0 {
			t.Fatalf("released lock %+v, want expires_unix_ms 0", l)
		}
		if got := coordShow(t, dir, open).Issue.Assignees; len(got) != 0 {
			t.Fatalf("assignees after release %v", got)
		}
		var c coordClaim
		mustJSON(t, dir, &c, b.as("issue", "claim", open)...)
		if c.Owner != b.ID || c.TookOverFrom != "" || c.AlreadyHeld {
			t.Fatalf("claim after a release: %+v (a released claim is not taken over)", c)
		}
		if got := coordShow(t, dir, open).Issue.Assignees; !slices.Equal(got, []string{"agentB"}) {
			t.Fatalf("assignees %v, want [agentB]", got)
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		mustFail(t, dir, "not_found", 3, a.as("issue", "claim", "0123456789abcdef0123456789abcdef")...)
		mustFail(t, dir, "invalid_args", 2, a.as("issue", "claim", open, "--next")...)
		mustFail(t, dir, "invalid_args", 2, a.as("issue", "claim", open, "--ttl", "soon")...)
	})
}
