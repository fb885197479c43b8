package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"grite/event"
	"grite/gitdir"
	"grite/wal"
)

// appendForeignIssues writes IssueCreated events with chosen IDs as another
// writer would (one WAL commit), so tests can make IDs share a prefix
// without creating tens of thousands of random ones.
func appendForeignIssues(t *testing.T, dir string, ids ...string) {
	t.Helper()
	repo, err := gitdir.Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	actor, _ := event.ParseActorID("f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0")
	var events []event.Event
	for i, s := range ids {
		id, err := event.ParseIssueID(s)
		if err != nil {
			t.Fatal(err)
		}
		e := event.Event{IssueID: id, Actor: actor, TS: uint64(time.Now().UnixMilli()) + uint64(i),
			Kind: event.IssueCreated{Title: "foreign " + s[:8], Labels: []string{}}}
		if err := e.Seal(nil); err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	if _, err := wal.Open(repo).Append(context.Background(), actor, events, time.Now()); err != nil {
		t.Fatal(err)
	}
}

func TestBadInputFailsWithStableCodesAndLosesNothing(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	ids := []string{create(t, dir, "first", "--label", "bug"), create(t, dir, "second")}
	// Two issues sharing the prefix "abcd" (and nothing else with it).
	twins := []string{"abcd0000000000000000000000000001", "abcd0000000000000000000000000002"}
	appendForeignIssues(t, dir, twins...)
	ids = append(ids, twins...)
	requireIDs(t, dir, ids)
	var withPrefix []string // the twins, and a random ID in the 1 in 32768 case
	for _, id := range ids {
		if strings.HasPrefix(id, "abcd") {
			withPrefix = append(withPrefix, id)
		}
	}
	commits := walCount(t, dir)

	notRepo := t.TempDir()
	big := filepath.Join(t.TempDir(), "body")
	if err := os.WriteFile(big, []byte(strings.Repeat("b", 1<<20+1)), 0o644); err != nil {
		t.Fatal(err)
	}
	var labels101 []string
	for i := range 101 {
		labels101 = append(labels101, "--label", fmt.Sprintf("l%d", i))
	}
	unknownID := "0123456789abcdef0123456789abcdef"
	if slices.Contains(ids, unknownID) {
		t.Fatal("unlucky random ID")
	}

	for _, tc := range []struct {
		name  string
		dir   string
		args  []string
		code  string
		exit  int
		check func(t *testing.T, e errorObject)
	}{
		{name: "not a repo, read", dir: notRepo, args: []string{"issue", "list"}, code: "not_a_repo", exit: 5},
		{name: "not a repo, write", dir: notRepo, args: []string{"issue", "create", "--title", "x"}, code: "not_a_repo", exit: 5},
		{name: "empty title", args: []string{"issue", "create", "--title", ""}, code: "invalid_args", exit: 2},
		{name: "actor gc age not a duration", args: []string{"actor", "gc", "--older-than", "soon"}, code: "invalid_args", exit: 2},
		{name: "actor gc age of zero", args: []string{"actor", "gc", "--older-than", "0d"}, code: "invalid_args", exit: 2},
		{name: "missing title", args: []string{"issue", "create"}, code: "invalid_args", exit: 2},
		{name: "blank title", args: []string{"issue", "create", "--title", " \t  "}, code: "invalid_args", exit: 2},
		{name: "title of 1025 bytes", args: []string{"issue", "create", "--title", strings.Repeat("t", 1025)}, code: "invalid_args", exit: 2},
		{name: "title of 1025 bytes in update", args: []string{"issue", "update", ids[0], "--title", strings.Repeat("t", 1025)}, code: "invalid_args", exit: 2},
		{name: "body of 1 MiB + 1", args: []string{"issue", "create", "--title", "x", "--body-file", big}, code: "invalid_args", exit: 2},
		{name: "comment of 1 MiB + 1", args: []string{"issue", "comment", ids[0], "--body-file", big}, code: "invalid_args", exit: 2},
		{name: "body and body file", args: []string{"issue", "create", "--title", "x", "--body", "b", "--body-file", big}, code: "invalid_args", exit: 2},
		{name: "label of 129 bytes", args: []string{"issue", "create", "--title", "x", "--label", strings.Repeat("l", 129)}, code: "invalid_args", exit: 2},
		{name: "label of 129 bytes added", args: []string{"issue", "label", "add", ids[0], "--label", strings.Repeat("l", 129)}, code: "invalid_args", exit: 2},
		{name: "101 labels", args: append([]string{"issue", "create", "--title", "x"}, labels101...), code: "invalid_args", exit: 2},
		{name: "unknown issue", args: []string{"issue", "show", unknownID}, code: "not_found", exit: 3,
			check: func(t *testing.T, e errorObject) { requireSuggestion(t, e, "grite issue list") }},
		{name: "comment on unknown issue", args: []string{"issue", "comment", unknownID, "--body", "hi"}, code: "not_found", exit: 3},
		{name: "malformed ID", args: []string{"issue", "show", "xyz!"}, code: "invalid_args", exit: 2},
		{name: "malformed ID in close", args: []string{"issue", "close", "xyz!"}, code: "invalid_args", exit: 2},
		{name: "too short prefix", args: []string{"issue", "show", "ab"}, code: "invalid_args", exit: 2},
		{name: "too long ID", args: []string{"issue", "show", unknownID + "0"}, code: "invalid_args", exit: 2},
		{name: "ambiguous prefix", args: []string{"issue", "show", "abcd"}, code: "invalid_args", exit: 2,
			check: func(t *testing.T, e errorObject) { requireCandidates(t, e, withPrefix) }},
		{name: "ambiguous prefix in close", args: []string{"issue", "close", "ABCD0000"}, code: "invalid_args", exit: 2,
			check: func(t *testing.T, e errorObject) { requireCandidates(t, e, twins) }},
		{name: "unknown flag", args: []string{"issue", "list", "--bogus"}, code: "invalid_args", exit: 2},
		{name: "unknown flag before --json", args: []string{"issue", "create", "--bogus", "--title", "x"}, code: "invalid_args", exit: 2},
		{name: "unknown command", args: []string{"frobnicate"}, code: "invalid_args", exit: 2},
		{name: "missing ID argument", args: []string{"issue", "show"}, code: "invalid_args", exit: 2},
		{name: "bad state filter", args: []string{"issue", "list", "--state", "done"}, code: "invalid_args", exit: 2},
		{name: "bad sha256", args: []string{"issue", "attachment", "add", ids[0], "--name", "f", "--mime", "text/plain", "--sha256", "xyz"}, code: "invalid_args", exit: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.dir
			if d == "" {
				d = dir
			}
			// --json last: flag parsing can stop before it (unknown flag).
			e := mustFail(t, d, tc.code, tc.exit, tc.args...)
			requireSafeSuggestions(t, fmt.Sprint(e.Details["suggestions"]))
			if tc.check != nil {
				tc.check(t, e)
			}
			if got := walCount(t, dir); got != commits {
				t.Fatalf("WAL has %d commits after a failed command, want %d", got, commits)
			}
			requireIDs(t, dir, ids)
		})
	}
}

