package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"grite/internal/testrepo"
)

// relKillDelay picks when to kill a process: uniformly between 0 and a
// little past the typical run time of its kind (est), so kills land during
// start-up, mid-write and, now and then, after the process finished.
func relKillDelay(rngFloat float64, est time.Duration) time.Duration {
	return time.Duration(rngFloat * float64(est) * 1.5)
}

// Crash safety of the CLI: grite is killed with SIGKILL at random moments
// during a loop of creates, comments and syncs. Whatever the moment, the
// WAL stays valid, every command that exited 0 keeps its event (locally,
// on the remote and in a peer clone), nothing is appended twice, and the
// view and doctor are fine without any repair.
func TestReliabilityCLIKilledMidWrite(t *testing.T) {
	t.Parallel()
	testrepo.BuildBinaries(t) // before the clock starts: the build is no scenario's time
	began := time.Now()
	seed := relSeed(t)
	rng := relRand(seed)
	const wantKills = 50 // in -short too: the kills are the point
	remote, clones := syncRemoteAndClones(t, 2)
	a, peer := clones[0], clones[1]

	// Typical run time of each kind of command, measured on unkilled runs.
	est := map[string]time.Duration{}
	measure := func(kind string, args ...string) result {
		t.Helper()
		start := time.Now()
		r := grite(t, a, args...)
		est[kind] = time.Since(start)
		if r.code != 0 {
			t.Fatalf("calibration run failed\n%s", r)
		}
		return r
	}
	var w writeResult
	r := measure("create", "issue", "create", "--title", "base", "--json")
	if err := jsonUnmarshal(parseEnvelope(t, r).Data, &w); err != nil {
		t.Fatal(err)
	}
	issues := []string{w.IssueID}
	want := []string{w.EventID} // events of commands that exited 0
	r = measure("comment", "issue", "comment", w.IssueID, "--body", "base comment", "--json")
	var cw writeResult
	if err := jsonUnmarshal(parseEnvelope(t, r).Data, &cw); err != nil {
		t.Fatal(err)
	}
	want = append(want, cw.EventID)
	measure("sync", "sync", "--json")

	var kills, finished, staleLocks, peerEvents, processes, syncsOK int
	for i := 0; kills < wantKills; i++ {
		if i >= 20*wantKills {
			t.Fatalf("only %d kills landed in %d runs", kills, i)
		}
		// Now and then the peer publishes work, so that a's syncs pull,
		// merge and rebase rather than only push.
		if i%8 == 7 {
			create(t, peer, fmt.Sprintf("peer %d", i))
			mustSync(t, peer)
			peerEvents++
			processes += 2
		}
		var kind string
		var args []string
		switch p := rng.IntN(10); {
		case p < 4:
			kind, args = "create", []string{"issue", "create", "--title", fmt.Sprintf("crash %d", i), "--json"}
		case p < 8:
			kind, args = "comment", []string{"issue", "comment", issues[rng.IntN(len(issues))], "--body", fmt.Sprintf("crash comment %d", i), "--json"}
		default:
			kind, args = "sync", []string{"sync", "--json"}
		}
		run := relRunKilled(t, a, relKillDelay(rng.Float64(), est[kind]), args...)
		processes++
		if run.killed {
			kills++
			// A writer killed between creating <ref>.lock and renaming it
			// leaves the lock; gitdir takes over locks older than 10 s.
			if locks := relStaleRefLocks(t, a); len(locks) > 0 {
				staleLocks += len(locks)
				t.Logf("kill %d (%s) left %v", kills, kind, locks)
				relAgeLocks(t, locks)
			}
			continue
		}
		finished++
		// Follow the typical run time as the machine's load changes.
		est[kind] = (7*est[kind] + 3*run.elapsed) / 10
		env, err := parseEnvelopeErr(run.result)
		if err != nil || !env.OK {
			t.Fatalf("a command that was not killed failed (after %d kills): %v\n%s", kills, err, run.result)
		}
		switch kind {
		case "create":
			var w writeResult
			if err := jsonUnmarshal(env.Data, &w); err != nil {
				t.Fatal(err)
			}
			issues = append(issues, w.IssueID)
			want = append(want, w.EventID)
		case "comment":
			var w writeResult
			if err := jsonUnmarshal(env.Data, &w); err != nil {
				t.Fatal(err)
			}
			want = append(want, w.EventID)
		case "sync":
			syncsOK++
		}
	}
	t.Logf("%d runs: %d killed, %d finished (%d syncs); %d stale ref locks left by kills; %d peer events",
		kills+finished, kills, finished, syncsOK, staleLocks, peerEvents)

	relRequireIntactRepo(t, a)
	have := exportedEventIDs(t, a) // fails on an event listed twice
	if missing := relMissing(want, have); len(missing) > 0 {
		t.Fatalf("%d events of commands that exited 0 are missing: %v", len(missing), missing)
	}
	if records := relWALRecords(t, a); records != len(have) {
		t.Fatalf("the WAL holds %d event records for %d distinct events", records, len(have))
	}
	// Killed commands whose event had landed before the kill: a's events
	// beyond those of the commands that exited 0.
	var export struct {
		Events []eventJSON `json:"events"`
	}
	mustJSON(t, a, &export, "export", "--format", "json")
	actorOf := map[string]string{}
	for _, e := range export.Events {
		actorOf[e.EventID] = e.Actor
	}
	mine := 0
	for _, e := range export.Events {
		if e.Actor == actorOf[want[0]] { // the base issue's creation is a's
			mine++
		}
	}
	landed := mine - len(want)

	// Everything reaches the remote and the peer, once.
	mustSync(t, a)
	mustSync(t, peer)
	if la, lp := rawData(t, a, "issue", "list"), rawData(t, peer, "issue", "list"); la != lp {
		t.Fatalf("a and the peer list different issues:\n%s\n%s", la, lp)
	}
	final := exportedEventIDs(t, a)
	if peerIDs := exportedEventIDs(t, peer); !slices.Equal(final, peerIDs) {
		t.Fatalf("a exports %d events, the peer %d", len(final), len(peerIDs))
	}
	if missing := relMissing(want, final); len(missing) > 0 {
		t.Fatalf("%d events of commands that exited 0 are missing after the final sync: %v", len(missing), missing)
	}
	if records := relWALRecords(t, remote); records != len(final) {
		t.Fatalf("the remote WAL holds %d event records for %d distinct events", records, len(final))
	}
	relRequireIntactRepo(t, peer)
	relWriteReport(t, relReport{
		Scenario: "CLI killed (SIGKILL) during create/comment/sync", Ops: kills + finished, Processes: processes + 5,
		Kills: kills, Events: len(final), Lost: 0, Duplicated: 0, Converged: true, Seed: seed,
		Notes: fmt.Sprintf("%d commands exited 0 and kept their events; %d killed after their append landed; %d killed inside a ref update (stale lock taken over)",
			finished, landed, staleLocks),
		Seconds: time.Since(began).Seconds(),
	})
}

