package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"grite/internal/testrepo"
)

// relSyncData is `grite sync --json` data with locks_lost in full.
type relSyncData = syncOutput

// An agent that claimed an issue and died (grite-mcp killed with SIGKILL,
// so it never releases) blocks the issue only until its lease runs out:
// the issue comes back to the ready queue of another actor by itself, and
// that actor's claim takes it over. This waits for a real 2 s lease.
func TestReliabilityKilledClaimHolderLeaseExpires(t *testing.T) {
	t.Parallel()
	testrepo.BuildBinaries(t) // before the clock starts: the build is no scenario's time
	began := time.Now()
	dir, _ := newRepo(t)
	taker := coordActors(t, dir, "taker")[0]
	id := create(t, dir, "leased work")

	m := relStartMCP(t, dir, "--repo", dir, "--actor-label", "holder")
	if !m.initialize("holder") {
		t.Fatalf("initialize failed\nstderr: %s", m.stderr.String())
	}
	if err := m.callTool(1, "issue_claim", map[string]any{"id": id, "ttl": "2s"}); err != nil {
		t.Fatal(err)
	}
	a, ok := m.wait(1)
	if !ok {
		t.Fatalf("no answer to issue_claim\nstderr: %s", m.stderr.String())
	}
	var claim mcpClaim
	if err := relToolOK(a, &claim); err != nil {
		t.Fatal(err)
	}
	if claim.IssueID != id || claim.Assignee != "holder" {
		t.Fatalf("claim: %+v", claim)
	}
	m.kill(t)

	expires := time.UnixMilli(int64(claim.ExpiresUnixMS))
	ready := coordReady(t, dir, taker.as()...)
	if time.Until(expires) > 500*time.Millisecond && slices.Contains(ready, id) {
		t.Fatalf("issue %s is ready for the taker while the dead holder's lease is live", id)
	}
	deadline := time.Now().Add(15 * time.Second)
	polls := 1
	for !slices.Contains(ready, id) {
		if time.Now().After(deadline) {
			t.Fatalf("issue %s not ready for another actor 15 s after a 2 s claim by a killed server", id)
		}
		time.Sleep(100 * time.Millisecond) // a real lease must run out
		ready = coordReady(t, dir, taker.as()...)
		polls++
	}
	var took coordClaim
	mustJSON(t, dir, &took, taker.as("issue", "claim", id)...)
	if took.Owner != taker.ID || took.TookOverFrom != claim.Owner {
		t.Fatalf("claim after the holder died: %+v, want took_over_from %s", took, claim.Owner)
	}
	if got := coordShow(t, dir, id).Issue.Assignees; !slices.Equal(got, []string{"taker"}) {
		t.Fatalf("assignees %v, want [taker]", got)
	}
	relRequireIntactRepo(t, dir)
	relWriteReport(t, relReport{
		Scenario: "claim holder (grite-mcp, ttl 2s) killed; lease expires", Ops: 2, Processes: 2, Kills: 1,
		Events: len(exportedEventIDs(t, dir)), Converged: true,
		Notes:   fmt.Sprintf("issue ready again for another actor without any command (%d polls of issue ready); its claim took over", polls),
		Seconds: time.Since(began).Seconds(),
	})
}

