package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"grite/internal/testrepo"
)

// A push that keeps losing the race is produced for real: the clone's
// remote runs git-upload-pack through a wrapper that, after every fetch it
// serves, lets another clone append and push one event. So each time the
// syncing clone has merged what it fetched, the remote has moved on again
// and its push is rejected as non-fast-forward, through all the retries.
func TestSyncPushThatKeepsLosingTheRaceIsConflict(t *testing.T) {
	t.Parallel()
	_, clones := syncRemoteAndClones(t, 2)
	a, rival := clones[0], clones[1]
	x := create(t, a, "shared")
	mustSync(t, a)
	mustSync(t, rival)

	raceAfterFetch(t, a, rival, x, 0)

	mine := create(t, a, "mine")
	mustJSON(t, a, nil, "issue", "comment", x, "--body", "my comment")
	before := exportedEventIDs(t, a)

	// A short budget: past the three scheduled retries, it still lets
	// a few more run before sync gives up.
	e := mustFail(t, a, "conflict", 4, "sync", "--retry-budget", "4s")
	if !strings.Contains(e.Message, "non-fast-forward") || strings.Contains(e.Message, "ref lock") {
		t.Errorf("conflict message %q does not say non-fast-forward", e.Message)
	}
	// It gave up only when the next wait would overrun the budget (a
	// wait is at most gitsync.MaxBackoff, 2 s), after the three scheduled
	// retries at least: how many more fit depends on how fast the rival
	// pushes, that is, on the machine's load.
	n, _ := e.Details["attempts"].(float64)
	elapsed, _ := e.Details["elapsed_ms"].(float64)
	if n < 4 || elapsed < 4000-2000 || !strings.Contains(e.Message, fmt.Sprintf("%d attempts over", int(n))) {
		t.Errorf("conflict after %v attempts over %v ms (message %q), want at least 4 attempts, all but the last 2 s of the 4 s budget spent, and the message to count them", e.Details["attempts"], e.Details["elapsed_ms"], e.Message)
	}
	requireSyncSuggestions(t, e)

	// Nothing local is lost: a's events are still there (re-appended on
	// the last remote head it saw), next to the rival's it pulled.
	after := exportedEventIDs(t, a)
	for _, id := range before {
		if !slices.Contains(after, id) {
			t.Fatalf("event %s was lost by the failed sync", id)
		}
	}
	if len(after) <= len(before) {
		t.Errorf("the failed sync pulled none of the rival's events (%d events before, %d after)", len(before), len(after))
	}
	requireIDs(t, a, []string{x, mine})

	// Once the race stops, the next sync delivers everything.
	testrepo.Git(t, a, "config", "--unset", "remote.origin.uploadpack")
	out := mustSync(t, a)
	if !out.Pushed || out.EventsPushed != 2 {
		t.Fatalf("sync after the race: %+v, want a's 2 events pushed", out)
	}
	mustSync(t, rival)
	requireSameView(t, "a", readViewState(t, a), "rival", readViewState(t, rival))
}

// receive-pack checks a ref's old value when it locks the ref, after the
// pre-receive hook: a push that lands in between makes the ref update fail
// ("cannot lock ref ...: is at X but expected Y", or "reference already
// exists" when both pushes create it), reported as "remote rejected (failed
// to update ref)". That is a lost race like a non-fast-forward and must be
// retried, not reported as a refusal. The remote's pre-receive hook makes
// it happen once, for real: the first time it runs it lets a rival clone
// write and push an event of its own.
func TestSyncRetriesAPushThatLostTheRefUpdateRace(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		remoteHasWAL bool
	}{
		{"ref moved meanwhile", true},
		{"ref created meanwhile", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			remote, clones := syncRemoteAndClones(t, 2)
			a, rival := clones[0], clones[1]
			bin := testrepo.BuildBinaries(t).Grite
			var want []string
			if tc.remoteHasWAL {
				want = append(want, create(t, a, "shared"))
				mustSync(t, a)
				mustSync(t, rival)
			}

			marker := racePreReceive(t, remote, rival, bin, true)

			want = append(want, create(t, a, "mine"))
			out := mustSync(t, a)
			if _, err := os.Stat(marker); err != nil {
				t.Fatalf("the hook did not run: %v", err)
			}
			if !out.Pushed || out.Retries < 1 || out.EventsPushed != 1 || out.EventsPulled != 1 {
				t.Fatalf("sync that lost the ref update race: %+v, want 1 event pulled and 1 pushed after a retry", out)
			}
			if got, head := refOrEmpty(t, remote, "refs/grite/wal"), walHead(t, a); got != head {
				t.Fatalf("remote WAL %s, a's %s", got, head)
			}
			mustSync(t, rival)
			if got := len(listIDs(t, rival)); got != len(want)+1 {
				t.Fatalf("rival lists %d issues, want %d", got, len(want)+1)
			}
			requireSameView(t, "a", readViewState(t, a), "rival", readViewState(t, rival))
		})
	}
}

