package e2e

import (
	"strings"
	"testing"
)

// This package decodes grite's output into copies of its own (writeResult,
// listOutput, showOutput, syncOutput, ...), an independent decoder on
// purpose. Each command whose output one of them decodes runs here, with
// the optional parts present where it can (labels, a comment, a link, an
// attachment, a dependency, a handoff, a claim taken over), and its data
// decodes strictly (decodeStrict): a field added, renamed or dropped on
// either side fails.
func TestOutputTypesDecodeStrictly(t *testing.T) {
	t.Parallel()
	_, clones := syncRemoteAndClones(t, 1)
	a := clones[0]
	x := create(t, a, "x", "--label", "bug", "--body", "body of x", "--assignee", "alice")
	y := create(t, a, "y")
	mustJSON(t, a, nil, "issue", "comment", x, "--body", "a comment")
	mustJSON(t, a, nil, "issue", "link", "add", x, "--url", "https://example.com", "--note", "see")
	mustJSON(t, a, nil, "issue", "attachment", "add", x, "--name", "log.txt", "--sha256", strings.Repeat("ab", 32), "--mime", "text/plain")
	mustJSON(t, a, nil, "issue", "dep", "add", y, "--target", x)
	mustJSON(t, a, nil, "issue", "handoff", x, "--done", "half", "--next", "the rest", "--blocker", "none", "--evidence", "tests")
	other := coordActors(t, a, "other")[0]
	// A claim that another actor held and released: with "previous".
	mustJSON(t, a, nil, other.as("issue", "claim", x)...)
	mustJSON(t, a, nil, other.as("issue", "release", x)...)

	for _, tc := range []struct {
		args []string
		out  any
	}{
		{[]string{"issue", "create", "--title", "z", "--label", "l"}, &writeResult{}},
		{[]string{"issue", "close", y}, &writeResult{}},
		{[]string{"issue", "close", y}, &writeResult{}}, // unchanged: with a message
		{[]string{"issue", "list"}, &listOutput{}},
		{[]string{"issue", "list", "--state", "closed"}, &listOutput{}},
		{[]string{"issue", "ready"}, &readyOutput{}},
		{[]string{"issue", "show", x}, &showOutput{}},
		{[]string{"issue", "show", y}, &showOutput{}},
		{[]string{"issue", "claim", x}, &coordClaim{}},
		{[]string{"issue", "claim", x}, &coordClaim{}}, // already held
		{[]string{"lock", "acquire", "repo:docs"}, &coordLockData{}},
		{[]string{"lock", "renew", "repo:docs"}, &coordLockData{}},
		{[]string{"lock", "release", "repo:docs"}, &coordLockData{}},
		{[]string{"events"}, &changesOutput{}},
		{[]string{"doctor"}, &doctorOutput{}},
		{[]string{"sync"}, &syncOutput{}},
	} {
		env, r := gjson(t, a, tc.args...)
		if !env.OK {
			t.Fatalf("want success\n%s", r)
		}
		if err := decodeStrict(env.Data, tc.out); err != nil {
			t.Errorf("grite %s: %v\ndata: %s", strings.Join(tc.args, " "), err, env.Data)
		}
	}
}
