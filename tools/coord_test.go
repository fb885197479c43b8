package tools_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"grite/actor"
	"grite/internal/testrepo"
	"grite/lock"
	"grite/tools"
)

// coordClock is the injected clock of one test's sessions; they all run on
// the test's goroutine, so it needs no locking.
type coordClock struct{ now time.Time }

func (c *coordClock) Now() time.Time            { return c.now }
func (c *coordClock) advance(d time.Duration)   { c.now = c.now.Add(d) }
func (c *coordClock) ms(d time.Duration) uint64 { return uint64(c.now.Add(d).UnixMilli()) }

// coordRepo is a git repository whose agents share one clock.
type coordRepo struct {
	t     *testing.T
	dir   string
	clock *coordClock
}

func newCoordRepo(t *testing.T) *coordRepo {
	return &coordRepo{t: t, dir: testrepo.New(t), clock: &coordClock{now: time.UnixMilli(time.Now().UnixMilli())}}
}

// coordAgent is one actor's long-lived session, used like the MCP server
// uses its session: the view is caught up before every call.
type coordAgent struct {
	t     *testing.T
	s     *tools.Session
	id    string
	label string
}

// agent creates an actor with label and opens its session.
func (r *coordRepo) agent(label string) *coordAgent {
	r.t.Helper()
	ctx := context.Background()
	bare, err := tools.OpenBare(r.dir, r.clock.Now)
	if err != nil {
		r.t.Fatal(err)
	}
	info, err := tools.ActorInit.Call(ctx, bare, tools.ActorInitInput{Label: label})
	if err != nil {
		r.t.Fatal(err)
	}
	s, err := tools.Open(ctx, tools.OpenOptions{Dir: r.dir, Selection: actor.Selection{ActorID: info.ActorID}, Now: r.clock.Now})
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { s.Close() })
	return &coordAgent{t: r.t, s: s, id: info.ActorID, label: label}
}