// TestArgumentErrorsNameTheProblem: a misspelt subcommand is an unknown
// command with a "did you mean", and a value given as an argument instead
// of in its flag is answered with the flag, not with what is there.
func TestArgumentErrorsNameTheProblem(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	id := create(t, dir, "target")
	commits := walCount(t, dir)
	for _, tc := range []struct {
		args     []string
		want     []string
		dontWant []string
	}{
		{[]string{"issue", "assignee", "add", id, "alice"}, []string{`"alice"`, "--user"}, []string{"needs an issue ID"}},
		{[]string{"issue", "label", "add", id, "bug", "ui"}, []string{`"bug" "ui"`, "--label"}, []string{"needs"}},
		{[]string{"issue", "comment", id, "hello"}, []string{`"hello"`, "--body"}, []string{"needs"}},
		{[]string{"issue", "link", "add", id, "https://example.com"}, []string{"--url"}, []string{"needs"}},
		{[]string{"issue", "dep", "add", id, id}, []string{"--target"}, []string{"needs"}},
		{[]string{"issue", "create", "My title"}, []string{`"My title"`, "--title"}, nil},
		{[]string{"issue", "assignee", "add", id, "alice", "--user", "bob"}, []string{`"alice"`}, []string{"give the"}},
		{[]string{"issue", "show", id, "extra"}, []string{`"extra"`}, []string{"needs"}},
		{[]string{"issue", "assignee", "add", "--user", "bob"}, []string{"needs an issue ID"}, nil},
		{[]string{"issue", "shwo", id}, []string{`unknown command "shwo"`, `did you mean "show"`}, []string{"takes no arguments"}},
		{[]string{"issue", "label", "ad", id, "--label", "x"}, []string{`unknown command "ad"`, `did you mean "add"`}, nil},
		{[]string{"isue", "list"}, []string{`unknown command "isue"`, `did you mean "issue"`}, []string{"\n"}},
		{[]string{"snapshot", "lst"}, []string{`unknown command "lst"`, `did you mean "list"`}, nil},
		{[]string{"lock", "aquire", "repo:global"}, []string{`did you mean "acquire"`}, nil},
		{[]string{"issue", "frobnicate"}, []string{`unknown command "frobnicate" for "grite issue"`}, []string{"did you mean"}},
	} {
		e := mustFail(t, dir, "invalid_args", 2, tc.args...)
		requireSafeSuggestions(t, fmt.Sprint(e.Details["suggestions"]))
		for _, w := range tc.want {
			if !strings.Contains(e.Message, w) {
				t.Errorf("%q: message %q does not say %q", tc.args, e.Message, w)
			}
		}
		for _, w := range append(tc.dontWant, "\n") {
			if strings.Contains(e.Message, w) {
				t.Errorf("%q: message %q says %q", tc.args, e.Message, w)
			}
		}
		if h := grite(t, dir, tc.args...); h.code != 2 || !strings.Contains(h.stderr, e.Message) {
			t.Errorf("human error differs\n%s", h)
		}
	}
	if walCount(t, dir) != commits {
		t.Fatal("a refused command wrote to the WAL")
	}
}

