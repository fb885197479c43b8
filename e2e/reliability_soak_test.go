package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"grite/event"
	"grite/internal/testrepo"
)

// The kinds of operation the soak draws from: every write the CLI has, and
// the three kinds of sync.
var relSoakKinds = []string{
	"create", "update-title", "update-body", "close", "reopen",
	"label-add", "label-remove", "assignee-add", "assignee-remove",
	"comment", "link-add", "dep-add", "dep-remove",
	"claim", "release", "lock-acquire", "lock-release",
	"sync", "sync-pull", "sync-push",
}

// relSoakClone is one clone's worker: its two actors, what it knows, and
// what it did.
type relSoakClone struct {
	name   string
	dir    string
	actors []coordActor
	rng    *rand.Rand
	deck   []string
	known  []string    // issue IDs this clone has seen
	edges  [][3]string // dependency edges it added: source, target, type

	written []string       // event IDs reported by its successful writes
	undos   []relSoakUndo  // syncs that may have undone a lost claim
	kinds   map[string]int // successful operations by kind
	refused map[string]int // operations refused with conflict, by kind
	st      syncStats      // successful syncs, retries, rebases
	pulled  int            // events pulled by its syncs
}

// relSoakUndo is a sync that reported (or, failing with conflict, may have
// hidden) a lost claim: it appends AssigneeRemoved as the syncing actor.
type relSoakUndo struct {
	actor, issue string // issue "" when the sync failed and named none
}

// relSoakWrite is the event part of any write's data.
type relSoakWrite struct {
	IssueID  string   `json:"issue_id"`
	EventID  string   `json:"event_id"`
	EventIDs []string `json:"event_ids"`
	Action   string   `json:"action"` // dep add/remove
	// Changed is false for a change the issue already had: no event.
	Changed bool   `json:"changed"`
	Message string `json:"message"`
}

func (c *relSoakClone) nextKind() string {
	if len(c.deck) == 0 {
		c.deck = slices.Clone(relSoakKinds)
		c.rng.Shuffle(len(c.deck), func(i, j int) { c.deck[i], c.deck[j] = c.deck[j], c.deck[i] })
	}
	k := c.deck[0]
	c.deck = c.deck[1:]
	return k
}

func (c *relSoakClone) issue() string { return c.known[c.rng.IntN(len(c.known))] }

// claimable picks among the first few issues, so that clones contend.
func (c *relSoakClone) claimable() string { return c.known[c.rng.IntN(min(3, len(c.known)))] }

// args turns a kind into a command line for actor a.
func (c *relSoakClone) args(kind string, a coordActor, n int) []string {
	tag := fmt.Sprintf("%s-%d", c.name, n)
	pick := func(vs ...string) string { return vs[c.rng.IntN(len(vs))] }
	switch kind {
	case "create":
		return a.as("issue", "create", "--title", "soak "+tag, "--body", "body "+tag, "--label", pick("bug", "p1", "ui"))
	case "update-title":
		return a.as("issue", "update", c.issue(), "--title", "title "+tag)
	case "update-body":
		return a.as("issue", "update", c.issue(), "--body", "body "+tag)
	case "close", "reopen":
		return a.as("issue", kind, c.issue())
	case "label-add", "label-remove":
		return a.as("issue", "label", strings.TrimPrefix(kind, "label-"), c.issue(), "--label", pick("bug", "p1", "ui"))
	case "assignee-add", "assignee-remove":
		return a.as("issue", "assignee", strings.TrimPrefix(kind, "assignee-"), c.issue(), "--user", pick("alice", "bob"))
	case "comment":
		return a.as("issue", "comment", c.issue(), "--body", "comment "+tag)
	case "link-add":
		return a.as("issue", "link", "add", c.issue(), "--url", "https://example.com/"+tag)
	case "dep-add":
		src, tgt := c.issue(), c.issue()
		for tgt == src {
			tgt = c.issue()
		}
		return a.as("issue", "dep", "add", src, "--target", tgt, "--type", pick("blocks", "depends_on", "related_to"))
	case "dep-remove":
		if len(c.edges) > 0 {
			e := c.edges[c.rng.IntN(len(c.edges))]
			return a.as("issue", "dep", "remove", e[0], "--target", e[1], "--type", e[2])
		}
		src, tgt := c.issue(), c.issue()
		for tgt == src {
			tgt = c.issue()
		}
		return a.as("issue", "dep", "remove", src, "--target", tgt, "--type", "blocks")
	case "claim":
		return a.as("issue", "claim", c.claimable())
	case "release":
		return a.as("issue", "release", c.claimable())
	case "lock-acquire", "lock-release":
		return a.as("lock", strings.TrimPrefix(kind, "lock-"), pick("path:src/", "path:docs/", "repo:global"))
	case "sync":
		return a.as("sync")
	case "sync-pull":
		return a.as("sync", "--pull")
	case "sync-push":
		return a.as("sync", "--push")
	}
	panic("unknown kind " + kind)
}

