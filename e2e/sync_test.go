package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"grite/internal/testrepo"
)

// The sync tests run `grite sync` in real clones of real bare remotes. The
// longer ones live in sync_*_test.go: convergence, transport, errors and
// forged history.

func TestSyncFirstSyncOnEmptyRemotePushesTheWAL(t *testing.T) {
	t.Parallel()
	remote, clones := syncRemoteAndClones(t, 2)
	a, empty := clones[0], clones[1]

	// A clone with no events syncing with an empty remote: nothing to do.
	mustSync(t, empty)
	if got := refOrEmpty(t, remote, "refs/grite/wal"); got != "" {
		t.Fatalf("sync without events created refs/grite/wal %s on the remote", got)
	}

	id := create(t, a, "first issue")
	mustJSON(t, a, nil, "issue", "comment", id, "--body", "first comment")
	env, r := gjson(t, a, "sync")
	if !env.OK || r.code != 0 {
		t.Fatalf("first sync failed\n%s", r)
	}
	var keys map[string]any
	if err := jsonUnmarshal(env.Data, &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"pulled", "pushed", "wal_head", "remote_wal_head", "events_pulled", "events_pushed",
		"events_rebased", "rebased", "retries", "locks_lost", "message"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("sync data has no %q\n%s", k, r)
		}
	}
	var out syncOutput
	if err := jsonUnmarshal(env.Data, &out); err != nil {
		t.Fatal(err)
	}
	head := walHead(t, a)
	switch {
	case !out.Pulled || !out.Pushed:
		t.Errorf("pulled %v pushed %v, want both true\n%s", out.Pulled, out.Pushed, r)
	case out.EventsPulled != 0 || out.EventsRebased != 0 || out.Rebased || out.Retries != 0:
		t.Errorf("first sync pulled or rebased something\n%s", r)
	case out.EventsPushed != 2:
		t.Errorf("events_pushed %d, want 2\n%s", out.EventsPushed, r)
	case out.WALHead != head || out.RemoteWALHead != head:
		t.Errorf("wal_head %s remote_wal_head %s, local WAL is at %s\n%s", out.WALHead, out.RemoteWALHead, head, r)
	case out.LocksLost == nil:
		t.Errorf("locks_lost is null, want []\n%s", r)
	}
	if got := refOrEmpty(t, remote, "refs/grite/wal"); got != head {
		t.Fatalf("remote refs/grite/wal is %q, want %s", got, head)
	}

	// Syncing again changes nothing.
	again := mustSync(t, a)
	if again.EventsPulled != 0 || again.EventsPushed != 0 || again.WALHead != head || again.RemoteWALHead != head {
		t.Fatalf("second sync was not a no-op: %+v", again)
	}

	// A sync skips the push when the remote already holds every ref, so a
	// change to a lock ref alone (no new event) must still go out.
	mustJSON(t, a, nil, "lock", "acquire", "--resource", "path:docs/", "--ttl", "10m")
	lockRef := ""
	for _, line := range splitLines(testrepo.Git(t, a, "for-each-ref", "--format=%(refname) %(objectname)", "refs/grite/locks/")) {
		lockRef = line
	}
	if lockRef == "" {
		t.Fatal("lock acquire wrote no lock ref")
	}
	name, want, _ := strings.Cut(lockRef, " ")
	mustSync(t, a)
	if got := refOrEmpty(t, remote, name); got != want {
		t.Fatalf("after sync the remote's %s is %q, want %s", name, got, want)
	}
}

