package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestLockAcquireRaceHasOneWinnerAndOnlyTheOwnerRenewsOrReleases(t *testing.T) {
	const procs = 6
	dir, _ := newRepo(t)
	var labels []string
	for i := range procs {
		labels = append(labels, fmt.Sprintf("agent%d", i+1))
	}
	actors := coordActors(t, dir, labels...)
	var argvs [][]string
	for _, a := range actors {
		argvs = append(argvs, a.as("lock", "acquire", "repo:global", "--ttl", "60", "--json"))
	}
	results := coordRunAll(t, dir, argvs)

	winner := -1
	var held coordLockData
	for i, r := range results {
		env := parseEnvelope(t, r)
		if !env.OK {
			continue
		}
		if winner >= 0 {
			t.Fatalf("both %s and %s acquired repo:global\n%s", actors[winner].Label, actors[i].Label, r)
		}
		winner = i
		if err := jsonUnmarshal(env.Data, &held); err != nil {
			t.Fatal(err)
		}
		if held.Lock.Owner != actors[i].ID || !held.Lock.Live || held.Lock.Resource != "repo:global" {
			t.Fatalf("winner's lock %+v", held.Lock)
		}
	}
	if winner < 0 {
		t.Fatal("nobody acquired repo:global")
	}
	owner := actors[winner]
	for i, r := range results {
		if i == winner {
			continue
		}
		env := parseEnvelope(t, r)
		if env.Error.Code != "conflict" || r.code != 4 {
			t.Fatalf("a losing acquire must fail with conflict (exit 4)\n%s", r)
		}
		coordRequireConflict(t, *env.Error, owner.ID, held.Lock.ExpiresUnixMS)
	}
	if l, _, _ := coordReadLock(t, dir, "repo:global"); l.Owner != owner.ID || l.ExpiresUnixMS != held.Lock.ExpiresUnixMS {
		t.Fatalf("lock ref %+v, want the winner's", l)
	}
	if n := coordLockCommits(t, dir, "repo:global"); n != "1" {
		t.Fatalf("lock ref has %s commits after the race, want 1", n)
	}

	other := actors[(winner+1)%procs]
	for _, verb := range []string{"renew", "release"} {
		e := mustFail(t, dir, "conflict", 4, other.as("lock", verb, "repo:global")...)
		coordRequireConflict(t, e, owner.ID, held.Lock.ExpiresUnixMS)
	}
	// repo: conflicts with every other resource, issue claims included.
	id := create(t, dir, "work")
	for _, args := range [][]string{{"lock", "acquire", "path:src/"}, {"issue", "claim", id}} {
		e := mustFail(t, dir, "conflict", 4, other.as(args...)...)
		coordRequireConflict(t, e, owner.ID, held.Lock.ExpiresUnixMS)
	}

	var renewed, released, taken coordLockData
	mustJSON(t, dir, &renewed, owner.as("lock", "renew", "repo:global", "--ttl", "120")...)
	if renewed.Lock.Owner != owner.ID || renewed.Lock.ExpiresUnixMS <= held.Lock.ExpiresUnixMS {
		t.Fatalf("renew: %+v, want a later expiry than %d", renewed.Lock, held.Lock.ExpiresUnixMS)
	}
	mustJSON(t, dir, &released, owner.as("lock", "release", "repo:global")...)
	if released.Lock.Live {
		t.Fatalf("release: %+v", released.Lock)
	}
	mustJSON(t, dir, &taken, other.as("lock", "acquire", "repo:global")...)
	if taken.Lock.Owner != other.ID || !taken.Lock.Live {
		t.Fatalf("acquire after release: %+v", taken.Lock)
	}
	// Every change was a commit on top of the last: acquire, renew,
	// release, acquire.
	if n := coordLockCommits(t, dir, "repo:global"); n != "4" {
		t.Fatalf("lock ref has %s commits, want 4", n)
	}
}