func requireSuggestion(t *testing.T, e errorObject, substr string) {
	t.Helper()
	s, _ := e.Details["suggestions"].([]any)
	for _, v := range s {
		if str, _ := v.(string); strings.Contains(str, substr) {
			return
		}
	}
	t.Fatalf("no suggestion mentioning %q in %+v", substr, e)
}

func requireCandidates(t *testing.T, e errorObject, want []string) {
	t.Helper()
	raw, _ := e.Details["candidates"].([]any)
	var got []string
	for _, v := range raw {
		s, _ := v.(string)
		got = append(got, s)
	}
	slices.Sort(got)
	if !slices.Equal(got, sorted(want)) {
		t.Fatalf("candidates %v, want %v (error %+v)", got, want, e)
	}
}

func TestLimitsAreInclusive(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	body := filepath.Join(t.TempDir(), "body")
	if err := os.WriteFile(body, []byte(strings.Repeat("é", 1<<19)), 0o644); err != nil { // exactly 1 MiB of UTF-8
		t.Fatal(err)
	}
	var labels []string
	for i := range 100 {
		labels = append(labels, "--label", fmt.Sprintf("%03d%s", i, strings.Repeat("x", 125)))
	}
	title := strings.Repeat("t", 1024)
	id := create(t, dir, title, append(labels, "--body-file", body)...)
	mustJSON(t, dir, nil, "issue", "comment", id, "--body-file", body)

	var show showOutput
	mustJSON(t, dir, &show, "issue", "show", id)
	if show.Issue.Title != title || len(show.Issue.Body) != 1<<20 || len(show.Issue.Labels) != 100 ||
		len(show.Issue.Labels[0]) != 128 || len(show.Issue.Comments) != 1 || len(show.Issue.Comments[0].Body) != 1<<20 {
		t.Fatalf("issue at the limits came back as title %d bytes, body %d bytes, %d labels, %d comments",
			len(show.Issue.Title), len(show.Issue.Body), len(show.Issue.Labels), len(show.Issue.Comments))
	}
	if walCount(t, dir) != 2 {
		t.Fatalf("want 2 WAL commits, got %d", walCount(t, dir))
	}
}