// Crash safety of grite-mcp: a server is sent initialize and a burst of
// issue_create and issue_comment calls over raw stdio and killed with
// SIGKILL at a random moment, again and again (each session is a fresh
// actor, so some kills land while that actor is being created). Every call
// answered with success before the kill keeps its event.
func TestReliabilityMCPKilledMidCall(t *testing.T) {
	t.Parallel()
	testrepo.BuildBinaries(t) // before the clock starts: the build is no scenario's time
	began := time.Now()
	seed := relSeed(t)
	rng := relRand(seed)
	rounds, burst := 12, 12
	if testing.Short() {
		rounds = 10
	}
	dir, _ := newRepo(t)
	issues := []string{create(t, dir, "base")}
	comments := map[string]string{} // event ID -> body, of answered comments
	var want []string               // event IDs of every answered call

	// One session runs unkilled first, to learn how long a burst takes.
	// delay < 0: no kill, the session ends cleanly once all is answered.
	// It returns how many calls were answered with success, whether the
	// kill came before the last answer, and how long the burst took.
	session := func(round int, delay time.Duration) (answered int, killedMidBurst bool, took time.Duration) {
		t.Helper()
		spawned := time.Now()
		m := relStartMCP(t, dir, "--repo", dir)
		if delay >= 0 {
			// The fault: SIGKILL at the chosen moment after the spawn.
			stop := time.AfterFunc(delay, func() { m.cmd.Process.Signal(syscall.SIGKILL) })
			defer stop.Stop()
		}
		bodies := map[int]string{}
		if m.initialize(fmt.Sprintf("crash-%d", round)) {
			for id := 1; id <= burst; id++ {
				var err error
				if id%2 == 1 {
					err = m.callTool(id, "issue_create", map[string]any{"title": fmt.Sprintf("mcp %d-%d", round, id)})
				} else {
					bodies[id] = fmt.Sprintf("mcp comment %d-%d", round, id)
					err = m.callTool(id, "issue_comment", map[string]any{"id": issues[rng.IntN(len(issues))], "body": bodies[id]})
				}
				if err != nil {
					break // killed
				}
			}
		}
		if delay < 0 {
			for id := 1; id <= burst; id++ {
				if _, ok := m.wait(id); !ok {
					t.Fatalf("no answer to call %d\nstderr: %s", id, m.stderr.String())
				}
			}
			m.close(t)
		} else {
			<-m.exited
			m.kill(t) // and wait for its whole process group
		}
		m.mu.Lock()
		took = m.last.Sub(spawned)
		m.mu.Unlock()
		for id, a := range m.answered() {
			if id == 0 {
				continue
			}
			var w mcpWrite
			if err := relToolOK(a, &w); err != nil {
				t.Fatalf("round %d call %d failed: %v\nstderr: %s", round, id, err, m.stderr.String())
			}
			want = append(want, w.EventID)
			if body, ok := bodies[id]; ok {
				comments[w.EventID] = body
			} else {
				issues = append(issues, w.IssueID)
			}
			answered++
		}
		return answered, answered < burst, took
	}
	_, _, est := session(0, -1)

	kills, midBurst, answeredTotal, staleLocks := 0, 0, 0, 0
	for round := 1; round <= rounds; round++ {
		n, mid, took := session(round, relKillDelay(rng.Float64(), est))
		if !mid {
			est = (7*est + 3*took) / 10 // follow the machine's load
		}
		kills++
		answeredTotal += n
		if mid {
			midBurst++
		}
		if locks := relStaleRefLocks(t, dir); len(locks) > 0 {
			staleLocks += len(locks)
			t.Logf("kill %d left %v", round, locks)
			relAgeLocks(t, locks)
		}
	}
	t.Logf("%d kills, %d before the burst was fully answered; %d calls answered with success before a kill; %d stale ref locks",
		kills, midBurst, answeredTotal, staleLocks)

	relRequireIntactRepo(t, dir)
	have := exportedEventIDs(t, dir)
	if missing := relMissing(want, have); len(missing) > 0 {
		t.Fatalf("%d events of answered calls are missing: %v", len(missing), missing)
	}
	if records := relWALRecords(t, dir); records != len(have) {
		t.Fatalf("the WAL holds %d event records for %d distinct events", records, len(have))
	}
	// The answered comments read back with their bodies.
	var export struct {
		Events []eventJSON `json:"events"`
	}
	mustJSON(t, dir, &export, "export", "--format", "json")
	for _, e := range export.Events {
		if body, ok := comments[e.EventID]; ok && !strings.Contains(string(e.Kind["CommentAdded"]), body) {
			t.Fatalf("comment %s: %s, want body %q", e.EventID, e.Kind["CommentAdded"], body)
		}
	}
	relWriteReport(t, relReport{
		Scenario: "grite-mcp killed (SIGKILL) mid-burst of issue_create/issue_comment", Ops: (rounds + 1) * burst,
		Processes: rounds + 1, Kills: kills, Events: len(have), Lost: 0, Duplicated: 0, Converged: true, Seed: seed,
		Notes:   fmt.Sprintf("%d kills before the burst was fully answered; %d answered calls all kept", midBurst, answeredTotal+burst),
		Seconds: time.Since(began).Seconds(),
	})
}