func TestLockGCRemovesOnlyLocksThatAreNoLongerHeld(t *testing.T) {
	dir, _ := newRepo(t)
	mustJSON(t, dir, nil, "lock", "acquire", "path:keep/", "--ttl", "60")
	mustJSON(t, dir, nil, "lock", "acquire", "path:drop/", "--ttl", "60")
	mustJSON(t, dir, nil, "lock", "release", "path:drop/")

	var gc struct {
		ExpiredPruned int `json:"expired_pruned"`
		Pruned        []struct {
			Resource string `json:"resource"`
		} `json:"pruned"`
	}
	mustJSON(t, dir, &gc, "lock", "gc")
	if gc.ExpiredPruned != 1 || len(gc.Pruned) != 1 || gc.Pruned[0].Resource != "path:drop/" {
		t.Fatalf("lock gc: %+v, want only path:drop/", gc)
	}
	if refs := coordLockRefs(t, dir); !slices.Equal(refs, []string{coordLockRefName("path:keep/")}) {
		t.Fatalf("lock refs after gc: %v", refs)
	}
	var status struct {
		Locks []struct {
			Resource string `json:"resource"`
			Live     bool   `json:"live"`
		} `json:"locks"`
	}
	mustJSON(t, dir, &status, "lock", "status")
	if len(status.Locks) != 1 || status.Locks[0].Resource != "path:keep/" || !status.Locks[0].Live {
		t.Fatalf("lock status after gc: %+v", status)
	}
	mustJSON(t, dir, &gc, "lock", "gc")
	if gc.ExpiredPruned != 0 {
		t.Fatalf("second gc pruned %+v", gc)
	}
}

func TestLockPathContainmentConflicts(t *testing.T) {
	dir, _ := newRepo(t)
	actors := coordActors(t, dir, "agentA", "agentB")
	a, b := actors[0], actors[1]
	var held coordLockData
	mustJSON(t, dir, &held, a.as("lock", "acquire", "path:src/")...)

	for _, tc := range []struct {
		want     string
		conflict bool
	}{
		{"path:src/main.go", true},
		{"path:src/pkg/", true},
		{"path:src", true},
		{"path:srcx/", false},
		{"path:lib/", false},
	} {
		args := b.as("lock", "acquire", tc.want)
		if !tc.conflict {
			mustJSON(t, dir, nil, args...)
			continue
		}
		e := mustFail(t, dir, "conflict", 4, args...)
		coordRequireConflict(t, e, a.ID, held.Lock.ExpiresUnixMS)
		if e.Details["resource"] != "path:src/" {
			t.Fatalf("conflict on %s names resource %v, want path:src/", tc.want, e.Details["resource"])
		}
	}

	var status struct {
		Locks     []struct{ Resource string } `json:"locks"`
		Conflicts []struct {
			Resource string `json:"resource"`
			Owner    string `json:"owner"`
		} `json:"conflicts"`
	}
	mustJSON(t, dir, &status, b.as("lock", "status", "--resource", "path:src/main.go")...)
	if len(status.Locks) != 3 || len(status.Conflicts) != 1 || status.Conflicts[0].Resource != "path:src/" || status.Conflicts[0].Owner != a.ID {
		t.Fatalf("lock status --resource path:src/main.go: %+v", status)
	}

	// Containment works both ways: B's file lock now blocks A's directory.
	mustJSON(t, dir, nil, a.as("lock", "release", "path:src/")...)
	mustJSON(t, dir, nil, b.as("lock", "acquire", "path:src/main.go")...)
	e := mustFail(t, dir, "conflict", 4, a.as("lock", "acquire", "path:src/")...)
	coordRequireConflict(t, e, b.ID, 0)
	mustFail(t, dir, "invalid_args", 2, a.as("lock", "acquire", "nowhere")...)
}

func TestLockPolicyOnWritesToAnIssueClaimedByAnother(t *testing.T) {
	dir, _ := newRepo(t)
	actors := coordActors(t, dir, "agentA", "agentB")
	a, b := actors[0], actors[1]
	id := create(t, dir, "claimed")
	var c coordClaim
	mustJSON(t, dir, &c, a.as("issue", "claim", id)...)

	for _, tc := range []struct {
		policy string
		refuse bool
		warn   bool
	}{
		{"", false, true}, // default: warn
		{"warn", false, true},
		{"off", false, false},
		{"require", true, false},
		{"bogus", false, true}, // unknown values mean warn
	} {
		t.Run("policy "+tc.policy, func(t *testing.T) {
			coordSetLockPolicy(t, dir, tc.policy)
			before := walCount(t, dir)
			args := b.as("issue", "comment", id, "--body", "from B under "+tc.policy)
			if tc.refuse {
				e := mustFail(t, dir, "conflict", 4, args...)
				coordRequireConflict(t, e, a.ID, c.ExpiresUnixMS)
				if walCount(t, dir) != before {
					t.Fatal("a refused write was appended to the WAL")
				}
			} else {
				r := mustJSON(t, dir, nil, args...)
				warned := strings.Contains(r.stderr, "warning:") && strings.Contains(r.stderr, a.ID)
				if warned != tc.warn || (!tc.warn && r.stderr != "") {
					t.Fatalf("stderr %q, want a warning naming the holder: %v", r.stderr, tc.warn)
				}
				if walCount(t, dir) != before+1 {
					t.Fatal("the comment was not appended")
				}
			}
			// The holder itself is never refused or warned.
			r := mustJSON(t, dir, nil, a.as("issue", "comment", id, "--body", "from A")...)
			if r.stderr != "" {
				t.Fatalf("holder's write printed %q", r.stderr)
			}
		})
	}
}

