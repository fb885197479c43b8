package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"grite/internal/testrepo"
)

func TestWorktreesShareIssues(t *testing.T) {
	t.Parallel()
	main, _ := newRepo(t)
	wt := filepath.Join(t.TempDir(), "wt")
	testrepo.Git(t, main, "worktree", "add", "-q", "-b", "side", wt)

	fromWT := create(t, wt, "made in the worktree")
	requireIDs(t, main, []string{fromWT})
	fromMain := create(t, main, "made in the main checkout")
	requireIDs(t, wt, []string{fromWT, fromMain})
	requireIDs(t, main, []string{fromWT, fromMain})

	// A subdirectory of the worktree finds the same repository.
	sub := filepath.Join(wt, "sub", "dir")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	mustJSON(t, sub, nil, "issue", "comment", fromMain[:6], "--body", "from a subdirectory")
	var show showOutput
	mustJSON(t, main, &show, "issue", "show", fromMain)
	if len(show.Issue.Comments) != 1 {
		t.Fatalf("comment from the worktree not seen: %+v", show.Issue)
	}
	// One actor, in the common dir; nothing grite-related in the worktree's
	// private git dir.
	if n := len(actorDirs(t, main)); n != 1 {
		t.Fatalf("%d actors, want 1", n)
	}
	private := testrepo.Git(t, wt, "rev-parse", "--git-dir")
	if _, err := os.Stat(filepath.Join(private, "grite")); !os.IsNotExist(err) {
		t.Fatalf("grite state in the worktree's private git dir %s", private)
	}
	for _, d := range []string{main, wt} {
		if st := testrepo.Git(t, d, "status", "--porcelain"); st != "" {
			t.Fatalf("working tree %s changed:\n%s", d, st)
		}
	}
}

func TestCommandsLeaveTheWorkingTreeAloneExceptAGENTSmd(t *testing.T) {
	t.Parallel()
	dir := testrepo.New(t)
	var init struct {
		AgentsMD string `json:"agents_md"`
	}
	mustJSON(t, dir, &init, "init")
	if init.AgentsMD != "created" {
		t.Fatalf("init: agents_md %q", init.AgentsMD)
	}
	a := create(t, dir, "one", "--label", "x", "--body", "b")
	b := create(t, dir, "two")
	for _, args := range [][]string{
		{"issue", "update", a, "--title", "uno"},
		{"issue", "comment", a, "--body", "c"},
		{"issue", "label", "add", b, "--label", "y"},
		{"issue", "assignee", "add", b, "--user", "u"},
		{"issue", "link", "add", a, "--url", "https://example.com"},
		{"issue", "close", a},
		{"issue", "reopen", a},
		{"issue", "list"},
		{"issue", "show", b},
		{"actor", "init"},
		{"actor", "list"},
		{"snapshot"},
		{"snapshot", "list"},
		{"rebuild"},
		{"rebuild", "--from-snapshot"},
		{"db", "stats"},
		{"export", "--format", "md"},
		{"doctor"},
		{"doctor", "--fix"},
		{"init"},
	} {
		mustJSON(t, dir, nil, args...)
	}
	if st := testrepo.Git(t, dir, "status", "--porcelain", "--untracked-files=all", "--ignored"); st != "?? AGENTS.md" {
		t.Fatalf("git status after grite commands:\n%s", st)
	}
	requireOneGriteSection(t, filepath.Join(dir, "AGENTS.md"), "")
}

func requireOneGriteSection(t *testing.T, path, prefix string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count("\n"+string(b), "\n## Grite\n"); n != 1 {
		t.Fatalf("%s has %d Grite sections:\n%s", path, n, b)
	}
	if !strings.HasPrefix(string(b), prefix) {
		t.Fatalf("%s lost its earlier content:\n%s", path, b)
	}
}

func TestInitWritesTheAGENTSmdSectionOnce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		existing string // "" = no file
		args     []string
		first    string // agents_md of the first init
		none     bool   // no AGENTS.md afterwards
	}{
		{name: "new file", first: "created"},
		{name: "existing file", existing: "# Agents\n\nBe nice.\n", first: "appended"},
		{name: "existing file without final newline", existing: "# Agents\nno newline", first: "appended"},
		{name: "existing section kept", existing: "# Agents\n\n## Grite\n\nours\n", first: "unchanged"},
		{name: "no-agents-md", args: []string{"--no-agents-md"}, first: "skipped", none: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := testrepo.New(t)
			path := filepath.Join(dir, "AGENTS.md")
			if tc.existing != "" {
				if err := os.WriteFile(path, []byte(tc.existing), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for i, want := range []string{tc.first, map[bool]string{true: "skipped", false: "unchanged"}[tc.none]} {
				var out struct {
					AgentsMD string `json:"agents_md"`
					Created  bool   `json:"created"`
				}
				mustJSON(t, dir, &out, append([]string{"init"}, tc.args...)...)
				if out.AgentsMD != want || out.Created != (i == 0) {
					t.Fatalf("init #%d: %+v, want agents_md %q", i+1, out, want)
				}
			}
			if tc.none {
				if _, err := os.Stat(path); !os.IsNotExist(err) {
					t.Fatal("--no-agents-md wrote AGENTS.md")
				}
				if st := testrepo.Git(t, dir, "status", "--porcelain"); st != "" {
					t.Fatalf("working tree changed:\n%s", st)
				}
				return
			}
			requireOneGriteSection(t, path, tc.existing)
			if tc.existing == "# Agents\n\n## Grite\n\nours\n" {
				if b, _ := os.ReadFile(path); string(b) != tc.existing {
					t.Fatalf("an existing Grite section was rewritten:\n%s", b)
				}
			}
		})
	}
}