// relSoakMayRefuse are the kinds a conflict may legitimately refuse: a
// claim or lock another actor holds, a release by a non-holder, a claim of
// a closed issue, a dependency that would close a cycle, a push that kept
// losing the race.
var relSoakMayRefuse = map[string]bool{
	"claim": true, "release": true, "lock-acquire": true, "lock-release": true,
	"dep-add": true, "sync": true, "sync-push": true,
}

// run performs ops operations (or until the deadline), reporting failures
// with t.Error: it runs on its own goroutine.
func (c *relSoakClone) run(t *testing.T, ops int, deadline time.Time) {
	for n := 0; n < ops && time.Now().Before(deadline); n++ {
		kind := "create" // the first issue, before drawing
		if len(c.known) > 0 {
			switch kind = c.nextKind(); {
			case kind == "create" && len(c.known) >= 40:
				kind = "comment" // keeps the final checks' size bounded in a long soak
			case strings.HasPrefix(kind, "dep-") && len(c.known) < 2:
				// An edge needs two issues: make one, and the edge later.
				c.deck = append(c.deck, kind)
				kind = "create"
			}
		}
		a := c.actors[c.rng.IntN(len(c.actors))]
		args := c.args(kind, a, n)
		r := grite(t, c.dir, append(args, "--json")...)
		env, err := parseEnvelopeErr(r)
		if err != nil {
			t.Error(err)
			return
		}
		if !env.OK {
			if env.Error.Code == "conflict" && r.code == 4 && relSoakMayRefuse[kind] {
				c.refused[kind]++
				if strings.HasPrefix(kind, "sync") {
					// Its pull may have undone a lost claim before the
					// push failed; the error names none.
					c.undos = append(c.undos, relSoakUndo{actor: a.ID})
					c.st.conflicts++
				}
				continue
			}
			t.Errorf("%s: unexpected failure\n%s", c.name, r)
			return
		}
		c.kinds[kind]++
		if strings.HasPrefix(kind, "sync") {
			var out relSyncData
			if err := jsonUnmarshal(env.Data, &out); err != nil {
				t.Errorf("%s: %v\n%s", c.name, err, r)
				return
			}
			if err := c.synced(t, a, out); err != nil {
				t.Error(err)
				return
			}
			continue
		}
		if strings.HasPrefix(kind, "lock-") {
			continue // lease locks are refs, not events
		}
		var w relSoakWrite
		if err := jsonUnmarshal(env.Data, &w); err != nil {
			t.Errorf("%s: %v\n%s", c.name, err, r)
			return
		}
		c.written = append(c.written, w.EventIDs...)
		if w.EventID != "" {
			c.written = append(c.written, w.EventID)
		}
		switch {
		case kind != "release" && kind != "claim" && !w.Changed && (w.EventID != "" || w.Message == ""):
			t.Errorf("%s: %s reported no change with event %q and message %q\n%s", c.name, kind, w.EventID, w.Message, r)
			return
		case kind != "release" && kind != "claim" && !w.Changed:
			// The issue already was as asked (say, a reopen of an open
			// issue): nothing written, as the message says.
		case kind == "create":
			c.known = append(c.known, w.IssueID)
		case kind == "dep-add" || kind == "dep-remove":
			if want := map[string]string{"dep-add": "added", "dep-remove": "removed"}[kind]; w.Action != want {
				t.Errorf("%s: %s reports action %q, want %q (docs/cli.md)\n%s", c.name, kind, w.Action, want, r)
				return
			}
			if kind == "dep-add" {
				c.edges = append(c.edges, [3]string{args[5], args[7], args[9]})
			}
		case kind != "release" && kind != "claim" && w.EventID == "":
			t.Errorf("%s: %s reported no event\n%s", c.name, kind, r)
			return
		}
	}
}