func TestLockFlagOnCommentKeepsTheClaimantsClaim(t *testing.T) {
	dir, _ := newRepo(t)
	coordSetLockPolicy(t, dir, "off") // --lock must refuse even without the policy
	actors := coordActors(t, dir, "agentA", "agentB")
	a, b := actors[0], actors[1]
	claimed := create(t, dir, "claimed")
	free := create(t, dir, "free")
	mustJSON(t, dir, nil, a.as("issue", "claim", claimed)...)
	before, commit, _ := coordReadLock(t, dir, "issue:"+claimed)

	mustJSON(t, dir, nil, a.as("issue", "comment", claimed, "--lock", "--body", "progress")...)
	mustJSON(t, dir, nil, a.as("issue", "label", "add", claimed, "--label", "wip", "--lock")...)
	after, commitAfter, _ := coordReadLock(t, dir, "issue:"+claimed)
	if after != before || commitAfter != commit {
		t.Fatalf("claim changed by the claimant's --lock writes: %+v -> %+v", before, after)
	}

	// Another actor's --lock write cannot take the claimed issue.
	walBefore := walCount(t, dir)
	e := mustFail(t, dir, "conflict", 4, b.as("issue", "comment", claimed, "--lock", "--body", "sneaky")...)
	coordRequireConflict(t, e, a.ID, before.ExpiresUnixMS)
	if walCount(t, dir) != walBefore {
		t.Fatal("a refused --lock comment was appended to the WAL")
	}

	// On a free issue --lock holds the lock for the write only.
	mustJSON(t, dir, nil, b.as("issue", "comment", free, "--lock", "--body", "quick note")...)
	l, _, ok := coordReadLock(t, dir, "issue:"+free)
	if !ok || l.Owner != b.ID || l.ExpiresUnixMS != 0 {
		t.Fatalf("lock of the free issue after a --lock comment: %+v (present %v), want B's, released", l, ok)
	}
	coordRequireReady(t, dir, []string{free}, b.as()...) // claimed stays hidden from B
}

// Locks on different resources can conflict (a path and what it contains,
// repo: and anything), which no compare-and-swap of one lock ref sees.
// Processes racing to acquire resources that all overlap one another:
// exactly one wins in every round, and only its lock is live afterwards.
func TestOverlappingLockAcquiresRacingHaveOneWinner(t *testing.T) {
	rounds := 4
	if testing.Short() {
		rounds = 2
	}
	// Each contains or equals every other (a trailing slash is the same path).
	resources := []string{"path:src/", "path:src/lib/a.go", "path:src/lib/", "path:src", "path:src/lib", "path:src/lib/a.go/"}
	dir, _ := newRepo(t)
	var labels []string
	for i := range resources {
		labels = append(labels, fmt.Sprintf("racer%d", i+1))
	}
	actors := coordActors(t, dir, labels...)
	for round := range rounds {
		var argvs [][]string
		for i, a := range actors {
			// Each round shifts who asks for what, so every pair of
			// resources meets in different orders.
			argvs = append(argvs, a.as("lock", "acquire", resources[(i+round)%len(resources)], "--ttl", "60", "--json"))
		}
		results := coordRunAll(t, dir, argvs)
		var winners []string
		for i, r := range results {
			env := parseEnvelope(t, r)
			switch {
			case env.OK:
				winners = append(winners, actors[i].Label+" "+resources[(i+round)%len(resources)])
			case env.Error.Code != "conflict":
				t.Fatalf("round %d: a losing acquire must be a conflict\n%s", round, r)
			}
		}
		if len(winners) != 1 {
			t.Fatalf("round %d: %d winners among overlapping locks: %v", round, len(winners), winners)
		}
		var status struct {
			Locks []struct{ Resource, Owner string } `json:"locks"`
		}
		mustJSON(t, dir, &status, "lock", "status")
		if len(status.Locks) != 1 {
			t.Fatalf("round %d: live locks %+v, want the winner's alone", round, status.Locks)
		}
		for _, a := range actors {
			if a.ID == status.Locks[0].Owner {
				mustJSON(t, dir, nil, a.as("lock", "release", status.Locks[0].Resource)...)
			}
		}
	}
}

