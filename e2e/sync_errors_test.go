package e2e

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"grite/internal/testrepo"
)

// requireSyncSuggestions fails unless the error carries suggestions and
// none of them is destructive (docs/cli.md decision 7).
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
		{"push refused by a hook", "guarded", "git_error", 1, []string{"refused", "pre-receive hook declined", "grite refs are read-only here"}},
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

// A local remote whose repository holds a corrupt object (a loose object
// file whose content no longer hashes to its name): the pull reads the
// remote's objects itself, so it must catch what git fetch would. The
// sync fails with git_error naming the object, nothing here moves, and
// once the remote is repaired the pull goes through.
func TestSyncFromLocalRemoteRejectsACorruptObject(t *testing.T) {
	t.Parallel()
	remote, a, b, x := twoClonesSharing(t, "seen by both")
	y := create(t, a, "behind a corrupt object")
	mustSync(t, a)
	meta := strings.TrimSpace(testrepo.Git(t, remote, "rev-parse", "refs/grite/wal:meta.json"))
	path := filepath.Join(remote, "objects", meta[:2], meta[2:])
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the remote should hold meta.json loose after a small push: %v", err)
	}
	var forged bytes.Buffer
	zw := zlib.NewWriter(&forged)
	zw.Write([]byte("blob 4\x00evil"))
	zw.Close()
	os.Chmod(path, 0o644)
	if err := os.WriteFile(path, forged.Bytes(), 0o444); err != nil {
		t.Fatal(err)
	}
	head, view, tracking := walHead(t, b), rawData(t, b, "issue", "list"), refOrEmpty(t, b, "refs/grite/remotes/origin/wal")
	e := mustFail(t, b, "git_error", 1, "sync")
	if !strings.Contains(e.Message, meta) || !strings.Contains(e.Message, "corrupt") {
		t.Errorf("message %q does not name the corrupt object %s", e.Message, meta)
	}
	requireSyncSuggestions(t, e)
	if got := walHead(t, b); got != head {
		t.Fatalf("b's WAL moved from %s to %s", head, got)
	}
	if got := refOrEmpty(t, b, "refs/grite/remotes/origin/wal"); got != tracking {
		t.Fatalf("b's tracking ref moved from %s to %s", tracking, got)
	}
	if got := rawData(t, b, "issue", "list"); got != view {
		t.Fatalf("b's view changed:\n%s\nwant\n%s", got, view)
	}
	os.Chmod(path, 0o644)
	if err := os.WriteFile(path, orig, 0o444); err != nil {
		t.Fatal(err)
	}
	if got := mustSync(t, b); got.EventsPulled != 1 {
		t.Fatalf("after the repair b pulled %d events, want 1", got.EventsPulled)
	}
	requireIDs(t, b, []string{x, y})
}