// synced records a successful sync and refreshes the issues the clone
// knows.
func (c *relSoakClone) synced(t *testing.T, a coordActor, out relSyncData) error {
	c.st.syncs++
	c.st.retries += out.Retries
	c.st.rebasedEvents += out.EventsRebased
	if out.Rebased {
		c.st.rebases++
	}
	c.pulled += out.EventsPulled
	for _, l := range out.LocksLost {
		c.undos = append(c.undos, relSoakUndo{actor: a.ID, issue: strings.TrimPrefix(l.Resource, "issue:")})
	}
	var l listOutput
	if err := gritJSONData(t, c.dir, &l, a.as("issue", "list")...); err != nil {
		return err
	}
	c.known = c.known[:0]
	for _, i := range l.Issues {
		c.known = append(c.known, i.IssueID)
	}
	return nil
}

// Convergence soak: 3 clones with 2 actors each run a seeded random mix of
// every write operation and of sync, sync --pull and sync --push through one
// bare remote, one process at a time per clone and all clones at once.
// After a final round of syncs every clone holds exactly the events the
// successful commands wrote (0 lost, 0 duplicated), the same events as the
// others, and the same view, which is the fold of those events.
//
// Short by default (about 60 operations, at most 30 s of them); with
// GRITE_SOAK set to a duration (GRITE_SOAK=10m go test -run
// TestReliabilitySoak ./e2e) the clones keep going until it ends.
func TestReliabilitySoak(t *testing.T) {
	t.Parallel()
	testrepo.BuildBinaries(t) // before the clock starts: the build is no scenario's time
	began := time.Now()
	seed := relSeed(t)
	// Every kind once in each clone (plus the first create, plus a create
	// made while too few issues existed for an edge), so -short keeps the
	// same size.
	perClone, budget := 2+len(relSoakKinds), 30*time.Second
	soak := os.Getenv("GRITE_SOAK")
	if soak != "" {
		d, err := time.ParseDuration(soak)
		if err != nil {
			t.Fatalf("GRITE_SOAK=%q: %v", soak, err)
		}
		perClone, budget = 1<<30, d
		t.Logf("soak for %v", d)
	}
	remote, dirs := syncRemoteAndClones(t, 3)
	rng := relRand(seed)
	var clones []*relSoakClone
	for i, dir := range dirs {
		name := string(rune('a' + i))
		clones = append(clones, &relSoakClone{
			name: name, dir: dir, actors: coordActors(t, dir, name+"1", name+"2"),
			rng: rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())), kinds: map[string]int{}, refused: map[string]int{},
		})
	}

	deadline := time.Now().Add(budget)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, c := range clones {
		wg.Go(func() {
			<-start
			c.run(t, perClone, deadline)
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	// The final round: every clone syncs twice, in order.
	for range 2 {
		for _, c := range clones {
			var out relSyncData
			mustJSON(t, c.dir, &out, c.actors[0].as("sync")...)
			if err := c.synced(t, c.actors[0], out); err != nil {
				t.Fatal(err)
			}
		}
	}

	// Events: the same set in every clone, on the remote and in a fresh
	// clone, none twice, and exactly what the successful commands wrote
	// plus the AssigneeRemoved a sync appends for a claim it lost.
	var written []string
	var undos []relSoakUndo
	ops, refused := 0, 0
	var total syncStats
	kinds := map[string]int{}
	for _, c := range clones {
		written = append(written, c.written...)
		undos = append(undos, c.undos...)
		for k, n := range c.kinds {
			kinds[k] += n
			ops += n
		}
		for _, n := range c.refused {
			refused += n
		}
		total.syncs += c.st.syncs
		total.retries += c.st.retries
		total.rebases += c.st.rebases
		total.rebasedEvents += c.st.rebasedEvents
		total.conflicts += c.st.conflicts
		t.Logf("clone %s: ops %v, refused %v, %d syncs (%d retries, %d rebases re-appending %d events, %d pulled, %d still rejected)",
			c.name, c.kinds, c.refused, c.st.syncs, c.st.retries, c.st.rebases, c.st.rebasedEvents, c.pulled, c.st.conflicts)
	}
	if dup := len(written) - len(relUnique(written)); dup != 0 {
		t.Fatalf("successful commands reported %d event IDs twice", dup)
	}
	_, fresh := syncRemoteAndClonesOf(t, dirs[0])
	mustSync(t, fresh, "--pull")
	ids := exportedEventIDs(t, dirs[0]) // each fails on an event listed twice
	for i, dir := range append(slices.Clone(dirs[1:]), fresh) {
		if got := exportedEventIDs(t, dir); !slices.Equal(got, ids) {
			t.Fatalf("clone %d exports %d events, clone a %d: missing %v, extra %v", i+1, len(got), len(ids), relMissing(ids, got), relMissing(got, ids))
		}
	}
	duplicated := 0
	for _, dir := range append(slices.Clone(dirs), remote, fresh) {
		duplicated += relWALRecords(t, dir) - len(ids)
	}
	if duplicated != 0 {
		t.Fatalf("the WALs hold %d event records more than the %d distinct events", duplicated, len(ids))
	}
	lost := relMissing(written, ids)
	if len(lost) != 0 {
		t.Fatalf("%d events of successful commands are lost: %v", len(lost), lost)
	}
	byID := map[string]eventJSON{}
	var export struct {
		Events []eventJSON `json:"events"`
	}
	mustJSON(t, dirs[0], &export, "export", "--format", "json")
	for _, e := range export.Events {
		byID[e.EventID] = e
	}
	extra := relMissing(ids, written)
	for _, id := range extra {
		e := byID[id]
		i := slices.IndexFunc(undos, func(u relSoakUndo) bool {
			return u.actor == e.Actor && (u.issue == e.IssueID || u.issue == "")
		})
		if e.kindName() != "AssigneeRemoved" || i < 0 {
			t.Fatalf("event %s (%s by %s on %s) was written by no successful command and undoes no lost claim", id, e.kindName(), e.Actor, e.IssueID)
		}
		undos = slices.Delete(undos, i, i+1)
	}

	// Views: identical in every clone (and for both actors of a clone), and
	// equal to the fold of the union of every clone's WAL.
	states := map[string]viewState{}
	for _, c := range clones {
		states[c.name] = readViewState(t, c.dir)
		if a, b := rawData(t, c.dir, c.actors[0].as("issue", "list")...), rawData(t, c.dir, c.actors[1].as("issue", "list")...); a != b || a != states[c.name].list {
			t.Fatalf("clone %s: its actors' views differ:\n%s\n%s", c.name, a, b)
		}
	}
	for _, c := range clones[1:] {
		requireSameView(t, "a", states["a"], c.name, states[c.name])
	}
	requireSameView(t, "a", states["a"], "fresh clone", readViewState(t, fresh))
	union := map[event.EventID]event.Event{}
	for _, dir := range dirs {
		for _, e := range relEventsOfWAL(t, dir) {
			union[e.ID] = e
		}
	}
	if len(union) != len(ids) {
		t.Fatalf("the clones' WALs hold %d distinct events, export %d", len(union), len(ids))
	}
	var all []event.Event
	for _, e := range union {
		all = append(all, e)
	}
	relRequireViewIsFold(t, dirs[0], all)

	if ops+refused == len(clones)*perClone { // not cut short by the time budget
		for _, k := range relSoakKinds {
			if kinds[k]+clones[0].refused[k]+clones[1].refused[k]+clones[2].refused[k] == 0 {
				t.Errorf("no %s was attempted", k)
			}
		}
	}
	t.Logf("soak: %d operations succeeded (%d refused with conflict) in %v; events written %d (+%d lost-claim undos by sync); syncs %d, retries %d, rebases %d re-appending %d events, syncs still rejected %d; lost 0, duplicated 0; %d issues converged in 3 clones + a fresh clone",
		ops, refused, time.Since(began).Round(time.Millisecond), len(written), len(extra), total.syncs, total.retries, total.rebases, total.rebasedEvents, total.conflicts, len(states["a"].shows))
	scenario := "convergence soak: 3 clones × 2 actors, every write op + sync/pull/push"
	if soak != "" {
		scenario += " (GRITE_SOAK=" + soak + ")"
	}
	relWriteReport(t, relReport{
		Scenario: scenario, Ops: ops + refused + 2*len(clones), Processes: ops + refused + 2*len(clones), Events: len(ids), Lost: 0, Duplicated: 0, Converged: true, Seed: seed,
		Notes: fmt.Sprintf("3 clones at once; %d syncs, %d retries, %d rebases re-appending %d events, %d refused ops, %d lost-claim undos; %d issues",
			total.syncs, total.retries, total.rebases, total.rebasedEvents, refused, len(extra), len(states["a"].shows)),
		Seconds: time.Since(began).Seconds(),
	})
}

func relUnique(ids []string) []string {
	s := slices.Clone(ids)
	slices.Sort(s)
	return slices.Compact(s)
}
