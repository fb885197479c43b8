package e2e

import (
	"fmt"
	"path/filepath"
	"testing"

	"grite/internal/testrepo"
)

// Sync over a network transport: the bare remote is served by a real
// `git daemon` on a loopback port, fetched from and pushed to over git://.
func TestSyncOverGitDaemon(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	testrepo.Git(t, base, "init", "-q", "--bare", "remote.git")
	bare := filepath.Join(base, "remote.git")
	url := fmt.Sprintf("git://127.0.0.1:%d/remote.git", startGitDaemon(t, base))

	a := testrepo.New(t)
	testrepo.Git(t, a, "remote", "add", "origin", url)
	x := create(t, a, "over the network", "--label", "net")
	first := mustSync(t, a)
	if !first.Pushed || first.EventsPushed != 1 {
		t.Fatalf("first sync over git://: %+v", first)
	}
	if got := refOrEmpty(t, bare, "refs/grite/wal"); got != walHead(t, a) {
		t.Fatalf("remote WAL %q, want a's %s", got, walHead(t, a))
	}

	// B is a real network clone.
	b := testrepo.Clone(t, url)
	pulled := mustSync(t, b)
	if pulled.EventsPulled != 1 {
		t.Fatalf("b's first sync: %+v, want 1 event pulled", pulled)
	}
	requireIDs(t, b, []string{x})
	mustJSON(t, b, nil, "issue", "comment", x, "--body", "reply from b")
	y := create(t, b, "from b")
	if out := mustSync(t, b); out.EventsPushed != 2 {
		t.Fatalf("b's push over git://: %+v", out)
	}

	// A pulls B's work back, with a local event of its own to rebase.
	mustJSON(t, a, nil, "issue", "close", x)
	back := mustSync(t, a)
	if back.EventsPulled != 2 || !back.Rebased || back.EventsRebased != 1 || back.EventsPushed != 1 {
		t.Fatalf("a's sync back: %+v, want 2 pulled and 1 rebased and pushed", back)
	}
	mustSync(t, b)
	requireIDs(t, a, []string{x, y})
	requireSameView(t, "a", readViewState(t, a), "b", readViewState(t, b))
}
