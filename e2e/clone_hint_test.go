package e2e

import (
	"strings"
	"testing"

	"grite/internal/testrepo"
)

// git clone does not fetch refs/grite/*: an empty issue list in a clone
// that never pulled says the remote's issues are not here yet, and how to
// get them; it stays quiet where there is nothing to pull.
func TestEmptyListInAFreshCloneHintsAtPull(t *testing.T) {
	t.Parallel()
	remote, clones := syncRemoteAndClones(t, 1)
	a := clones[0]
	x := create(t, a, "on the remote")
	mustSync(t, a)

	hint := func(dir string) (human, jsonHint string) {
		t.Helper()
		r := grite(t, dir, "issue", "list")
		if r.code != 0 {
			t.Fatalf("%s", r)
		}
		var out struct {
			Hint string `json:"hint"`
		}
		mustJSON(t, dir, &out, "issue", "list")
		return r.stdout, out.Hint
	}

	fresh := testrepo.Clone(t, remote)
	human, h := hint(fresh)
	if !strings.Contains(human, "no issues") || !strings.Contains(human, "origin has issues") || !strings.Contains(human, "grite sync --pull") || h == "" {
		t.Errorf("fresh clone of a remote with issues: %q (JSON hint %q), want a hint to pull", human, h)
	}
	// An MCP client is told the tool and argument, not the command line.
	if r := mustStartMCP(t, mcpOptions{dir: fresh}).ok(t, "issue_list", nil, nil); !strings.Contains(r.text, `call sync with mode: "pull"`) || strings.Contains(r.text, "grite sync") {
		t.Errorf("MCP issue_list text in a fresh clone: %q, want the sync tool named", r.text)
	}
	mustSync(t, fresh, "--pull")
	requireIDs(t, fresh, []string{x})
	if _, h := hint(fresh); h != "" {
		t.Errorf("after pulling: hint %q", h)
	}

	// A remote that is not a path here is not asked (that would be a
	// network call per list): the hint only says it was never pulled.
	elsewhere := testrepo.Clone(t, remote)
	testrepo.Git(t, elsewhere, "remote", "set-url", "origin", "https://example.invalid/repo.git")
	if human, _ := hint(elsewhere); !strings.Contains(human, "never pulled from origin") {
		t.Errorf("clone of a network remote: %q, want it to say origin was never pulled", human)
	}

	// Nothing to pull: no hint.
	alone, _ := newRepo(t)
	for name, dir := range map[string]string{"no remote": alone, "clone of a remote without issues": testrepo.Clone(t, testrepo.NewBare(t))} {
		if _, h := hint(dir); h != "" {
			t.Errorf("%s: hint %q", name, h)
		}
	}
}