// racePreReceive installs a pre-receive hook on remote that, while a push
// of the syncing clone waits in it, has rival create an issue and push it
// (GRITE_TEST_RIVAL marks the rival's own push, which goes through): the
// waiting push then fails to update the ref. With once, only the first push
// races; the returned marker file exists once it has.
func racePreReceive(t *testing.T, remote, rival, bin string, once bool) (marker string) {
	t.Helper()
	marker = filepath.Join(t.TempDir(), "raced")
	skip := `[ -n "$GRITE_TEST_RIVAL" ] && exit 0`
	if once {
		skip = `[ -n "$GRITE_TEST_RIVAL" ] || [ -e "$marker" ] && exit 0`
	}
	hook := fmt.Sprintf(`#!/bin/sh
cat >/dev/null
marker=%[1]q
%[4]s
touch "$marker"
(unset GIT_DIR GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_PUSH_OPTION_COUNT GIT_PROTOCOL
 cd %[2]q && %[3]q issue create --title "rival pushed meanwhile" && GRITE_TEST_RIVAL=1 %[3]q sync) >/dev/null 2>&1
exit 0
`, marker, rival, bin, skip)
	if err := os.WriteFile(filepath.Join(remote, "hooks", "pre-receive"), []byte(hook), 0o755); err != nil {
		t.Fatal(err)
	}
	return marker
}

// A push that loses the remote's ref update to a concurrent push every
// time is a conflict once the budget is spent, and says that it lost the
// ref update (not that it was non-fast-forward); nothing local is lost.
func TestSyncPushThatKeepsLosingTheRefUpdateSaysSo(t *testing.T) {
	t.Parallel()
	remote, clones := syncRemoteAndClones(t, 2)
	a, rival := clones[0], clones[1]
	bin := testrepo.BuildBinaries(t).Grite
	create(t, a, "shared")
	mustSync(t, a)
	mustSync(t, rival)
	racePreReceive(t, remote, rival, bin, false)

	mine := create(t, a, "mine")
	e := mustFail(t, a, "conflict", 4, "sync", "--retry-budget", "1s")
	if !strings.Contains(e.Message, "failed to update ref") || !strings.Contains(e.Message, "refs/grite/wal") || strings.Contains(e.Message, "non-fast-forward") {
		t.Errorf("message %q does not say the ref update of refs/grite/wal was lost to another push", e.Message)
	}
	if n, _ := e.Details["attempts"].(float64); n < 4 {
		t.Errorf("gave up after %v attempts, want the 3 scheduled retries at least", e.Details["attempts"])
	}
	requireSyncSuggestions(t, e)
	if !slices.Contains(listIDs(t, a), mine) {
		t.Fatalf("issue %s was lost by the failed sync", mine)
	}
	// Once the race stops, the next sync delivers it.
	if err := os.Remove(filepath.Join(remote, "hooks", "pre-receive")); err != nil {
		t.Fatal(err)
	}
	mustSync(t, a)
	mustSync(t, rival)
	if !slices.Contains(listIDs(t, rival), mine) {
		t.Fatalf("rival does not list %s after the race stopped", mine)
	}
}
