package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"grite/internal/testrepo"
)

// requireSyncSuggestions fails unless the error carries suggestions and
// none of them is destructive (CLI.md decision 7).
func requireSyncSuggestions(t *testing.T, e errorObject) {
	t.Helper()
	list, _ := e.Details["suggestions"].([]any)
	if len(list) == 0 {
		t.Fatalf("%s error has no suggestions: %+v", e.Code, e)
	}
	var text []string
	for _, s := range list {
		str, _ := s.(string)
		text = append(text, str)
	}
	requireSafeSuggestions(t, strings.Join(text, "\n"))
}

func TestSyncRemoteErrorsHaveStableCodesAndKeepLocalWork(t *testing.T) {
	t.Parallel()
	_, clones := syncRemoteAndClones(t, 1)
	a := clones[0]
	x := create(t, a, "synced")
	mustSync(t, a)
	// Work the failing remotes below could have received.
	mustJSON(t, a, nil, "issue", "comment", x, "--body", "local only")
	create(t, a, "local only")

	notRepo := t.TempDir()
	testrepo.Git(t, a, "remote", "add", "notrepo", notRepo)
	testrepo.Git(t, a, "remote", "add", "down", fmt.Sprintf("git://127.0.0.1:%d/x", closedLoopbackPort(t)))
	guarded := testrepo.NewBare(t)
	hook := filepath.Join(guarded, "hooks", "pre-receive")
	if err := os.WriteFile(hook, []byte("#!/bin/sh\necho 'grite refs are read-only here' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	testrepo.Git(t, a, "remote", "add", "guarded", guarded)

	for _, tc := range []struct {
		name, remote, code string
		exit               int
		message            []string // each must appear in the message
	}{
		{"unknown remote", "nosuch", "not_found", 3, []string{"nosuch"}},
		{"not a git repository", "notrepo", "git_error", 1, []string{"notrepo", "not a git repository"}},
		{"network unreachable", "down", "git_error", 1, []string{"down"}},
		{"push refused by a hook", "guarded", "git_error", 1, []string{"refused", "pre-receive hook declined"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			head, view := walHead(t, a), rawData(t, a, "issue", "list")
			events := exportedEventIDs(t, a)
			e := mustFail(t, a, tc.code, tc.exit, "sync", "--remote", tc.remote)
			for _, m := range tc.message {
				if !strings.Contains(e.Message, m) {
					t.Errorf("message %q does not mention %q", e.Message, m)
				}
			}
			requireSyncSuggestions(t, e)
			if got := walHead(t, a); got != head {
				t.Errorf("failed sync moved the local WAL from %s to %s", head, got)
			}
			if got := rawData(t, a, "issue", "list"); got != view {
				t.Errorf("failed sync changed the view:\n%s\nwant\n%s", got, view)
			}
			if got := exportedEventIDs(t, a); strings.Join(got, ",") != strings.Join(events, ",") {
				t.Errorf("failed sync changed the events: %d, had %d", len(got), len(events))
			}
		})
	}
	if got := refOrEmpty(t, guarded, "refs/grite/wal"); got != "" {
		t.Fatalf("the refused push created refs/grite/wal %s", got)
	}
	// The configured remote still works.
	if out := mustSync(t, a); out.EventsPushed != 2 {
		t.Fatalf("sync with origin afterwards: %+v, want 2 events pushed", out)
	}
}
