package e2e

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"grite/internal/testrepo"
)

// runAtOnce runs each clone's grite commands (with --json) in its own
// goroutine, one after another within a clone, all clones at the same time,
// and stops the test if any failed. It returns how many events they wrote
// (each command writes one, or none when it changes nothing).
func runAtOnce(t *testing.T, edits map[string][][]string) int {
	t.Helper()
	testrepo.BuildBinaries(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	n := 0
	for dir, cmds := range edits {
		wg.Go(func() {
			for _, args := range cmds {
				// A change the clone's issue already has writes no event.
				var w struct {
					Changed bool `json:"changed"`
				}
				if err := gritJSONData(t, dir, &w, args...); err != nil {
					t.Error(err)
					return
				}
				if w.Changed {
					mu.Lock()
					n++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return n
}

func TestSyncConcurrentEditsConvergeInEveryOrder(t *testing.T) {
	t.Parallel()
	_, clones := syncRemoteAndClones(t, 3)
	a, b, c := clones[0], clones[1], clones[2]
	name := map[string]string{a: "a", b: "b", c: "c"}
	syncAll := func(order ...string) {
		t.Helper()
		for _, dir := range order {
			mustSync(t, dir)
		}
	}
	comments := map[string][]string{} // issue -> every comment body written
	say := func(issue, body string) []string {
		comments[issue] = append(comments[issue], body)
		return []string{"issue", "comment", issue, "--body", body}
	}
	events := 0

	x := create(t, a, "X", "--label", "bug", "--label", "triage")
	y := create(t, a, "Y")
	z := create(t, a, "Z", "--body", "z body")
	events += 3
	syncAll(a, b, c)
	w := create(t, c, "W by c") // local to c until it syncs
	events++

	// Round 1: the three clones edit the same issues at once, then sync in
	// one order.
	events += runAtOnce(t, map[string][][]string{
		a: {
			{"issue", "update", x, "--title", "X by a"},
			{"issue", "label", "remove", x, "--label", "bug"},
			{"issue", "close", x},
			say(x, "a1 on X"),
			{"issue", "assignee", "add", x, "--user", "alice"},
			{"issue", "label", "add", y, "--label", "p1"},
			say(y, "a1 on Y"),
		},
		b: {
			{"issue", "update", x, "--title", "X by b"},
			{"issue", "label", "add", x, "--label", "bug"},
			{"issue", "reopen", x},
			say(x, "b1 on X"),
			{"issue", "assignee", "add", x, "--user", "bob"},
			{"issue", "close", y},
			say(y, "b1 on Y"),
			{"issue", "assignee", "add", y, "--user", "alice"},
		},
		c: {
			{"issue", "update", x, "--title", "X by c"},
			{"issue", "label", "remove", x, "--label", "bug"},
			{"issue", "label", "add", x, "--label", "wontfix"},
			{"issue", "close", x},
			say(x, "c1 on X"),
			{"issue", "assignee", "remove", x, "--user", "alice"},
			{"issue", "update", z, "--title", "Z by c"},
			say(z, "c1 on Z"),
			say(w, "c1 on W"),
		},
	})
	syncAll(a, b, c, a, b)

	// Round 2: the same, then sync in another order.
	events += runAtOnce(t, map[string][][]string{
		a: {
			{"issue", "reopen", x},
			{"issue", "label", "add", x, "--label", "bug"},
			say(x, "a2 on X"),
			{"issue", "update", y, "--body", "y body by a"},
			{"issue", "assignee", "remove", x, "--user", "bob"},
			{"issue", "label", "add", w, "--label", "bug"},
		},
		b: {
			{"issue", "close", x},
			{"issue", "label", "remove", x, "--label", "bug"},
			say(x, "b2 on X"),
			{"issue", "assignee", "add", z, "--user", "carol"},
			{"issue", "label", "remove", y, "--label", "p1"},
			say(w, "b2 on W"),
		},
		c: {
			say(x, "c2 on X"),
			{"issue", "label", "add", z, "--label", "bug"},
			{"issue", "update", x, "--title", "X final by c"},
			{"issue", "close", z},
			{"issue", "label", "add", y, "--label", "p1"},
			{"issue", "update", y, "--body", "y body by c"},
		},
	})
	syncAll(c, b, a, c, b)

	// Round 3: edits interleaved with syncs, so some syncs rebase work
	// that others have not seen yet.
	events += runAtOnce(t, map[string][][]string{a: {say(y, "a3 on Y")}, b: {{"issue", "reopen", z}}})
	syncAll(a)
	events += runAtOnce(t, map[string][][]string{b: {say(z, "b3 on Z")}, c: {{"issue", "label", "remove", x, "--label", "wontfix"}}})
	syncAll(c)
	events += runAtOnce(t, map[string][][]string{a: {{"issue", "close", x}}, c: {say(x, "c3 on X")}})
	syncAll(b, a, c, b, a)

	// Every clone now holds every event once, and all views are equal.
	states := map[string]viewState{}
	for _, dir := range clones {
		if got := len(exportedEventIDs(t, dir)); got != events {
			t.Errorf("%s exports %d events, want %d", name[dir], got, events)
		}
		states[dir] = readViewState(t, dir)
	}
	requireSameView(t, "a", states[a], "b", states[b])
	requireSameView(t, "a", states[a], "c", states[c])

	// A fresh clone that receives everything at once agrees, and so does a
	// rebuild from the WAL.
	_, fresh := syncRemoteAndClonesOf(t, clones[0])
	mustSync(t, fresh, "--pull")
	requireSameView(t, "a", states[a], "fresh clone", readViewState(t, fresh))
	mustJSON(t, a, nil, "rebuild")
	requireSameView(t, "a", states[a], "a after rebuild", readViewState(t, a))

	for _, id := range []string{x, y, z, w} {
		var show showOutput
		mustJSON(t, a, &show, "issue", "show", id)
		var got []string
		for _, cm := range show.Issue.Comments {
			got = append(got, cm.Body)
		}
		want := slices.Clone(comments[id])
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("comments of %s: %q, want each of %q once", id, got, want)
		}
		seen := map[string]bool{}
		for _, e := range show.Events {
			if seen[e.EventID] {
				t.Errorf("issue %s shows event %s twice", id, e.EventID)
			}
			seen[e.EventID] = true
		}
	}
}

// syncRemoteAndClonesOf clones the remote of an existing clone once more.
func syncRemoteAndClonesOf(t *testing.T, clone string) (remote, fresh string) {
	t.Helper()
	remote = testrepo.Git(t, clone, "remote", "get-url", "origin")
	return remote, testrepo.Clone(t, remote)
}

// syncStats totals what one clone's syncs reported.
type syncStats struct {
	syncs, retries, rebases, rebasedEvents, conflicts int
}

// writeAndSyncLoop makes perClone events in dir (half creates, half
// comments on its own issues), syncing after every batch. It reports
// failures with t.Error (it runs on its own goroutine); a sync still
// rejected after its retries (conflict) is counted, not a failure.
func writeAndSyncLoop(t *testing.T, dir, tag string, perClone, batch int) syncStats {
	var st syncStats
	written := 0
	for b := 0; written < perClone; b++ {
		var ids []string
		for i := 0; i < batch/2 && written < perClone; i++ {
			var w writeResult
			if err := gritJSONData(t, dir, &w, "issue", "create", "--title", fmt.Sprintf("%s issue %d-%d", tag, b, i)); err != nil {
				t.Error(err)
				return st
			}
			ids = append(ids, w.IssueID)
			written++
		}
		for i := 0; i < len(ids) && written < perClone; i++ {
			if err := gritJSONData(t, dir, nil, "issue", "comment", ids[i], "--body", fmt.Sprintf("%s comment %d-%d", tag, b, i)); err != nil {
				t.Error(err)
				return st
			}
			written++
		}
		r := grite(t, dir, "sync", "--json")
		env, err := parseEnvelopeErr(r)
		switch {
		case err != nil:
			t.Error(err)
			return st
		case !env.OK && env.Error.Code == "conflict" && r.code == 4:
			st.conflicts++
			continue
		case !env.OK:
			t.Errorf("sync failed\n%s", r)
			return st
		}
		var out syncOutput
		if err := jsonUnmarshal(env.Data, &out); err != nil {
			t.Error(err)
			return st
		}
		st.syncs++
		st.retries += out.Retries
		st.rebasedEvents += out.EventsRebased
		if out.Rebased {
			st.rebases++
		}
	}
	return st
}

var walMessage = regexp.MustCompile(`^WAL: (\d+) events from [0-9a-f]{8}$`)

// remoteWALEvents counts the commits of the remote's refs/grite/wal and
// the event records in them (from the commit messages, docs/format.md §6).
func remoteWALEvents(t *testing.T, remote string) (commits, records int) {
	t.Helper()
	for _, subject := range strings.Split(testrepo.Git(t, remote, "log", "--format=%s", "refs/grite/wal"), "\n") {
		m := walMessage.FindStringSubmatch(subject)
		if m == nil {
			t.Fatalf("remote WAL commit message %q", subject)
		}
		n, _ := strconv.Atoi(m[1])
		commits++
		records += n
	}
	if n := testrepo.Git(t, remote, "rev-list", "--count", "refs/grite/wal"); n != strconv.Itoa(commits) {
		t.Fatalf("rev-list counts %s WAL commits, log %d", n, commits)
	}
	return commits, records
}

// Clones writing and syncing at once, as a swarm of agents with a clone
// each does: every sync succeeds (a push that loses to another clone's
// retries until it gets through, within its retry budget), and at the end
// every clone and the remote hold every event exactly once.
func TestSyncConcurrentClonesDeliverEveryEventOnce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                    string
		clones, perClone, batch int
		shortPerClone           int
	}{
		{"two clones, many syncs", 2, 200, 10, 60},
		{"eight clones at once", 8, 24, 4, 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			perClone := tc.perClone
			if testing.Short() {
				perClone = tc.shortPerClone
			}
			deliverEveryEventOnce(t, tc.clones, perClone, tc.batch)
		})
	}
}

func deliverEveryEventOnce(t *testing.T, n, perClone, batch int) {
	remote, clones := syncRemoteAndClones(t, n)
	testrepo.BuildBinaries(t)

	stats := make([]syncStats, len(clones))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, dir := range clones {
		wg.Go(func() {
			<-start
			stats[i] = writeAndSyncLoop(t, dir, fmt.Sprintf("clone%d", i), perClone, batch)
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for i, st := range stats {
		t.Logf("clone %d: %d successful syncs, %d push retries, %d auto-rebases re-appending %d events, %d syncs still rejected (conflict)",
			i, st.syncs, st.retries, st.rebases, st.rebasedEvents, st.conflicts)
		if st.conflicts > 0 {
			t.Errorf("clone %d: %d syncs gave up on contention that more time would have resolved", i, st.conflicts)
		}
	}

	// Final syncs, bounded, until both clones sit at the remote's head.
	total := perClone * len(clones)
	for round := 0; ; round++ {
		for _, dir := range clones {
			mustSync(t, dir)
		}
		head := refOrEmpty(t, remote, "refs/grite/wal")
		if !slices.ContainsFunc(clones, func(dir string) bool { return walHead(t, dir) != head }) {
			break
		}
		if round == 3 {
			t.Fatalf("clones do not converge on the remote head after %d rounds of syncs", round+1)
		}
	}

	var want []string
	for i, dir := range clones {
		ids := exportedEventIDs(t, dir)
		if len(ids) != total {
			t.Fatalf("clone %d exports %d events, want %d", i, len(ids), total)
		}
		if i == 0 {
			want = ids
		} else if !slices.Equal(ids, want) {
			t.Fatalf("clone %d exports other events than clone 0", i)
		}
		l := list(t, dir)
		comments := 0
		for _, s := range l.Issues {
			comments += s.CommentCount
		}
		if l.Total != total/2 || comments != total/2 {
			t.Fatalf("clone %d lists %d issues with %d comments, want %d and %d", i, l.Total, comments, total/2, total/2)
		}
	}

	// The remote itself: a fresh clone reads the same events, and the WAL
	// holds each event in exactly one chunk.
	_, fresh := syncRemoteAndClonesOf(t, clones[0])
	mustSync(t, fresh, "--pull")
	if ids := exportedEventIDs(t, fresh); !slices.Equal(ids, want) {
		t.Fatalf("a fresh clone of the remote exports %d events, want the clones' %d", len(ids), len(want))
	}
	if got := len(listIDs(t, fresh)); got != total/2 {
		t.Fatalf("a fresh clone of the remote lists %d issues, want %d", got, total/2)
	}
	commits, records := remoteWALEvents(t, remote)
	t.Logf("remote WAL: %d commits (one chunk each) holding %d event records", commits, records)
	if records != total {
		t.Fatalf("remote WAL holds %d event records for %d distinct events", records, total)
	}
}