// TestLockResourceWithoutANameSaysWhatIsValid: a refused resource is
// answered with the forms that are valid, each with its name, never with
// a bare "repo:" that is itself refused.
func TestLockResourceWithoutANameSaysWhatIsValid(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	for _, resource := range []string{"repo:", "path:", "issue:", "global"} {
		for _, action := range []string{"acquire", "renew", "release"} {
			e := mustFail(t, dir, "invalid_args", 2, "lock", action, resource)
			for _, want := range []string{"repo:NAME", "repo:global", "path:PATH", "issue:ID"} {
				if !strings.Contains(e.Message, want) {
					t.Fatalf("lock %s %s: message %q does not say %q", action, resource, e.Message, want)
				}
			}
			if strings.Contains(e.Message, "(repo:,") {
				t.Fatalf("lock %s %s: message %q offers the refused form", action, resource, e.Message)
			}
		}
	}
}

// An issue: lock names its issue by the full ID, whatever prefix was
// given, so a claimed issue cannot get a second holder through a prefix;
// a malformed or unknown ID is refused like any use of an issue ID.
func TestIssueLocksResolveTheirIssue(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	actors := coordActors(t, dir, "agentA", "agentB")
	a, b := actors[0], actors[1]
	id := create(t, dir, "claimed")
	var claim coordClaim
	mustJSON(t, dir, &claim, a.as("issue", "claim", id)...)

	e := mustFail(t, dir, "conflict", 4, b.as("lock", "acquire", "issue:"+id[:4])...)
	coordRequireConflict(t, e, a.ID, claim.ExpiresUnixMS)
	mustFail(t, dir, "invalid_args", 2, b.as("lock", "acquire", "issue:zzzz")...)
	mustFail(t, dir, "not_found", 3, b.as("lock", "acquire", "issue:"+strings.Repeat("f", 32))...)

	var own coordLockData
	mustJSON(t, dir, &own, a.as("lock", "acquire", "issue:"+id[:6])...)
	if own.Lock.Resource != "issue:"+id {
		t.Fatalf("lock on a prefix names %q, want the full ID", own.Lock.Resource)
	}
	var status struct {
		Locks     []struct{ Resource string } `json:"locks"`
		Conflicts []struct{ Resource string } `json:"conflicts"`
	}
	mustJSON(t, dir, &status, b.as("lock", "status", "--resource", "issue:"+id[:5])...)
	if len(status.Locks) != 1 || status.Locks[0].Resource != "issue:"+id || len(status.Conflicts) != 1 {
		t.Fatalf("lock status: %+v, want the one claim on issue:%s, conflicting", status, id)
	}
}

// A path conflict points at lock status, not the issue queue, and lock
// status --resource says in human form what conflicts.
func TestPathLockConflictHintsAndHumanStatus(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	actors := coordActors(t, dir, "agentA", "agentB")
	a, b := actors[0], actors[1]
	mustJSON(t, dir, nil, a.as("lock", "acquire", "path:src/")...)
	e := mustFail(t, dir, "conflict", 4, b.as("lock", "acquire", "path:src/a.go")...)
	hints := fmt.Sprint(e.Details["suggestions"])
	if !strings.Contains(hints, "grite lock status") || strings.Contains(hints, "issue ready") {
		t.Fatalf("path conflict suggestions %s", hints)
	}
	for _, tc := range []struct{ resource, want string }{
		{"path:src/a.go", "conflicting with path:src/a.go:\n  path:src/ held by " + a.ID},
		{"path:docs/", "nothing conflicts with path:docs/"},
	} {
		r := grite(t, dir, b.as("lock", "status", "--resource", tc.resource)...)
		if r.code != 0 || !strings.Contains(r.stdout, tc.want) {
			t.Fatalf("lock status --resource %s: want %q\n%s", tc.resource, tc.want, r)
		}
	}
}
