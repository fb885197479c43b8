package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"grite/event"
	"grite/foreign"
	"grite/internal/testrepo"
)

// importOutput is the data of `grite import ... --json`.
type importOutput struct {
	Source  string `json:"source"`
	DryRun  bool   `json:"dry_run"`
	Created int    `json:"created"`
	Updated int    `json:"updated"`
	Skipped int    `json:"skipped"`
	Errors  []struct {
		Line    int    `json:"line"`
		ID      string `json:"id"`
		Message string `json:"message"`
	} `json:"errors"`
	Events  int `json:"events"`
	Commits int `json:"commits"`
	Issues  []struct {
		SourceID string `json:"source_id"`
		IssueID  string `json:"issue_id"`
		Action   string `json:"action"`
	} `json:"issues"`
}

// fixture copies a file of foreign/testdata into dir and returns its path.
func fixture(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "foreign", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func importJSON(t *testing.T, dir string, args ...string) (importOutput, result) {
	t.Helper()
	env, r := gjson(t, dir, append([]string{"import"}, args...)...)
	var out importOutput
	if !env.OK {
		t.Fatalf("import failed\n%s", r)
	}
	if err := json.Unmarshal(env.Data, &out); err != nil {
		t.Fatalf("decode: %v\n%s", err, r)
	}
	return out, r
}

func requireFsckStrict(t *testing.T, dir string) {
	t.Helper()
	if out, err := testrepo.GitErr(dir, "fsck", "--strict", "--no-dangling", "--no-progress"); err != nil || strings.Contains(out, "error") || strings.Contains(out, "warning") {
		t.Fatalf("git fsck --strict: %v\n%s", err, out)
	}
}

func TestImportBeadsWithTheBinaryIsIdempotentAndExportsBack(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	file := fixture(t, dir, "beads-export.jsonl")
	first, r := importJSON(t, dir, "beads", file)
	if r.code != 0 || first.Created != 26 || first.Skipped != 0 || len(first.Errors) != 0 {
		t.Fatalf("first import %+v\n%s", first, r)
	}
	again, r := importJSON(t, dir, "beads", file)
	if r.code != 0 || again.Created != 0 || again.Updated != 0 || again.Skipped != 26 || again.Events != 0 {
		t.Fatalf("second import %+v\n%s", again, r)
	}
	requireFsckStrict(t, dir)
	requireHealthy(t, dir)
	// The human summary.
	if r := grite(t, dir, "import", "beads", file); r.code != 0 || !strings.Contains(r.stdout, "beads: created 0, updated 0, skipped 26") {
		t.Errorf("human output\n%s", r)
	}
	exp := grite(t, dir, "export", "--format", "beads-jsonl")
	if exp.code != 0 {
		t.Fatalf("export\n%s", exp)
	}
	back := foreign.ParseBeads([]byte(exp.stdout))
	orig := foreign.ParseBeads(mustRead(t, file))
	if len(back.Errors) != 0 || len(back.Issues) != len(orig.Issues) {
		t.Fatalf("export read back: %d issues, errors %v", len(back.Issues), back.Errors)
	}
	titles := map[string]string{}
	for _, iss := range orig.Issues {
		titles[iss.ID] = iss.Title
	}
	for _, iss := range back.Issues {
		if titles[iss.ID] != iss.Title {
			t.Errorf("%s exported as %q, beads had %q", iss.ID, iss.Title, titles[iss.ID])
		}
	}
	// The exported file imports into a fresh repository as the same issues.
	other, _ := newRepo(t)
	expFile := filepath.Join(t.TempDir(), "export.jsonl")
	if err := os.WriteFile(expFile, []byte(exp.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, r := importJSON(t, other, "beads", expFile); out.Created != 26 || len(out.Errors) != 0 {
		t.Errorf("importing the export: %+v\n%s", out, r)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestImportGitBugWithTheBinaryMatchesGitBugsListing(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	bundle := fixture(t, dir, "git-bug-repo.bundle")
	testrepo.Git(t, dir, "fetch", "-q", bundle, "refs/bugs/*:refs/bugs/*", "refs/identities/*:refs/identities/*")
	var want []struct {
		HumanID  string   `json:"human_id"`
		Title    string   `json:"title"`
		Status   string   `json:"status"`
		Labels   []string `json:"labels"`
		Comments int      `json:"comments"`
	}
	if err := json.Unmarshal(mustRead(t, fixture(t, dir, "git-bug-expected.json")), &want); err != nil {
		t.Fatal(err)
	}
	dry, _ := importJSON(t, dir, "git-bug", "--dry-run")
	if !dry.DryRun || dry.Created != len(want) || refOrEmpty(t, dir, "refs/grite/wal") != "" {
		t.Fatalf("dry run %+v wrote or missed something", dry)
	}
	out, r := importJSON(t, dir, "git-bug", "--ref-prefix", "refs/bugs/")
	if r.code != 0 || out.Created != len(want) {
		t.Fatalf("import %+v\n%s", out, r)
	}
	grite_ := map[string]string{}
	for _, is := range out.Issues {
		grite_[is.SourceID[:7]] = is.IssueID
	}
	for _, w := range want {
		id, ok := grite_[w.HumanID]
		if !ok {
			t.Errorf("bug %s not imported", w.HumanID)
			continue
		}
		var show struct {
			Issue struct {
				Title        string   `json:"title"`
				State        string   `json:"state"`
				Labels       []string `json:"labels"`
				CommentCount int      `json:"comment_count"`
			} `json:"issue"`
		}
		mustJSON(t, dir, &show, "issue", "show", id)
		labels := w.Labels
		if labels == nil {
			labels = []string{}
		}
		got := show.Issue
		if got.Title != w.Title || got.State != w.Status || !slices.Equal(got.Labels, labels) || got.CommentCount+1 != w.Comments {
			t.Errorf("bug %s: %+v; git-bug lists %+v (its comments count the description)", w.HumanID, got, w)
		}
	}
	requireFsckStrict(t, dir)
	requireHealthy(t, dir)
}

func TestImportReportsMalformedRecordsWithLinesAndExitsNonZero(t *testing.T) {
	t.Parallel()
	tests := []struct {
		source, file string
		lines        []int
		created      int
	}{
		{"beads", "beads-malformed.jsonl", []int{2, 4, 6, 8, 9}, 3},
		{"github", "github-malformed.json", []int{3, 4, 5}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.source, func(t *testing.T) {
			dir, _ := newRepo(t)
			file := fixture(t, dir, tc.file)
			env, r := gjson(t, dir, "import", tc.source, file)
			var out importOutput
			if err := json.Unmarshal(env.Data, &out); err != nil || !env.OK {
				t.Fatalf("envelope\n%s", r)
			}
			if r.code != 1 {
				t.Errorf("exit %d, want 1 when a record was left out", r.code)
			}
			var lines []int
			for _, e := range out.Errors {
				lines = append(lines, e.Line)
			}
			if !slices.Equal(lines, tc.lines) || out.Created != tc.created {
				t.Errorf("error lines %v, created %d; want %v, %d\n%s", lines, out.Created, tc.lines, tc.created, r)
			}
			// Human mode names the lines on stderr, the summary on stdout.
			again := grite(t, dir, "import", tc.source, file)
			if again.code != 1 || !strings.Contains(again.stderr, fmt.Sprintf("error: line %d", tc.lines[0])) || !strings.Contains(again.stdout, fmt.Sprintf("skipped %d", tc.created)) {
				t.Errorf("human run\n%s", again)
			}
		})
	}
}

func TestImportOfAMissingFileOrSourceIsAnError(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	mustFail(t, dir, "io_error", 1, "import", "beads", filepath.Join(t.TempDir(), "nope.jsonl"))
	mustFail(t, dir, "invalid_args", 2, "import", "jira", "x")
	mustFail(t, dir, "not_found", 3, "import", "git-bug")
	mustFail(t, dir, "invalid_args", 2, "import", "git-bug", "--ref-prefix", "bugs/")
}

// syntheticIssues is n beads issues with a comment each.
func syntheticIssues(n int) []byte {
	var issues []foreign.Issue
	for i := 1; i <= n; i++ {
		at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixMilli() + int64(i)
		issues = append(issues, foreign.Issue{
			ID: fmt.Sprintf("syn-%d", i), Title: fmt.Sprintf("Issue %d", i), Body: "Body " + fmt.Sprint(i),
			Labels: []string{"synthetic", foreign.PriorityLabel(i % 5)}, CreatedMS: at, UpdatedMS: at + 1000,
			Comments: []foreign.Comment{{Author: "Ann", Body: fmt.Sprintf("Comment on %d", i), CreatedMS: at + 500}},
		})
	}
	b, err := foreign.BeadsJSONL(issues)
	if err != nil {
		panic(err)
	}
	return b
}

// A kill -9 in the middle of an import leaves a valid repository with
// whole issues only, and running the import again completes it without
// creating any issue twice. The actor signs, so the re-run's events are
// checked too.
func TestImportKilledMidWayThenRunAgainDuplicatesNothing(t *testing.T) {
	t.Parallel()
	n := 20000 // eight commits of issues: the kill has room to land
	if testing.Short() {
		n = 10000
	}
	file := filepath.Join(t.TempDir(), "big.jsonl")
	if err := os.WriteFile(file, syntheticIssues(n), 0o644); err != nil {
		t.Fatal(err)
	}
	var dir string
	var partial int
	// The kill must land between the first commit and the last: try a few
	// fresh repositories should an import finish before it.
	for attempt := 0; attempt < 3 && partial == 0; attempt++ {
		dir = testrepo.New(t)
		mustJSON(t, dir, nil, "init", "--no-agents-md", "--generate-key")
		if stopImportAfterFirstCommit(t, dir, file, syscall.SIGKILL) {
			partial = len(listIDs(t, dir))
			if partial == n {
				partial = 0 // it finished: try again
			}
		}
	}
	if partial == 0 {
		t.Fatalf("three imports of %d issues all finished before the kill", n)
	}
	requireFsckStrict(t, dir)
	requireHealthy(t, dir)
	out, r := importJSON(t, dir, "beads", file)
	if r.code != 0 || out.Created != n-partial || out.Skipped != partial {
		t.Fatalf("re-run after %d of %d: created %d skipped %d\n%s", partial, n, out.Created, out.Skipped, r)
	}
	if ids := listIDs(t, dir); len(ids) != n {
		t.Fatalf("%d issues after the re-run, want %d", len(ids), n)
	}
	// Every issue has exactly one provenance link: none was created twice.
	seen := map[string]int{}
	for _, e := range relEventsOfWAL(t, dir) {
		if link, ok := e.Kind.(event.LinkAdded); ok {
			seen[link.URL]++
		}
	}
	if len(seen) != n {
		t.Errorf("%d provenance links, want %d", len(seen), n)
	}
	for u, c := range seen {
		if c != 1 {
			t.Errorf("%s recorded %d times", u, c)
		}
	}
	requireFsckStrict(t, dir)
	requireHealthy(t, dir)
}

// stopImportAfterFirstCommit runs the import and sends it sig once the
// WAL ref exists; it reports whether the signal came before the process
// finished its work (it died of the signal, or stopped on it with an
// error).
func stopImportAfterFirstCommit(t *testing.T, dir, file string, sig syscall.Signal) bool {
	t.Helper()
	cmd := exec.Command(testrepo.BuildBinaries(t).Grite, "import", "beads", file)
	cmd.Dir = dir
	cmd.Env = testrepo.Env()
	var e bytes.Buffer
	cmd.Stderr = &e
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	ref := filepath.Join(gitDir(t, dir), "refs", "grite", "wal")
	deadline := time.After(relProcessLimit)
	for {
		select {
		case <-done:
			return false
		case <-deadline:
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
			t.Fatalf("import still running after %v\n%s", relProcessLimit, e.String())
		case <-time.After(time.Millisecond):
		}
		if _, err := os.Stat(ref); err == nil {
			cmd.Process.Signal(sig)
			err := <-done
			relWaitGroupGone(t, cmd.Process.Pid)
			ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if sig == syscall.SIGKILL {
				return err != nil && ok && ws.Signaled()
			}
			if err != nil && !strings.Contains(e.String(), "import interrupted after") {
				t.Errorf("interrupted import said\n%s", e.String())
			}
			return err != nil
		}
	}
}

// Ctrl-C stops an import between two WAL commits with a message saying
// so; running it again completes it.
func TestImportInterruptedStopsBetweenCommits(t *testing.T) {
	t.Parallel()
	n := 20000
	file := filepath.Join(t.TempDir(), "big.jsonl")
	if err := os.WriteFile(file, syntheticIssues(n), 0o644); err != nil {
		t.Fatal(err)
	}
	var dir string
	stopped := false
	for attempt := 0; attempt < 3 && !stopped; attempt++ {
		dir, _ = newRepo(t)
		stopped = stopImportAfterFirstCommit(t, dir, file, syscall.SIGINT)
	}
	if !stopped {
		t.Fatalf("three imports of %d issues all finished before the interrupt", n)
	}
	partial := len(listIDs(t, dir))
	if partial == 0 || partial == n {
		t.Fatalf("%d of %d issues after the interrupt", partial, n)
	}
	out, r := importJSON(t, dir, "beads", file)
	if r.code != 0 || out.Created != n-partial || out.Skipped != partial {
		t.Fatalf("re-run: %+v\n%s", out, r)
	}
	requireHealthy(t, dir)
}

// Two imports of one file started together create its issues once: the
// second plans after the first has written.
func TestImportTwoAtOnceCreateEachIssueOnce(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	file := fixture(t, dir, "beads-export.jsonl")
	results := make(chan importOutput, 2)
	for range 2 {
		go func() {
			out, errOut, code := testrepo.RunGrite(t, dir, "import", "beads", file, "--json")
			var env struct {
				Data importOutput `json:"data"`
			}
			if err := json.Unmarshal([]byte(out), &env); err != nil || code != 0 {
				t.Errorf("import: exit %d, %v\n%s\n%s", code, err, out, errOut)
			}
			results <- env.Data
		}()
	}
	a, b := <-results, <-results
	if a.Created+b.Created != 26 || a.Skipped+b.Skipped != 26 {
		t.Errorf("created %d + %d, skipped %d + %d; want 26 created once", a.Created, b.Created, a.Skipped, b.Skipped)
	}
	if ids := listIDs(t, dir); len(ids) != 26 {
		t.Errorf("%d issues, want 26", len(ids))
	}
}