// A <ref>.lock left by a writer that died holding it (older than gitdir's
// 10 s stale age) does not block later writes to that ref: the WAL append,
// a claim's lock ref, and the tracking ref a sync fetches into.
func TestReliabilityStaleRefLockDoesNotBlockWrites(t *testing.T) {
	t.Parallel()
	testrepo.BuildBinaries(t) // before the clock starts: the build is no scenario's time
	began := time.Now()
	_, clones := syncRemoteAndClones(t, 2)
	a, b := clones[0], clones[1]
	id := create(t, a, "first")
	mustSync(t, a)
	mustSync(t, b)
	create(t, a, "second")
	mustSync(t, a)

	for _, tc := range []struct {
		name, dir, ref string
		write          []string
	}{
		{"WAL append", a, "refs/grite/wal", []string{"issue", "comment", id, "--body", "after a crash"}},
		{"claim lock ref", a, coordLockRefName("issue:" + id), []string{"issue", "claim", id}},
		{"sync tracking ref", b, "refs/grite/remotes/origin/wal", []string{"sync"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lock := filepath.Join(gitDir(t, tc.dir), filepath.FromSlash(tc.ref)+".lock")
			if err := os.MkdirAll(filepath.Dir(lock), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(lock, []byte("0123456789012345678901234567890123456789\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			relAgeLocks(t, []string{lock})
			before := refOrEmpty(t, tc.dir, tc.ref)
			mustJSON(t, tc.dir, nil, tc.write...)
			if after := refOrEmpty(t, tc.dir, tc.ref); after == before {
				t.Fatalf("%s did not move past the stale lock (still %s)", tc.ref, before)
			}
			if _, err := os.Stat(lock); err == nil {
				t.Fatalf("the stale lock %s is still there", lock)
			}
			requireHealthy(t, tc.dir)
		})
	}
	relWriteReport(t, relReport{
		Scenario: "stale `<ref>.lock` of a dead writer (WAL append, claim, sync fetch)", Ops: 3, Processes: 3, Converged: true,
		Events: len(exportedEventIDs(t, a)), Notes: "each write went past a lock older than 10 s and removed it",
		Seconds: time.Since(began).Seconds(),
	})
}
