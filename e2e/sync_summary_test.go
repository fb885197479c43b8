package e2e

import (
	"testing"

	"grite/internal/testrepo"
)

// The sync summary says what happened, each thing once, and the counts
// agree with it: an empty remote, a no-op, a pull, a rebase, a remote
// that already has everything.
func TestSyncSummarySaysWhatHappened(t *testing.T) {
	t.Parallel()
	remote, clones := syncRemoteAndClones(t, 2)
	a, b := clones[0], clones[1]
	x := create(t, a, "first")
	create(t, a, "second")

	check := func(step string, out syncOutput, wantMsg string, pulled, pushed, rebased int, empty bool) {
		t.Helper()
		if out.Message != wantMsg || out.EventsPulled != pulled || out.EventsPushed != pushed || out.EventsRebased != rebased || out.RemoteEmpty != empty {
			t.Errorf("%s: %+v\nwant message %q, pulled %d, pushed %d, rebased %d, remote_was_empty %v",
				step, out, wantMsg, pulled, pushed, rebased, empty)
		}
	}
	check("first push", mustSync(t, a), "origin was empty: pushed 2 events", 0, 2, 0, true)
	check("no-op", mustSync(t, a), "nothing to pull or push", 0, 0, 0, false)
	check("first pull", mustSync(t, b), "pulled 2 events from origin; nothing to push", 2, 0, 0, false)

	mustJSON(t, a, nil, "issue", "comment", x, "--body", "from a")
	mustJSON(t, b, nil, "issue", "comment", x, "--body", "from b")
	check("a pushes", mustSync(t, a), "nothing to pull; pushed 1 event to origin", 0, 1, 0, false)
	check("b rebases", mustSync(t, b), "pulled 1 event from origin; pushed 1 event; re-appended 1 local event on top of origin's WAL", 1, 1, 1, false)
	check("pull only", mustSync(t, a, "--pull"), "pulled 1 event from origin", 1, 0, 0, false)

	// A clone that got the WAL by plain git (no tracking ref of grite's)
	// pushes nothing the remote lacks.
	c := testrepo.Clone(t, remote)
	testrepo.Git(t, c, "fetch", "origin", "refs/grite/wal:refs/grite/wal")
	check("push of what the remote has", mustSync(t, c, "--push"), "nothing to push: origin has every event", 0, 0, 0, false)
}

// A push that loses the race twice re-appends the same local events on
// each retry: they are counted once.
func TestSyncRetriesCountRebasedEventsOnce(t *testing.T) {
	t.Parallel()
	_, clones := syncRemoteAndClones(t, 2)
	a, rival := clones[0], clones[1]
	x := create(t, a, "shared")
	mustSync(t, a)
	mustSync(t, rival)

	// After each of the first two fetches it serves, the rival pushes.
	raceAfterFetch(t, a, rival, x, 2)
	mustJSON(t, a, nil, "issue", "comment", x, "--body", "mine 1")
	mustJSON(t, a, nil, "issue", "comment", x, "--body", "mine 2")

	out := mustSync(t, a)
	if out.Retries != 2 || out.EventsRebased != 2 || out.EventsPushed != 2 {
		t.Fatalf("sync: %+v, want 2 retries and a's 2 events rebased and pushed once each", out)
	}
	want := "pulled 2 events from origin; pushed 2 events; re-appended 2 local events on top of origin's WAL; 2 retries"
	if out.Message != want {
		t.Errorf("message %q, want %q", out.Message, want)
	}
}