// open opens another session of an existing actor; the caller closes it.
func (r *coordRepo) open(actorID string) *tools.Session {
	r.t.Helper()
	s, err := tools.Open(context.Background(), tools.OpenOptions{Dir: r.dir, Selection: actor.Selection{ActorID: actorID}, Now: r.clock.Now})
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

func coordCall[I, O any](a *coordAgent, op tools.Op[I, O], in I) (O, error) {
	a.t.Helper()
	ctx := context.Background()
	if err := a.s.CatchUp(ctx); err != nil {
		a.t.Fatal(err)
	}
	return op.Call(ctx, a.s, in)
}

func coordMust[I, O any](a *coordAgent, op tools.Op[I, O], in I) O {
	a.t.Helper()
	out, err := coordCall(a, op, in)
	if err != nil {
		a.t.Fatalf("%s as %s: %v", op.Name, a.label, err)
	}
	return out
}

// coordConflict requires err to be a conflict naming holder and expiry.
func coordConflict(t *testing.T, err error, holder string, expires uint64) *tools.Error {
	t.Helper()
	var e *tools.Error
	if !errors.As(err, &e) || e.Code != tools.CodeConflict {
		t.Fatalf("want a conflict, got %v", err)
	}
	if e.Details["holder"] != holder || e.Details["expires_unix_ms"] != expires {
		t.Fatalf("conflict details holder %v expires %v, want %s %d", e.Details["holder"], e.Details["expires_unix_ms"], holder, expires)
	}
	return e
}

func (a *coordAgent) ready() []string {
	a.t.Helper()
	ids := []string{}
	for _, i := range coordMust(a, tools.IssueReady, tools.IssueReadyInput{}).Issues {
		ids = append(ids, i.IssueID)
	}
	return ids
}

func (a *coordAgent) create(title string) string {
	a.t.Helper()
	return coordMust(a, tools.IssueCreate, tools.IssueCreateInput{Title: title}).IssueID
}

func (a *coordAgent) assignees(id string) []string {
	a.t.Helper()
	return coordMust(a, tools.IssueShow, tools.IssueShowInput{ID: id}).Issue.Assignees
}

func (a *coordAgent) lock(action, resource, ttl string) (tools.LockOutput, error) {
	a.t.Helper()
	return coordCall(a, tools.Lock, tools.LockInput{Action: action, Resource: resource, TTL: ttl})
}

func (a *coordAgent) liveLocks() []string {
	a.t.Helper()
	var rs []string
	for _, l := range coordMust(a, tools.LockStatus, tools.LockStatusInput{}).Locks {
		rs = append(rs, l.Resource+" "+l.Owner)
	}
	return rs
}

func TestClaimExpiryHandsTheIssueToAnotherActorWithoutWaiting(t *testing.T) {
	r := newCoordRepo(t)
	a, b := r.agent("agentA"), r.agent("agentB")
	id := a.create("expiring")

	claim := coordMust(a, tools.IssueClaim, tools.ClaimInput{ID: id, TTL: "1s"})
	expires := r.clock.ms(time.Second)
	if claim.ExpiresUnixMS != expires || claim.Assignee != "agentA" {
		t.Fatalf("claim: %+v, want expiry %d", claim, expires)
	}

	r.clock.advance(500 * time.Millisecond)
	_, err := coordCall(b, tools.IssueClaim, tools.ClaimInput{ID: id})
	coordConflict(t, err, a.id, expires)
	if _, err := coordCall(b, tools.IssueClaim, tools.ClaimInput{Next: true}); tools.AsError(err).Code != tools.CodeNotFound {
		t.Fatalf("claim --next with only a claimed issue: %v, want not_found", err)
	}
	if got := b.ready(); len(got) != 0 {
		t.Fatalf("B's ready queue while A's claim is live: %v", got)
	}
	if got := a.ready(); len(got) != 0 {
		t.Fatalf("the holder's own claim must hide the issue from it too: %v", got)
	}
	// The holder finds its claim in whoami and with --claimed-by me.
	who := coordMust(a, tools.WhoAmI, tools.WhoAmIInput{})
	if len(who.Claims) != 1 || who.Claims[0].IssueID != id || who.Claims[0].Title != "expiring" || who.Claims[0].ExpiresUnixMS != expires {
		t.Fatalf("whoami claims %+v, want %s until %d", who.Claims, id, expires)
	}
	for _, who := range []string{"me", "agentA", a.id, a.id[:6]} {
		mine := coordMust(a, tools.IssueList, tools.IssueListInput{ClaimedBy: who})
		if mine.Total != 1 || mine.Issues[0].IssueID != id {
			t.Fatalf("list --claimed-by %s: %+v", who, mine)
		}
	}
	if theirs := coordMust(b, tools.IssueList, tools.IssueListInput{ClaimedBy: "me"}); theirs.Total != 0 {
		t.Fatalf("B lists A's claim as its own: %+v", theirs)
	}

	// At the expiry instant (expired iff now >= expires) nobody ran a
	// command, yet the issue is ready for B again.
	r.clock.advance(500 * time.Millisecond)
	if got := b.ready(); !slices.Equal(got, []string{id}) {
		t.Fatalf("B's ready queue after A's claim expired: %v", got)
	}
	took := coordMust(b, tools.IssueClaim, tools.ClaimInput{Next: true})
	if took.IssueID != id || took.TookOverFrom != a.id || took.Owner != b.id || took.AlreadyHeld {
		t.Fatalf("takeover: %+v, want took_over_from %s", took, a.id)
	}
	if got := b.assignees(id); !slices.Equal(got, []string{"agentB"}) {
		t.Fatalf("assignees after takeover %v, want [agentB]", got)
	}

	// A's stale claim is gone: A cannot release B's, and B's hides it.
	_, err = coordCall(a, tools.IssueRelease, tools.ReleaseInput{ID: id})
	coordConflict(t, err, b.id, took.ExpiresUnixMS)
	if got := a.ready(); len(got) != 0 {
		t.Fatalf("A's ready queue after B took over: %v", got)
	}
	if got := b.assignees(id); !slices.Equal(got, []string{"agentB"}) {
		t.Fatalf("assignees after A's refused release %v", got)
	}
}

func TestClaimTwiceAndReleaseInProcess(t *testing.T) {
	r := newCoordRepo(t)
	a, b := r.agent("agentA"), r.agent("agentB")
	id := a.create("work")
	first := coordMust(a, tools.IssueClaim, tools.ClaimInput{ID: id})
	r.clock.advance(time.Minute)
	again := coordMust(a, tools.IssueClaim, tools.ClaimInput{ID: id})
	if !again.AlreadyHeld || len(again.EventIDs) != 0 || again.ExpiresUnixMS != r.clock.ms(tools.DefaultClaimTTL) || again.ExpiresUnixMS <= first.ExpiresUnixMS {
		t.Fatalf("second claim %+v: want already_held, no events, the lease renewed for its own length", again)
	}
	r.clock.advance(time.Minute)
	longer := coordMust(a, tools.IssueClaim, tools.ClaimInput{ID: id, TTL: "2h"})
	if !longer.AlreadyHeld || longer.ExpiresUnixMS != r.clock.ms(2*time.Hour) {
		t.Fatalf("claim of a held issue with a TTL: %+v, want renewed for 2h", longer)
	}
	show := coordMust(a, tools.IssueShow, tools.IssueShowInput{ID: id})
	added := 0
	for _, e := range show.Events {
		if _, ok := e.Kind["AssigneeAdded"]; ok {
			added++
		}
	}
	if added != 1 || !slices.Equal(show.Issue.Assignees, []string{"agentA"}) {
		t.Fatalf("%d AssigneeAdded, assignees %v", added, show.Issue.Assignees)
	}
	_, err := coordCall(b, tools.IssueRelease, tools.ReleaseInput{ID: id})
	coordConflict(t, err, a.id, longer.ExpiresUnixMS)
	rel := coordMust(a, tools.IssueRelease, tools.ReleaseInput{ID: id})
	if !rel.Released || rel.EventID == "" || len(a.assignees(id)) != 0 {
		t.Fatalf("release %+v, assignees %v", rel, a.assignees(id))
	}
	if got := b.ready(); !slices.Equal(got, []string{id}) {
		t.Fatalf("ready after release %v", got)
	}
	coordMust(a, tools.IssueUpdate, tools.IssueUpdateInput{ID: id, State: "closed"})
	_, err = coordCall(b, tools.IssueClaim, tools.ClaimInput{ID: id})
	if tools.AsError(err).Code != tools.CodeConflict {
		t.Fatalf("claim of a closed issue: %v, want conflict", err)
	}
}

func TestLockGCPrunesOnlyExpiredLocksWithInjectedClock(t *testing.T) {
	r := newCoordRepo(t)
	a, b := r.agent("agentA"), r.agent("agentB")
	for _, l := range []struct{ res, ttl string }{{"path:short/", "1s"}, {"path:long/", "1h"}, {"path:released/", "1h"}} {
		if _, err := a.lock("acquire", l.res, l.ttl); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.lock("release", "path:released/", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := b.lock("acquire", "path:other/", "10s"); err != nil {
		t.Fatal(err)
	}

	gc := func(want ...string) {
		t.Helper()
		out, err := tools.LockGC.Call(context.Background(), a.s, tools.NoInput{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range out.Pruned {
			got = append(got, p.Resource)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) || out.ExpiredPruned != len(want) {
			t.Fatalf("gc pruned %v (%d), want %v", got, out.ExpiredPruned, want)
		}
		for _, res := range want {
			if h, err := a.s.Repo.ReadRef(lock.RefName(res)); err != nil || !h.IsZero() {
				t.Fatalf("ref of %s still there after gc (%v)", res, err)
			}
		}
	}

	r.clock.advance(999 * time.Millisecond)
	gc("path:released/")
	r.clock.advance(time.Millisecond)
	gc("path:short/")
	if got := a.liveLocks(); !slices.Equal(got, []string{"path:long/ " + a.id, "path:other/ " + b.id}) {
		t.Fatalf("live locks %v", got)
	}
	r.clock.advance(9 * time.Second)
	gc("path:other/")
	if got := a.liveLocks(); !slices.Equal(got, []string{"path:long/ " + a.id}) {
		t.Fatalf("live locks %v", got)
	}
	// A pruned resource can be taken again from scratch.
	if out, err := b.lock("acquire", "path:short/", ""); err != nil || out.Lock.Owner != b.id {
		t.Fatalf("acquire after gc: %+v %v", out, err)
	}
}

func TestLockExpiryRenewAndReleaseWithInjectedClock(t *testing.T) {
	r := newCoordRepo(t)
	a, b := r.agent("agentA"), r.agent("agentB")
	held, err := a.lock("acquire", "repo:global", "2s")
	if err != nil {
		t.Fatal(err)
	}
	expires := held.Lock.ExpiresUnixMS
	for _, action := range []string{"acquire", "renew", "release"} {
		_, err := b.lock(action, "repo:global", "")
		coordConflict(t, err, a.id, expires)
	}
	_, err = b.lock("acquire", "path:anything", "")
	coordConflict(t, err, a.id, expires)

	r.clock.advance(time.Second)
	renewed, err := a.lock("renew", "repo:global", "10s")
	if err != nil || renewed.Lock.ExpiresUnixMS != r.clock.ms(10*time.Second) {
		t.Fatalf("renew: %+v %v", renewed, err)
	}
	r.clock.advance(2 * time.Second) // past the first expiry, not the renewed one
	_, err = b.lock("acquire", "repo:global", "")
	coordConflict(t, err, a.id, renewed.Lock.ExpiresUnixMS)

	r.clock.advance(8 * time.Second)
	taken, err := b.lock("acquire", "repo:global", "")
	if err != nil || taken.Lock.Owner != b.id || taken.Lock.ExpiresUnixMS != r.clock.ms(tools.DefaultLockTTL) {
		t.Fatalf("acquire of an expired lock: %+v %v", taken, err)
	}
	// The expired owner can neither renew nor release the new holder's lock.
	for _, action := range []string{"renew", "release"} {
		_, err := a.lock(action, "repo:global", "")
		coordConflict(t, err, b.id, taken.Lock.ExpiresUnixMS)
	}
	if n := testrepo.Git(t, r.dir, "rev-list", "--count", lock.RefName("repo:global")); n != "3" {
		t.Fatalf("lock history has %s commits, want 3 (acquire, renew, takeover)", n)
	}
	released, err := b.lock("release", "repo:global", "")
	if err != nil || released.Lock.Live || released.Lock.ExpiresUnixMS != 0 {
		t.Fatalf("release: %+v %v", released, err)
	}
	if out, err := a.lock("acquire", "repo:global", ""); err != nil || out.Lock.Owner != a.id {
		t.Fatalf("acquire after release: %+v %v", out, err)
	}
}

// Renewing never acquires: one's own expired or released lock is not
// held, so renewing it is not_found, and the locks others took meanwhile
// are left alone.
func TestLockRenewOfALockNotHeldIsNotFound(t *testing.T) {
	for _, release := range []bool{false, true} {
		r := newCoordRepo(t)
		a, b := r.agent("agentA"), r.agent("agentB")
		if _, err := a.lock("acquire", "path:src/", "1s"); err != nil {
			t.Fatal(err)
		}
		if release {
			if _, err := a.lock("release", "path:src/", ""); err != nil {
				t.Fatal(err)
			}
		}
		r.clock.advance(time.Second)
		if _, err := b.lock("acquire", "path:src/main.go", "1m"); err != nil {
			t.Fatal(err)
		}
		_, err := a.lock("renew", "path:src/", "1m")
		if e := tools.AsError(err); e.Code != tools.CodeNotFound || !strings.Contains(fmt.Sprint(e.Details["suggestions"]), "lock acquire path:src/") {
			t.Fatalf("renew of a lock not held (released first: %v): %v, want not_found suggesting acquire", release, err)
		}
		if got := a.liveLocks(); !slices.Equal(got, []string{"path:src/main.go " + b.id}) {
			t.Fatalf("live locks after a refused renew (released first: %v): %v", release, got)
		}
	}
}

// A renew without a TTL keeps the lease's own length (a 2 h lease is not
// cut to the default 5 m).
func TestLockRenewWithoutTTLKeepsTheLease(t *testing.T) {
	r := newCoordRepo(t)
	a := r.agent("agentA")
	if _, err := a.lock("acquire", "repo:release", "2h"); err != nil {
		t.Fatal(err)
	}
	r.clock.advance(time.Hour)
	out, err := a.lock("renew", "repo:release", "")
	if err != nil || out.Lock.ExpiresUnixMS != r.clock.ms(2*time.Hour) {
		t.Fatalf("renew without ttl: %+v %v, want 2h from now", out, err)
	}
}

func TestLockConflictRulesBetweenNamespaces(t *testing.T) {
	r := newCoordRepo(t)
	a, b := r.agent("agentA"), r.agent("agentB")
	// issue: locks name issues that exist (the ID is resolved first).
	ids := strings.NewReplacer("issue:X", "issue:"+a.create("x"), "issue:Y", "issue:"+a.create("y"))
	for _, tc := range []struct {
		held, want string
		conflict   bool
	}{
		{"path:src/", "path:src/main.go", true},
		{"path:src/main.go", "path:src/", true},
		{"path:src", "path:src/", true},
		{"path:src/", "path:src/", true},
		{"path:src/", "path:srcx/a", false},
		{"path:src/a", "path:src/b", false},
		{"path:src/", "issue:X", false},
		{"repo:global", "path:src/", true},
		{"path:src/", "repo:global", true},
		{"repo:global", "issue:X", true},
		{"repo:deploy", "issue:X", true},
		{"issue:X", "repo:deploy", true},
		{"repo:deploy", "repo:global", true},
		{"issue:X", "issue:X", true},
		{"issue:X", "issue:Y", false},
	} {
		tc.held, tc.want = ids.Replace(tc.held), ids.Replace(tc.want)
		t.Run(tc.held+" vs "+tc.want, func(t *testing.T) {
			defer func() { // leave no live lock to the next case
				for _, who := range []*coordAgent{a, b} {
					for _, res := range []string{tc.held, tc.want} {
						if _, err := who.lock("release", res, ""); err != nil && tools.AsError(err).Code != tools.CodeConflict {
							t.Fatal(err)
						}
					}
				}
			}()
			held, err := a.lock("acquire", tc.held, "")
			if err != nil {
				t.Fatal(err)
			}
			status := coordMust(b, tools.LockStatus, tools.LockStatusInput{Resource: tc.want})
			_, err = b.lock("acquire", tc.want, "")
			if !tc.conflict {
				if err != nil || len(status.Conflicts) != 0 {
					t.Fatalf("want no conflict: %v, status %+v", err, status.Conflicts)
				}
				return
			}
			e := coordConflict(t, err, a.id, held.Lock.ExpiresUnixMS)
			if e.Details["resource"] != tc.held || len(status.Conflicts) != 1 || status.Conflicts[0].Resource != tc.held {
				t.Fatalf("conflict names %v, status %+v; want %s", e.Details["resource"], status.Conflicts, tc.held)
			}
			// The holder's own locks never conflict with each other.
			if _, err := a.lock("acquire", tc.want, ""); err != nil {
				t.Fatalf("holder acquiring %s: %v", tc.want, err)
			}
		})
	}
}

func TestLockFlagKeepsTheClaimantsClaimInProcess(t *testing.T) {
	r := newCoordRepo(t)
	a, b := r.agent("agentA"), r.agent("agentB")
	claimed, free := a.create("claimed"), a.create("free")
	claim := coordMust(a, tools.IssueClaim, tools.ClaimInput{ID: claimed})
	ctx := context.Background()
	comment := func(who *coordAgent, id string) (tools.WriteResult, error) {
		if err := who.s.CatchUp(ctx); err != nil {
			t.Fatal(err)
		}
		return tools.WithIssueLock(ctx, who.s, id, func() (tools.WriteResult, error) {
			return tools.IssueComment.Call(ctx, who.s, tools.IssueCommentInput{ID: id, Body: "note"})
		})
	}
	if _, err := comment(a, claimed); err != nil {
		t.Fatal(err)
	}
	status := coordMust(a, tools.LockStatus, tools.LockStatusInput{})
	if len(status.Locks) != 1 || status.Locks[0].Owner != a.id || status.Locks[0].ExpiresUnixMS != claim.ExpiresUnixMS {
		t.Fatalf("claim after the claimant's --lock write: %+v", status.Locks)
	}
	ran := false
	if err := b.s.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := tools.WithIssueLock(ctx, b.s, claimed, func() (struct{}, error) { ran = true; return struct{}{}, nil })
	coordConflict(t, err, a.id, claim.ExpiresUnixMS)
	if ran {
		t.Fatal("the write ran without the lock")
	}
	if _, err := comment(b, free); err != nil {
		t.Fatal(err)
	}
	if got := b.liveLocks(); !slices.Equal(got, []string{"issue:" + claimed + " " + a.id}) {
		t.Fatalf("live locks after B's --lock write: %v (B's must be released)", got)
	}
}

func TestLockPolicyRequireRefusesWritesOnAnotherActorsClaim(t *testing.T) {
	r := newCoordRepo(t)
	a, b := r.agent("agentA"), r.agent("agentB")
	id := a.create("claimed")
	claim := coordMust(a, tools.IssueClaim, tools.ClaimInput{ID: id, TTL: "1m"})
	cfg, err := a.s.Grite.LoadRepoConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.LockPolicy = "require"
	if err := a.s.Grite.SaveRepoConfig(cfg); err != nil {
		t.Fatal(err)
	}
	head, _ := a.s.WAL.Head()
	_, err = coordCall(b, tools.IssueComment, tools.IssueCommentInput{ID: id, Body: "no"})
	coordConflict(t, err, a.id, claim.ExpiresUnixMS)
	if now, _ := a.s.WAL.Head(); now != head {
		t.Fatal("a refused write moved the WAL")
	}
	// Once the claim expires the policy has nothing to enforce.
	r.clock.advance(time.Minute)
	if _, err := coordCall(b, tools.IssueComment, tools.IssueCommentInput{ID: id, Body: "yes"}); err != nil {
		t.Fatal(err)
	}
}

// Two writers whose views have not seen each other's edge can close a
// cycle (two clones before they sync): it is kept, and doctor and dep topo
// report it.
func TestDepCycleFromStaleViewsIsReportedByDoctor(t *testing.T) {
	r := newCoordRepo(t)
	a := r.agent("agentA")
	x, y := a.create("X"), a.create("Y")
	// B works in a clone of A's repository and has pulled both issues.
	r2 := &coordRepo{t: t, dir: filepath.Join(t.TempDir(), "clone"), clock: r.clock}
	testrepo.Git(t, filepath.Dir(r2.dir), "clone", "-q", r.dir, r2.dir)
	b := r2.agent("agentB")
	coordMust(b, tools.Sync, tools.SyncInput{Mode: "pull"})
	coordMust(a, tools.IssueDep, tools.DepInput{ID: x, Target: y, Type: "depends_on", Action: "add"})
	// B's cycle check cannot see A's edge, which it has not pulled.
	ctx := context.Background()
	if _, err := tools.IssueDep.Call(ctx, b.s, tools.DepInput{ID: x, Target: y, Type: "blocks", Action: "add"}); err != nil {
		t.Fatalf("B's edge with a stale view: %v", err)
	}
	coordMust(b, tools.Sync, tools.SyncInput{})

	if err := a.s.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	out, err := tools.Doctor.Call(ctx, a.s, tools.DoctorInput{})
	if err != nil {
		t.Fatal(err)
	}
	var check *tools.Check
	for i := range out.Checks {
		if out.Checks[i].Name == "dependency_cycles" {
			check = &out.Checks[i]
		}
	}
	if out.Healthy || check == nil || check.OK || check.Code != tools.CodeConflict ||
		!strings.Contains(check.Message, x) || !strings.Contains(check.Message, y) {
		t.Fatalf("doctor: healthy %v, dependency_cycles %+v", out.Healthy, check)
	}
	topo := coordMust(a, tools.DepTopo, tools.DepTopoInput{})
	if want := [][]string{sortedPair(x, y)}; len(topo.Cycles) != 1 || !slices.Equal(topo.Cycles[0], want[0]) {
		t.Fatalf("dep topo cycles %v, want %v", topo.Cycles, want)
	}
	if got := a.ready(); len(got) != 0 {
		t.Fatalf("issues in a cycle are never ready: %v", got)
	}

	coordMust(b, tools.IssueDep, tools.DepInput{ID: x, Target: y, Type: "blocks", Action: "remove"})
	coordMust(b, tools.Sync, tools.SyncInput{})
	if err := a.s.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if out, err = tools.Doctor.Call(ctx, a.s, tools.DoctorInput{}); err != nil || !out.Healthy {
		t.Fatalf("doctor after removing an edge: %+v %v", out, err)
	}
	if got := a.ready(); !slices.Equal(got, []string{y}) {
		t.Fatalf("ready after the cycle is broken: %v, want [Y]", got)
	}
}

func sortedPair(a, b string) []string {
	if b < a {
		a, b = b, a
	}
	return []string{a, b}
}

// blocks and depends_on both mean "waits for" (A blocks B: B waits for A;
// A depends_on B: A waits for B), so a cycle through any mix of them is
// refused, while related_to never is.
func TestDepCycleRefusalTable(t *testing.T) {
	const d, b, rel = "depends_on", "blocks", "related_to"
	type edge struct {
		from, to int
		typ      string
	}
	cases := []struct {
		name  string
		edges []edge
		cycle []int // issues the refusal of the last edge names; nil: all accepted
	}{
		{"direct depends_on", []edge{{0, 1, d}, {1, 0, d}}, []int{0, 1}},
		{"direct blocks", []edge{{0, 1, b}, {1, 0, b}}, []int{0, 1}},
		{"depends_on chain", []edge{{0, 1, d}, {1, 2, d}, {2, 0, d}}, []int{0, 1, 2}},
		{"blocks chain", []edge{{0, 1, b}, {1, 2, b}, {2, 0, b}}, []int{0, 1, 2}},
		{"depends_on then blocks on the same pair", []edge{{0, 1, d}, {0, 1, b}}, []int{0, 1}},
		{"blocks then depends_on on the same pair", []edge{{0, 1, b}, {0, 1, d}}, []int{0, 1}},
		{"blocks chain closed by depends_on", []edge{{0, 1, b}, {1, 2, b}, {0, 2, d}}, []int{0, 1, 2}},
		{"depends_on chain closed by blocks", []edge{{0, 1, d}, {1, 2, d}, {0, 2, b}}, []int{0, 1, 2}},
		{"depends_on agrees with the reverse blocks", []edge{{0, 1, d}, {1, 0, b}}, nil},
		{"diamond", []edge{{0, 1, d}, {0, 2, d}, {1, 2, d}}, nil},
		{"related_to both ways", []edge{{0, 1, rel}, {1, 0, rel}}, nil},
		{"related_to against a wait edge", []edge{{0, 1, d}, {1, 0, rel}, {2, 0, b}, {0, 2, rel}}, nil},
	}
	r := newCoordRepo(t)
	a := r.agent("agentA")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ids []string
			for _, e := range tc.edges {
				for len(ids) <= max(e.from, e.to) {
					ids = append(ids, a.create(fmt.Sprintf("%s %d", tc.name, len(ids))))
				}
			}
			for i, e := range tc.edges {
				in := tools.DepInput{ID: ids[e.from], Target: ids[e.to], Type: e.typ, Action: "add"}
				if i < len(tc.edges)-1 || tc.cycle == nil {
					coordMust(a, tools.IssueDep, in)
					continue
				}
				head, _ := a.s.WAL.Head()
				_, err := coordCall(a, tools.IssueDep, in)
				te := tools.AsError(err)
				if err == nil || te.Code != tools.CodeConflict {
					t.Fatalf("closing edge: %v, want conflict", err)
				}
				named, _ := te.Details["cycle"].([]string)
				named = slices.Clone(named)
				slices.Sort(named)
				named = slices.Compact(named)
				var want []string
				for _, c := range tc.cycle {
					want = append(want, ids[c])
					if !strings.Contains(te.Message, ids[c][:8]) {
						t.Fatalf("refusal does not name %s: %s", ids[c][:8], te.Message)
					}
				}
				slices.Sort(want)
				if !slices.Equal(named, want) {
					t.Fatalf("refusal names %v, want %v", named, want)
				}
				if now, _ := a.s.WAL.Head(); now != head {
					t.Fatal("a refused edge moved the WAL")
				}
			}
			if topo := coordMust(a, tools.DepTopo, tools.DepTopoInput{}); len(topo.Cycles) != 0 {
				t.Fatalf("cycles after accepted edges: %v", topo.Cycles)
			}
		})
	}
}

// An edit comes after every event of the issue its author's view holds,
// even from a clock behind the one that wrote them, so it wins; a create
// (a new ID) simply takes the clock's time. Several events of one call
// keep their order.
func TestEditsFollowWhatTheirAuthorSaw(t *testing.T) {
	r := newCoordRepo(t)
	a, b := r.agent("ahead"), r.agent("behind")
	created := coordMust(a, tools.IssueCreate, tools.IssueCreateInput{Title: "first"})
	createdAt := r.clock.ms(0)
	r.clock.advance(-time.Hour) // b's clock is an hour behind a's
	title := "second"
	coordMust(b, tools.IssueUpdate, tools.IssueUpdateInput{ID: created.IssueID, Title: &title, AddLabels: []string{"x", "y"}})
	other := coordMust(b, tools.IssueCreate, tools.IssueCreateInput{Title: "new"})
	show := coordMust(a, tools.IssueShow, tools.IssueShowInput{ID: created.IssueID})
	if show.Issue.Title != "second" {
		t.Fatalf("title %q: the edit from the clock behind lost", show.Issue.Title)
	}
	if n := len(show.Events); n != 4 { // create, title, two labels
		t.Fatalf("%d events, want 4", n)
	}
	for i, e := range show.Events[1:] {
		if want := createdAt + 1 + uint64(i); e.TS != want {
			t.Fatalf("edit event %d ts %d, want %d (just after the create at %d)", i, e.TS, want, createdAt)
		}
	}
	created2 := coordMust(a, tools.IssueShow, tools.IssueShowInput{ID: other.IssueID})
	if ts := created2.Events[0].TS; ts != r.clock.ms(0) {
		t.Fatalf("create ts %d, want the clock's %d", ts, r.clock.ms(0))
	}
}

// One session (an agent, or an orchestrator dispatching through one) takes
// several tasks with claim next: each call returns a different issue,
// oldest first while it claims alone, and nothing once all are its own.
func TestClaimNextTwiceTakesTwoDifferentIssues(t *testing.T) {
	r := newCoordRepo(t)
	a := r.agent("agentA")
	first := a.create("first")
	r.clock.advance(time.Millisecond) // created_ts orders the queue
	second := a.create("second")
	var got []string
	for range 2 {
		got = append(got, coordMust(a, tools.IssueClaim, tools.ClaimInput{Next: true}).IssueID)
	}
	if !slices.Equal(got, []string{first, second}) {
		t.Fatalf("claim next twice gave %v, want %s then %s", got, first, second)
	}
	_, err := coordCall(a, tools.IssueClaim, tools.ClaimInput{Next: true})
	if e := tools.AsError(err); e.Code != tools.CodeNotFound || !strings.Contains(fmt.Sprint(e.Details["suggestions"]), "--claimed-by me") {
		t.Fatalf("claim next with every issue claimed by the caller: %v, want not_found pointing at its claims", err)
	}
	mine := coordMust(a, tools.IssueList, tools.IssueListInput{ClaimedBy: "me"})
	if mine.Total != 2 {
		t.Fatalf("list --claimed-by me: %+v", mine)
	}
}