// Two clones claim the same issue while offline, then sync. The remote
// arbitrates: whoever pushes first wins, whatever the actor IDs or the
// order of the claims. Both agents are told: the winner's sync reports no
// lost lock, the loser's reports locks_lost naming the winner (in the data
// and in the message), and afterwards both clones show exactly one
// assignee, the winner.
func TestReliabilityOfflineClaimsFirstPushWins(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		first     int      // the clone that pushes first (0: A, 1: B)
		loserSync []string // the loser's first sync after the winner's
		// The winner pushes in the middle of the loser's sync, after the
		// loser fetched: the loser's first pull sees no rival claim, its
		// push is rejected, and the pull before its retry finds the loss.
		midSync bool
	}{
		{"A pushes first", 0, []string{"sync"}, false},
		{"B pushes first", 1, []string{"sync"}, false},
		{"loser syncs with --push only", 0, []string{"sync", "--push"}, false},
		{"loser syncs with --pull only", 1, []string{"sync", "--pull"}, false},
		{"winner pushes during the loser's sync", 1, []string{"sync"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testrepo.BuildBinaries(t) // before the clock starts: the build is no scenario's time
			began := time.Now()
			_, clones := syncRemoteAndClones(t, 2)
			agents := []coordActor{coordActors(t, clones[0], "agentA")[0], coordActors(t, clones[1], "agentB")[0]}
			id := create(t, clones[0], "contested")
			mustSync(t, clones[0])
			mustSync(t, clones[1])

			// Offline, both claims succeed locally.
			for i, c := range clones {
				var got coordClaim
				mustJSON(t, c, &got, agents[i].as("issue", "claim", id)...)
				if got.Owner != agents[i].ID || got.Assignee != agents[i].Label {
					t.Fatalf("offline claim by %s: %+v", agents[i].Label, got)
				}
			}
			w, l := tc.first, 1-tc.first
			winner, loser := agents[w], agents[l]

			var won relSyncData
			if tc.midSync {
				wonFile := relRaceDuringFetch(t, clones[l], clones[w], winner)
				var lost relSyncData
				mustJSON(t, clones[l], &lost, loser.as(tc.loserSync...)...)
				testrepo.Git(t, clones[l], "config", "--unset", "remote.origin.uploadpack")
				b, err := os.ReadFile(wonFile)
				if err != nil {
					t.Fatalf("the winner's sync did not run during the loser's: %v", err)
				}
				env := parseEnvelope(t, result{stdout: string(b)})
				if err := jsonUnmarshal(env.Data, &won); err != nil {
					t.Fatal(err)
				}
				if lost.Retries < 1 {
					t.Fatalf("the loser's sync did not retry: %+v", lost)
				}
				relRequireLost(t, lost, id, loser, winner, tc.loserSync)
			} else {
				mustJSON(t, clones[w], &won, winner.as("sync")...)
			}
			if !won.Pushed || len(won.LocksLost) != 0 {
				t.Fatalf("the first sync (%s): %+v, want pushed with no lost lock", winner.Label, won)
			}
			if !tc.midSync {
				var lost relSyncData
				mustJSON(t, clones[l], &lost, loser.as(tc.loserSync...)...)
				relRequireLost(t, lost, id, loser, winner, tc.loserSync)
			}

			// Two more rounds: everything travels and nobody loses again.
			for round := range 2 {
				for _, i := range []int{l, w} {
					var again relSyncData
					mustJSON(t, clones[i], &again, agents[i].as("sync")...)
					if len(again.LocksLost) != 0 {
						t.Fatalf("round %d: %s's sync reports locks_lost %+v", round, agents[i].Label, again.LocksLost)
					}
				}
			}
			for i, c := range clones {
				if got := coordShow(t, c, id).Issue.Assignees; !slices.Equal(got, []string{winner.Label}) {
					t.Fatalf("clone %s shows assignees %v, want exactly the winner [%s]", agents[i].Label, got, winner.Label)
				}
				if lk, _, ok := coordReadLock(t, c, "issue:"+id); !ok || lk.Owner != winner.ID {
					t.Fatalf("clone %s: the claim's lock is %+v, want held by %s", agents[i].Label, lk, winner.ID)
				}
				// Not ready for anyone but the winner: the loser, or a
				// third actor.
				observer := coordActors(t, c, "observer")[0]
				if slices.Contains(coordReady(t, c, observer.as()...), id) || (i == l && slices.Contains(coordReady(t, c, loser.as()...), id)) {
					t.Fatalf("clone %s lists the issue claimed by %s as ready for another actor", agents[i].Label, winner.Label)
				}
			}
			requireSameView(t, "A", readViewState(t, clones[0]), "B", readViewState(t, clones[1]))
			relWriteReport(t, relReport{
				Scenario: "offline claims of one issue in 2 clones (" + tc.name + ")", Ops: 8, Processes: 8,
				Events: len(exportedEventIDs(t, clones[0])), Converged: true,
				Notes:   "first to push wins; loser told (locks_lost names the winner); one assignee in both clones",
				Seconds: time.Since(began).Seconds(),
			})
		})
	}
}

// relRequireLost checks what the loser's sync told it: locks_lost names the
// issue, the loser's own claim and the winner, and so does the message.
func relRequireLost(t *testing.T, lost relSyncData, id string, loser, winner coordActor, args []string) {
	t.Helper()
	want := lockLost{Resource: "issue:" + id, LocalOwner: loser.ID, Holder: winner.ID}
	if len(lost.LocksLost) != 1 || lost.LocksLost[0].Resource != want.Resource ||
		lost.LocksLost[0].LocalOwner != want.LocalOwner || lost.LocksLost[0].Holder != want.Holder {
		t.Fatalf("the loser's sync (%s %v) reports locks_lost %+v, want [%+v]", loser.Label, args, lost.LocksLost, want)
	}
	if msg := fmt.Sprintf("lost issue:%s to %s", id, winner.ID); !strings.Contains(lost.Message, msg) {
		t.Fatalf("the loser's sync message %q does not say %q", lost.Message, msg)
	}
}

// relRaceDuringFetch makes the next fetch of clone loser run through a
// git-upload-pack wrapper that, once the fetch is served, syncs clone
// winnerDir as winner (once). It returns the file that receives the
// winner's `sync --json` output.
func relRaceDuringFetch(t *testing.T, loser, winnerDir string, winner coordActor) string {
	t.Helper()
	tmp := t.TempDir()
	out, wrapper := filepath.Join(tmp, "winner-sync.json"), filepath.Join(tmp, "upload-pack-then-win")
	script := fmt.Sprintf(`#!/bin/sh
git upload-pack "$@" || exit $?
# The fetch is served (stdout is the protocol): now the winner pushes, once.
[ -e %[1]q ] && exit 0
(unset GIT_DIR GIT_PROTOCOL; cd %[2]q && %[3]q --actor %[4]s sync --json >%[1]q 2>/dev/null)
exit 0
`, out, winnerDir, testrepo.BuildBinaries(t).Grite, winner.ID)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	testrepo.Git(t, loser, "config", "remote.origin.uploadpack", wrapper)
	return out
}