func splitLines(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

func TestSyncPullAppliesEventsToTheView(t *testing.T) {
	t.Parallel()
	remote, clones := syncRemoteAndClones(t, 2)
	a, b := clones[0], clones[1]

	x := create(t, a, "from a", "--label", "bug")
	mustJSON(t, a, nil, "issue", "comment", x, "--body", "a's comment")
	y := create(t, a, "also from a")
	mustSync(t, a)
	aHead := walHead(t, a)

	// B already has a view with its own issue.
	own := create(t, b, "b's own")
	requireIDs(t, b, []string{own})

	out := mustSync(t, b, "--pull")
	if !out.Pulled || out.Pushed || out.EventsPulled != 3 || out.EventsPushed != 0 {
		t.Fatalf("sync --pull: %+v, want pulled 3 events and no push", out)
	}
	if got := refOrEmpty(t, remote, "refs/grite/wal"); got != aHead {
		t.Fatalf("sync --pull moved the remote WAL to %s", got)
	}
	if !out.Rebased || out.EventsRebased != 1 {
		t.Errorf("b's local-only create was not re-appended on the remote head: %+v", out)
	}

	// No rebuild: the pulled events are in the view right away.
	requireIDs(t, b, []string{x, y, own})
	var show showOutput
	mustJSON(t, b, &show, "issue", "show", x)
	if show.Issue.Title != "from a" || !slices.Equal(show.Issue.Labels, []string{"bug"}) ||
		len(show.Issue.Comments) != 1 || show.Issue.Comments[0].Body != "a's comment" {
		t.Fatalf("pulled issue in b's view: %+v", show.Issue)
	}
	if got := len(exportedEventIDs(t, b)); got != 4 {
		t.Fatalf("b's export has %d events, want 4", got)
	}
}

func TestSyncOfflineWorkIsPushedWhenTheRemoteReturns(t *testing.T) {
	t.Parallel()
	remote, clones := syncRemoteAndClones(t, 2)
	a, b := clones[0], clones[1]
	x := create(t, a, "before going offline")
	mustSync(t, a)

	down := fmt.Sprintf("git://127.0.0.1:%d/remote.git", closedLoopbackPort(t))
	testrepo.Git(t, a, "remote", "set-url", "origin", down)

	// Offline: writing and reading keep working.
	y := create(t, a, "written offline")
	mustJSON(t, a, nil, "issue", "comment", x, "--body", "offline comment on x")
	mustJSON(t, a, nil, "issue", "comment", y, "--body", "offline comment on y")
	mustJSON(t, a, nil, "issue", "close", x)
	offline := 4
	requireIDs(t, a, []string{x, y})
	head, view := walHead(t, a), rawData(t, a, "issue", "list")

	mustFail(t, a, "git_error", 1, "sync")
	if got := walHead(t, a); got != head {
		t.Fatalf("failed sync moved the local WAL from %s to %s", head, got)
	}
	if got := rawData(t, a, "issue", "list"); got != view {
		t.Fatalf("failed sync changed the view:\n%s\nwant\n%s", got, view)
	}
	z := create(t, a, "still writable after a failed sync")
	offline++
	requireIDs(t, a, []string{x, y, z})

	// The remote is back.
	testrepo.Git(t, a, "remote", "set-url", "origin", remote)
	out := mustSync(t, a)
	if !out.Pushed || out.EventsPushed != offline || out.EventsPulled != 0 {
		t.Fatalf("sync after reconnecting: %+v, want the %d events written offline pushed", out, offline)
	}
	if got, want := refOrEmpty(t, remote, "refs/grite/wal"), walHead(t, a); got != want {
		t.Fatalf("remote WAL %s, local %s", got, want)
	}
	pulled := mustSync(t, b)
	if pulled.EventsPulled != offline+1 {
		t.Fatalf("b pulled %d events, want %d", pulled.EventsPulled, offline+1)
	}
	requireSameView(t, "a", readViewState(t, a), "b", readViewState(t, b))
}

// A sync with a remote on this machine reads the remote's objects itself:
// with no git on PATH, a no-op sync and a pull that fast-forwards both
// work. Git still runs where it must: to merge local work with the
// remote's (merge-base, then the push), and to fetch whenever the user's
// config could send git elsewhere (url.*.insteadOf) or run a program of
// the remote's (remote.*.uploadpack). Shown by running grite with no git
// on PATH.
func TestSyncWithLocalRemoteRunsGitOnlyWhereNeeded(t *testing.T) {
	t.Parallel()
	remote, a, b, x := twoClonesSharing(t, "shared")
	noGit := []string{"PATH=" + t.TempDir()}
	syncNoGit := func(dir string) (string, string, int) {
		return testrepo.RunGriteEnv(t, dir, noGit, "sync", "--json")
	}
	for _, dir := range []string{a, b} {
		stdout, stderr, code := syncNoGit(dir)
		if code != 0 || !strings.Contains(stdout, `"pulled": true`) || !strings.Contains(stdout, `"pushed": true`) {
			t.Fatalf("no-op sync without git on PATH: exit %d\n%s\n%s", code, stdout, stderr)
		}
	}
	y := create(t, a, "moves the remote")
	mustSync(t, a)
	stdout, stderr, code := syncNoGit(b)
	if code != 0 || !strings.Contains(stdout, `"events_pulled": 1`) {
		t.Fatalf("fast-forward pull without git on PATH: exit %d\n%s\n%s", code, stdout, stderr)
	}
	requireIDs(t, b, []string{x, y})
	testrepo.Git(t, b, "fsck", "--full", "--strict", "--no-dangling")

	// Local work to merge: merge-base and the push need git.
	z := create(t, a, "moves the remote again")
	mustSync(t, a)
	w := create(t, b, "b's own")
	head := walHead(t, b)
	if _, _, code := syncNoGit(b); code == 0 {
		t.Fatal("sync merging local work succeeded without git")
	}
	if got := walHead(t, b); got != head {
		t.Fatalf("failed sync moved b's WAL from %s to %s", head, got)
	}
	if got := mustSync(t, b); got.EventsPulled != 1 || got.EventsRebased != 1 || !got.Pushed {
		t.Fatalf("sync with git: %+v, want 1 pulled, 1 rebased, pushed", got)
	}
	requireIDs(t, b, []string{x, y, z, w})

	// Config that routes or wraps the fetch: git must run. (The rewrite
	// maps the remote's path to itself, so git's fetch still works; a rule
	// for other URLs does not count, as git would not apply it.)
	for _, cfg := range [][]string{
		{"url." + remote + ".insteadOf", remote},
		{"remote.origin.uploadpack", "git-upload-pack"},
	} {
		create(t, a, "moves the remote for "+cfg[0])
		mustSync(t, a)
		testrepo.Git(t, b, "config", cfg[0], cfg[1])
		if _, _, code := syncNoGit(b); code == 0 {
			t.Fatalf("with %s set, sync fetched without git", cfg[0])
		}
		if got := mustSync(t, b); got.EventsPulled != 1 {
			t.Fatalf("with %s set, the sync with git pulled %d events, want 1", cfg[0], got.EventsPulled)
		}
		testrepo.Git(t, b, "config", "--unset", cfg[0])
	}
}

// A pull that brings lock refs and WAL commits together (a local remote,
// fetched by copying): every tracking ref moves and every event arrives,
// whichever order the refs are listed in. Run several rounds, since that
// order is a map's.
func TestSyncPullsLocksAndEventsTogether(t *testing.T) {
	t.Parallel()
	_, clones := syncRemoteAndClones(t, 2)
	a, b := clones[0], clones[1]
	mustSync(t, a)
	mustSync(t, b)
	var ids []string
	for round := range 4 {
		ids = append(ids, create(t, a, fmt.Sprintf("round %d", round)))
		for i := range 3 {
			mustJSON(t, a, nil, "lock", "acquire", fmt.Sprintf("path:r%d/f%d", round, i), "--ttl", "600")
		}
		mustSync(t, a)
		if got := mustSync(t, b, "--pull"); got.EventsPulled != 1 {
			t.Fatalf("round %d: b pulled %d events, want 1", round, got.EventsPulled)
		}
		requireIDs(t, b, ids)
		var status struct {
			Locks []struct {
				Resource string `json:"resource"`
			} `json:"locks"`
		}
		mustJSON(t, b, &status, "lock", "status")
		if len(status.Locks) != 3*(round+1) {
			t.Fatalf("round %d: b sees %d locks, want %d: %+v", round, len(status.Locks), 3*(round+1), status)
		}
	}
}
