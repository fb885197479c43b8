package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"grite/internal/testrepo"
)

// A handoff travels with sync like any comment, and the other clone reads
// every field back: the text, the author and where its work tree stood.
func TestHandoffRoundTripThroughSync(t *testing.T) {
	t.Parallel()
	_, clones := syncRemoteAndClones(t, 2)
	a, b := clones[0], clones[1]
	file := filepath.Join(a, "work.txt")
	if err := os.WriteFile(file, []byte("v1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	testrepo.Git(t, a, "add", "work.txt")
	testrepo.Git(t, a, "commit", "-q", "-m", "work")
	if err := os.WriteFile(file, []byte("v2, not committed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	head := testrepo.Git(t, a, "rev-parse", "HEAD")
	id := create(t, a, "handed over")
	mustJSON(t, a, nil, "issue", "handoff", id, "--done", "wrote v1", "--next", "commit v2 --> then test",
		"--blocker", "needs a <review>", "--evidence", "go test passes")
	mustFail(t, a, "invalid_args", 2, "issue", "handoff", id, "--done", "no next")
	var me struct {
		ActorID string `json:"actor_id"`
	}
	mustJSON(t, a, &me, "actor", "current")
	mustSync(t, a)
	mustSync(t, b)

	var show showOutput
	mustJSON(t, b, &show, "issue", "show", id)
	h := show.Issue.Handoff
	if h == nil {
		t.Fatalf("no handoff in the other clone: %+v", show.Issue)
	}
	if h.Done != "wrote v1" || h.Next != "commit v2 --> then test" || h.Blocker != "needs a <review>" || h.Evidence != "go test passes" ||
		h.Actor != me.ActorID || h.Head != head || !h.Dirty {
		t.Fatalf("handoff read back as %+v (actor %s, head %s, dirty)", h, me.ActorID, head)
	}
	if len(show.Issue.Comments) != 1 {
		t.Fatalf("the handoff is not one ordinary comment: %+v", show.Issue.Comments)
	}
	mustJSON(t, b, nil, "doctor")
}

// A write to an issue whose claim the writer lost is kept, with a
// claim_lost warning on stderr and in --json's data.warnings, naming the
// holder; over MCP the warning is in the result's text and structure.
func TestClaimLostWarning(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	id := create(t, dir, "contested")
	mustJSON(t, dir, nil, "issue", "claim", id, "--ttl", "1s")
	var other struct {
		ActorID string `json:"actor_id"`
	}
	mustJSON(t, dir, &other, "actor", "init", "--label", "taker")
	// Take over once the 1 s lease has run out (a deadline bounds it).
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := grite(t, dir, "--actor", other.ActorID, "issue", "claim", id, "--json")
		if r.code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("could not take over the expired claim: %s", r)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var out struct {
		Warnings []string `json:"warnings"`
	}
	r := mustJSON(t, dir, &out, "issue", "comment", id, "--body", "late report")
	if len(out.Warnings) != 1 || !strings.HasPrefix(out.Warnings[0], "claim_lost:") || !strings.Contains(out.Warnings[0], other.ActorID) ||
		!strings.Contains(r.stderr, "claim_lost:") {
		t.Fatalf("warnings %q, stderr %q", out.Warnings, r.stderr)
	}
	s := mustStartMCP(t, mcpOptions{dir: dir, args: []string{"--actor", actorIDOf(t, dir)}})
	res := s.ok(t, "issue_comment", map[string]any{"id": id, "body": "over MCP"}, nil)
	if !strings.Contains(res.text, "claim_lost:") || !strings.Contains(string(res.data), "claim_lost:") {
		t.Fatalf("MCP result without claim_lost: %s", res)
	}
}

// actorIDOf is the repository's default actor.
func actorIDOf(t *testing.T, dir string) string {
	t.Helper()
	var me struct {
		ActorID string `json:"actor_id"`
	}
	mustJSON(t, dir, &me, "actor", "current")
	return me.ActorID
}
