package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"grite/internal/testrepo"
)

var (
	mcpAllTools = []string{
		"changes", "context", "issue_claim", "issue_comment", "issue_create", "issue_dep", "issue_list", "issue_ready",
		"issue_release", "issue_show", "issue_update", "lock", "lock_status", "sync", "whoami",
	}
	// context is offered read-only there, without its action set.
	mcpReadTools = []string{"changes", "context", "issue_list", "issue_ready", "issue_show", "lock_status", "whoami"}
)

// TestMCPWorkflowOverStdio drives one agent session through the whole loop
// of the issue over real stdio: every write result names the repository,
// listings and comments page with cursors, and what the session did is
// what the CLI and the remote see afterwards.
func TestMCPWorkflowOverStdio(t *testing.T) {
	t.Parallel()
	dir := testrepo.New(t)
	remote := testrepo.NewBare(t)
	testrepo.Git(t, dir, "remote", "add", "origin", remote)
	s := mustStartMCP(t, mcpOptions{dir: dir, client: "workflow-agent"})

	if got := s.toolNames(t); !slices.Equal(got, mcpAllTools) {
		t.Fatalf("tools %v\nwant %v", got, mcpAllTools)
	}
	var me mcpWhoAmI
	s.ok(t, "whoami", nil, &me)
	if me.Repo != dir || me.Label != "workflow-agent" || me.ActorSource != "auto" || len(me.ActorID) != 32 {
		t.Fatalf("whoami %+v: want repo %s, a new actor labelled with the client's name", me, dir)
	}

	write := func(name string, args map[string]any) mcpWrite {
		t.Helper()
		var w mcpWrite
		s.ok(t, name, args, &w)
		if w.Repo != dir || len(w.WALHead) != 40 {
			t.Fatalf("%s result %+v: want repo %s and a wal_head", name, w, dir)
		}
		return w
	}
	a := write("issue_create", map[string]any{"title": "Design the API", "labels": []string{"api"}}).IssueID
	b := write("issue_create", map[string]any{"title": "Implement the API", "body": "after the design"}).IssueID
	c := write("issue_create", map[string]any{"title": "Write the docs"}).IssueID

	var dep struct {
		IssueID string `json:"issue_id"`
		Target  string `json:"target"`
		DepType string `json:"dep_type"`
		Action  string `json:"action"`
		Repo    string `json:"repo"`
	}
	s.ok(t, "issue_dep", map[string]any{"id": a[:8], "target": b, "type": "blocks", "action": "add"}, &dep)
	if dep.IssueID != a || dep.Target != b || dep.DepType != "blocks" || dep.Action != "added" || dep.Repo != dir {
		t.Fatalf("issue_dep %+v", dep)
	}
	ready := func() []string {
		t.Helper()
		var out mcpList
		s.ok(t, "issue_ready", nil, &out)
		var ids []string
		for _, i := range out.Issues {
			ids = append(ids, i.IssueID)
		}
		return ids
	}
	if got := ready(); !slices.Equal(got, []string{a, c}) {
		t.Fatalf("ready %v, want %v (b waits for a)", got, []string{a, c})
	}

	var cl mcpClaim
	s.ok(t, "issue_claim", map[string]any{"next": true}, &cl)
	if cl.IssueID != a || cl.Owner != me.ActorID || cl.ExpiresUnixMS == 0 || cl.Repo != dir {
		t.Fatalf("claim next %+v: want the oldest ready issue %s owned by %s", cl, a, me.ActorID)
	}
	write("issue_comment", map[string]any{"id": a, "body": "Design done: see the API notes in the design review"})
	if w := write("issue_update", map[string]any{"id": a, "state": "closed"}); w.State != "closed" {
		t.Fatalf("issue_update state: %+v", w)
	}
	var rel struct {
		Released bool   `json:"released"`
		Repo     string `json:"repo"`
	}
	s.ok(t, "issue_release", map[string]any{"id": a}, &rel)
	if !rel.Released || rel.Repo != dir {
		t.Fatalf("issue_release %+v", rel)
	}
	if got := ready(); !slices.Equal(got, []string{b, c}) {
		t.Fatalf("ready after closing a: %v, want %v", got, []string{b, c})
	}
	var shown mcpShow
	s.ok(t, "issue_show", map[string]any{"id": a}, &shown)
	if i := shown.Issue; i.State != "closed" || len(i.Comments) != 1 || len(i.Assignees) != 0 ||
		len(i.Deps) != 1 || i.Deps[0].Target != b || shown.CommentsHasMore || shown.CommentsNextCursor != nil {
		t.Fatalf("show after close and release: %+v", shown)
	}

	// Comments page 50 at a time.
	d := write("issue_create", map[string]any{"title": "Long discussion"}).IssueID
	for i := range 60 {
		write("issue_comment", map[string]any{"id": d, "body": fmt.Sprintf("comment %02d", i)})
	}
	var first, second mcpShow
	s.ok(t, "issue_show", map[string]any{"id": d}, &first)
	if len(first.Issue.Comments) != 50 || first.CommentsTotal != 60 || !first.CommentsHasMore || first.CommentsNextCursor == nil || first.Issue.CommentCount != 60 {
		t.Fatalf("first comments page: %d comments, total %d, has_more %v, cursor %v", len(first.Issue.Comments), first.CommentsTotal, first.CommentsHasMore, first.CommentsNextCursor)
	}
	s.ok(t, "issue_show", map[string]any{"id": d, "comments_cursor": *first.CommentsNextCursor}, &second)
	if len(second.Issue.Comments) != 10 || second.CommentsTotal != 60 || second.CommentsHasMore || second.CommentsNextCursor != nil {
		t.Fatalf("second comments page: %d comments, has_more %v, cursor %v", len(second.Issue.Comments), second.CommentsHasMore, second.CommentsNextCursor)
	}
	for i, cm := range append(first.Issue.Comments, second.Issue.Comments...) {
		if want := fmt.Sprintf("comment %02d", i); cm.Body != want || cm.Actor != me.ActorID {
			t.Fatalf("comment %d: %+v, want %q by %s", i, cm, want, me.ActorID)
		}
	}

	// Listing pages with cursors until has_more is false.
	var listed []string
	cursor, pages := "", 0
	for {
		args := map[string]any{"limit": 2}
		if cursor != "" {
			args["cursor"] = cursor
		}
		var page mcpList
		s.ok(t, "issue_list", args, &page)
		pages++
		if page.Total != 4 || len(page.Issues) == 0 || len(page.Issues) > 2 || pages > 4 {
			t.Fatalf("list page %d: %+v", pages, page)
		}
		for _, i := range page.Issues {
			listed = append(listed, i.IssueID)
		}
		if !page.HasMore {
			if page.NextCursor != nil {
				t.Fatalf("last page has next_cursor %q", *page.NextCursor)
			}
			break
		}
		if page.NextCursor == nil {
			t.Fatal("has_more without next_cursor")
		}
		cursor = *page.NextCursor
	}
	if want := []string{a, b, c, d}; pages != 2 || !slices.Equal(listed, want) {
		t.Fatalf("%d pages listing %v, want 2 pages of %v (oldest first)", pages, listed, want)
	}

	// Locks.
	type lockJSON struct {
		Resource      string `json:"resource"`
		Owner         string `json:"owner"`
		ExpiresUnixMS uint64 `json:"expires_unix_ms"`
		Live          bool   `json:"live"`
	}
	var lk struct {
		Lock lockJSON `json:"lock"`
		Repo string   `json:"repo"`
	}
	s.ok(t, "lock", map[string]any{"action": "acquire", "resource": "path:src/", "ttl": "10m"}, &lk)
	if lk.Lock.Resource != "path:src/" || lk.Lock.Owner != me.ActorID || !lk.Lock.Live || lk.Repo != dir {
		t.Fatalf("lock acquire %+v", lk)
	}
	var status struct {
		Locks     []lockJSON `json:"locks"`
		Conflicts []lockJSON `json:"conflicts"`
	}
	s.ok(t, "lock_status", map[string]any{"resource": "path:src/api/"}, &status)
	if len(status.Locks) != 1 || status.Locks[0].Resource != "path:src/" || status.Locks[0].Owner != me.ActorID || len(status.Conflicts) != 0 {
		t.Fatalf("lock_status %+v: want our own lock, no conflict with ourselves", status)
	}
	s.ok(t, "lock", map[string]any{"action": "release", "resource": "path:src/"}, &lk)
	s.ok(t, "lock_status", nil, &status)
	if len(status.Locks) != 0 {
		t.Fatalf("lock_status after release: %+v", status)
	}

	// Sync with a real bare remote.
	s.ok(t, "whoami", nil, &me)
	if me.UnpushedEvents == 0 {
		t.Fatalf("whoami before sync: %+v", me)
	}
	var sy struct {
		Pulled        bool   `json:"pulled"`
		Pushed        bool   `json:"pushed"`
		WALHead       string `json:"wal_head"`
		RemoteWALHead string `json:"remote_wal_head"`
		EventsPushed  int    `json:"events_pushed"`
		Repo          string `json:"repo"`
	}
	s.ok(t, "sync", map[string]any{"mode": "full"}, &sy)
	if !sy.Pushed || sy.Repo != dir || sy.WALHead != walHead(t, dir) || sy.EventsPushed != me.UnpushedEvents {
		t.Fatalf("sync %+v (whoami said %d unpushed)", sy, me.UnpushedEvents)
	}
	if got := testrepo.Git(t, remote, "rev-parse", "refs/grite/wal"); got != sy.WALHead {
		t.Fatalf("remote refs/grite/wal %s, want %s", got, sy.WALHead)
	}
	s.ok(t, "whoami", nil, &me)
	if me.UnpushedEvents != 0 {
		t.Fatalf("whoami after sync: %+v", me)
	}

	// The CLI sees exactly what the session wrote.
	out := list(t, dir)
	if len(out.Issues) != 4 || out.Issues[0].IssueID != a || out.Issues[0].State != "closed" || out.Issues[3].CommentCount != 60 {
		t.Fatalf("grite issue list after the session: %+v", out.Issues)
	}
}

// TestMCPToolErrorsAreResultsWithStableCodes: user-fixable failures are
// isError results carrying {code, message, details} with safe suggestions,
// they write nothing, and only protocol misuse is a JSON-RPC error.
func TestMCPToolErrorsAreResultsWithStableCodes(t *testing.T) {
	t.Parallel()
	dir := testrepo.New(t)
	twins := []string{"abcd0000000000000000000000000001", "abcd0000000000000000000000000002"}
	appendForeignIssues(t, dir, twins...)
	holder := mustStartMCP(t, mcpOptions{dir: dir, client: "holder"})
	other := mustStartMCP(t, mcpOptions{dir: dir, client: "contender"})
	id, err := holder.createIssue("Contested")
	if err != nil {
		t.Fatal(err)
	}
	commits := walCount(t, dir)

	for _, tc := range []struct {
		name, tool string
		args       map[string]any
		code       string
		check      func(t *testing.T, e toolError)
	}{
		{name: "unknown ID", tool: "issue_show", args: map[string]any{"id": "0123456789abcdef0123456789abcdef"}, code: "not_found",
			check: func(t *testing.T, e toolError) {
				if e.Details["issue_id"] != "0123456789abcdef0123456789abcdef" {
					t.Fatalf("details %v", e.Details)
				}
			}},
		{name: "unknown ID on a write", tool: "issue_comment", args: map[string]any{"id": "0123456789", "body": "x"}, code: "not_found"},
		{name: "ambiguous prefix", tool: "issue_show", args: map[string]any{"id": "abcd"}, code: "invalid_args",
			check: func(t *testing.T, e toolError) { requireCandidates(t, errorObject(e), twins) }},
		{name: "empty title", tool: "issue_create", args: map[string]any{"title": ""}, code: "invalid_args"},
		{name: "blank title", tool: "issue_create", args: map[string]any{"title": "  \t"}, code: "invalid_args"},
		{name: "missing title", tool: "issue_create", args: map[string]any{}, code: "invalid_args"},
		{name: "unknown argument", tool: "issue_create", args: map[string]any{"title": "x", "priority": 1}, code: "invalid_args",
			check: func(t *testing.T, e toolError) {
				if !strings.Contains(e.Message, "priority") {
					t.Fatalf("message %q does not name the unknown field", e.Message)
				}
			}},
		{name: "wrong argument type", tool: "issue_list", args: map[string]any{"limit": "two"}, code: "invalid_args"},
		{name: "limit out of range", tool: "issue_list", args: map[string]any{"limit": 501}, code: "invalid_args"},
		{name: "bad cursor", tool: "issue_list", args: map[string]any{"cursor": "page-2"}, code: "invalid_args"},
		{name: "bad comments cursor", tool: "issue_show", args: map[string]any{"id": id, "comments_cursor": "-1"}, code: "invalid_args"},
		{name: "state not in enum", tool: "issue_update", args: map[string]any{"id": id, "state": "done"}, code: "invalid_args"},
		{name: "nothing to update", tool: "issue_update", args: map[string]any{"id": id}, code: "invalid_args"},
		{name: "claim with neither id nor next", tool: "issue_claim", args: map[string]any{}, code: "invalid_args"},
		{name: "bad ttl", tool: "issue_claim", args: map[string]any{"id": id, "ttl": "forever"}, code: "invalid_args"},
		{name: "bad lock resource", tool: "lock", args: map[string]any{"action": "acquire", "resource": "nowhere"}, code: "invalid_args"},
		{name: "dependency on itself", tool: "issue_dep", args: map[string]any{"id": id, "target": id, "type": "blocks", "action": "add"}, code: "invalid_args"},
		{name: "no such remote", tool: "sync", args: map[string]any{"mode": "full"}, code: "not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := holder.fail(t, tc.tool, tc.args, tc.code)
			if tc.check != nil {
				tc.check(t, e)
			}
		})
	}
	if got := walCount(t, dir); got != commits {
		t.Fatalf("failed calls wrote: %d WAL commits, want %d", got, commits)
	}

	// A claim held by another session is a conflict naming the holder.
	var me mcpWhoAmI
	holder.ok(t, "whoami", nil, &me)
	var cl mcpClaim
	holder.ok(t, "issue_claim", map[string]any{"id": id}, &cl)
	for _, args := range []map[string]any{{"id": id}, {"id": id[:6], "ttl": 60}} {
		e := other.fail(t, "issue_claim", args, "conflict")
		exp, _ := e.Details["expires_unix_ms"].(float64)
		if e.Details["holder"] != me.ActorID || uint64(exp) != cl.ExpiresUnixMS || e.Details["resource"] != "issue:"+id {
			t.Fatalf("conflict details %v, want holder %s expiring at %d", e.Details, me.ActorID, cl.ExpiresUnixMS)
		}
	}
	other.fail(t, "lock", map[string]any{"action": "acquire", "resource": "issue:" + id}, "conflict")

	// Protocol errors are for protocol misuse only: a tool that does not exist.
	if _, err := holder.call("issue_frobnicate", map[string]any{}); !errors.Is(err, errProtocol) {
		t.Fatalf("unknown tool: %v, want a JSON-RPC error", err)
	}
}

// TestMCPReadOnlyProfileOffersOnlyReadTools: --read-only (or
// GRITE_READ_ONLY=1) registers the read tools only, so a write is refused
// by the protocol (no such tool) and nothing is written.
func TestMCPReadOnlyProfileOffersOnlyReadTools(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		env  []string
	}{
		{name: "flag", args: []string{"--read-only"}},
		{name: "environment", env: []string{"GRITE_READ_ONLY=1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := testrepo.New(t)
			s := mustStartMCP(t, mcpOptions{dir: dir, args: tc.args, env: tc.env})
			if got := s.toolNames(t); !slices.Equal(got, mcpReadTools) {
				t.Fatalf("read-only tools %v, want %v", got, mcpReadTools)
			}
			for _, tool := range s.tools(t) {
				if ro := tool.Annotations.ReadOnlyHint; ro == nil || !*ro {
					t.Fatalf("%s offered read-only without readOnlyHint", tool.Name)
				}
			}
			for _, w := range []string{"issue_create", "sync", "lock", "issue_claim"} {
				_, err := s.call(w, map[string]any{"title": "x"})
				if !errors.Is(err, errProtocol) || !strings.Contains(err.Error(), w) {
					t.Fatalf("%s in read-only: %v, want a tool-not-found protocol error", w, err)
				}
			}
			// The context tool reads; its write is refused, as an error result.
			s.fail(t, "context", map[string]any{"action": "set", "key": "k", "value": "v"}, "invalid_args")
			s.ok(t, "context", map[string]any{"action": "project"}, nil)
			var out mcpList
			s.ok(t, "issue_list", nil, &out)
			if walCount(t, dir) != 0 || out.Total != 0 {
				t.Fatalf("read-only session wrote: %d WAL commits, %d issues", walCount(t, dir), out.Total)
			}
		})
	}
}

func TestMCPToolsAllowList(t *testing.T) {
	t.Parallel()
	dir := testrepo.New(t)
	for _, tc := range []struct {
		args []string
		env  []string
		want []string
	}{
		{args: []string{"--tools", "issue_show, whoami"}, want: []string{"issue_show", "whoami"}},
		{env: []string{"GRITE_TOOLS=issue_create,issue_list"}, want: []string{"issue_create", "issue_list"}},
		{args: []string{"--tools", "issue_create,issue_list,sync", "--read-only"}, want: []string{"issue_list"}},
	} {
		s := mustStartMCP(t, mcpOptions{dir: dir, args: tc.args, env: tc.env})
		if got := s.toolNames(t); !slices.Equal(got, tc.want) {
			t.Fatalf("%v %v: tools %v, want %v", tc.args, tc.env, got, tc.want)
		}
		s.close(t)
	}
}

// TestMCPStartupErrorsExitNonZeroWithAMessageOnStderr: a bad configuration
// fails at start-up, before any JSON-RPC, with nothing on stdout.
func TestMCPStartupErrorsExitNonZeroWithAMessageOnStderr(t *testing.T) {
	t.Parallel()
	repo := testrepo.New(t)
	notRepo := t.TempDir()
	for _, tc := range []struct {
		name   string
		dir    string
		args   []string
		env    []string
		stderr []string
	}{
		{name: "unknown tool name", dir: repo, args: []string{"--tools", "issue_show,frobnicate"}, stderr: []string{"unknown tool", "frobnicate", "issue_show"}},
		{name: "not a repository", dir: notRepo, stderr: []string{"not a git repository", notRepo}},
		{name: "--repo not a repository", dir: repo, args: []string{"--repo", notRepo}, stderr: []string{"not a git repository"}},
		{name: "--repo missing", dir: repo, args: []string{"--repo", filepath.Join(notRepo, "missing")}, stderr: []string{"missing"}},
		{name: "GRITE_REPO not a repository", dir: repo, env: []string{"GRITE_REPO=" + notRepo}, stderr: []string{"not a git repository"}},
		{name: "unknown --actor", dir: repo, args: []string{"--actor", "0123456789abcdef0123456789abcdef"}, stderr: []string{"0123456789abcdef0123456789abcdef", "actor not found"}},
		{name: "malformed --actor", dir: repo, args: []string{"--actor", "me"}, stderr: []string{"--actor me"}},
		{name: "actor and actor label", dir: repo, args: []string{"--actor", "0123456789abcdef0123456789abcdef", "--actor-label", "x"}, stderr: []string{"--actor"}},
		{name: "bad log level", dir: repo, args: []string{"--log-level", "loud"}, stderr: []string{"log-level"}},
		{name: "unknown flag", dir: repo, args: []string{"--frobnicate"}, stderr: []string{"frobnicate"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(testrepo.BuildBinaries(t).MCP, tc.args...)
			cmd.Dir = tc.dir
			cmd.Env = append(testrepo.Env(), tc.env...)
			var stdout, stderr lockedBuffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run() // stdin is /dev/null: a server that started would exit 0 at once
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Fatalf("exit %v, want a non-zero status\nstderr: %s", err, stderr.String())
			}
			if stdout.String() != "" {
				t.Fatalf("stdout %q, want nothing", stdout.String())
			}
			for _, want := range tc.stderr {
				if !strings.Contains(stderr.String(), want) {
					t.Fatalf("stderr %q does not say %q", stderr.String(), want)
				}
			}
		})
	}
	if walCount(t, repo) != 0 || len(actorDirs(t, repo)) != 0 {
		t.Fatal("a failed start-up wrote to the repository")
	}
}

// TestMCPRepoFromFlagEnvOrWorkingDirectory: the repository is --repo, else
// GRITE_REPO, else the one containing the working directory; whoami and
// every write result report it.
func TestMCPRepoFromFlagEnvOrWorkingDirectory(t *testing.T) {
	t.Parallel()
	repo := testrepo.New(t)
	sub := filepath.Join(repo, "src", "pkg")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	elsewhere := t.TempDir()
	var titles []string
	for _, tc := range []struct {
		name string
		dir  string
		args []string
		env  []string
	}{
		{name: "working directory inside the repo", dir: sub},
		{name: "--repo", dir: elsewhere, args: []string{"--repo", repo}},
		{name: "GRITE_REPO", dir: elsewhere, env: []string{"GRITE_REPO=" + repo}},
		{name: "--repo wins over GRITE_REPO", dir: elsewhere, args: []string{"--repo", sub}, env: []string{"GRITE_REPO=" + elsewhere}},
	} {
		s := mustStartMCP(t, mcpOptions{dir: tc.dir, args: tc.args, env: tc.env})
		var me mcpWhoAmI
		s.ok(t, "whoami", nil, &me)
		var w mcpWrite
		s.ok(t, "issue_create", map[string]any{"title": tc.name}, &w)
		if me.Repo != repo || w.Repo != repo {
			t.Fatalf("%s: whoami repo %q, write repo %q, want %q", tc.name, me.Repo, w.Repo, repo)
		}
		titles = append(titles, tc.name)
		s.close(t)
	}
	var got []string
	for _, i := range list(t, repo).Issues {
		got = append(got, i.Title)
	}
	if !slices.Equal(sorted(got), sorted(titles)) {
		t.Fatalf("issues %v, want %v", got, titles)
	}
}

// TestMCPFourSessionsShareOneRepo runs four servers on one repository at
// once, none given an actor: each is its own actor, no write is lost, claim
// --next hands out distinct issues, and a claim on one issue has one winner.
func TestMCPFourSessionsShareOneRepo(t *testing.T) {
	t.Parallel()
	const sessions, perSession = 4, 10
	dir := testrepo.New(t)
	// Claim next spreads concurrent claimers over the head of the queue:
	// with k other actors' claims excluded from a session's ready list, it
	// starts among the first k+1 of the rest, so four sessions claim
	// within the oldest 2*3+1 = 7 ready issues.
	var backlog []string
	for i := range 8 {
		backlog = append(backlog, create(t, dir, fmt.Sprintf("backlog %d", i)))
	}
	servers := make([]*mcpServer, sessions)
	atOnce(t, sessions, func(i int) (err error) {
		servers[i], err = startMCP(t, mcpOptions{dir: dir, client: "agent"})
		return err
	})

	actors := make([]string, sessions)
	created := make([][]string, sessions)
	atOnce(t, sessions, func(i int) error {
		s := servers[i]
		var me mcpWhoAmI
		if _, err := s.tryOK("whoami", nil, &me); err != nil {
			return err
		}
		actors[i] = me.ActorID
		for n := range perSession {
			id, err := s.createIssue(fmt.Sprintf("session %d issue %d", i, n))
			if err != nil {
				return err
			}
			if _, err := s.tryOK("issue_comment", map[string]any{"id": id, "body": fmt.Sprintf("note from session %d", i)}, nil); err != nil {
				return err
			}
			created[i] = append(created[i], id)
		}
		return nil
	})
	if u := slices.Compact(sorted(actors)); len(u) != sessions || u[0] == "" {
		t.Fatalf("actors %v, want %d distinct", actors, sessions)
	}

	claimed := make([]string, sessions)
	atOnce(t, sessions, func(i int) error {
		var cl mcpClaim
		if _, err := servers[i].tryOK("issue_claim", map[string]any{"next": true}, &cl); err != nil {
			return err
		}
		if cl.Owner != actors[i] {
			return fmt.Errorf("claim owner %s, want %s", cl.Owner, actors[i])
		}
		claimed[i] = cl.IssueID
		return nil
	})
	if u := slices.Compact(sorted(claimed)); len(u) != sessions {
		t.Fatalf("claim next gave %v: the same issue twice", claimed)
	}
	for _, id := range claimed {
		if !slices.Contains(backlog[:7], id) {
			t.Fatalf("claim next took %s, not one of the oldest ready issues %v", id, backlog[:7])
		}
	}

	contested := create(t, dir, "contested")
	winners := make([]bool, sessions)
	conflicts := make([]toolError, sessions)
	atOnce(t, sessions, func(i int) error {
		r, err := servers[i].call("issue_claim", map[string]any{"id": contested})
		if err != nil {
			return err
		}
		if !r.isError {
			winners[i] = true
			return nil
		}
		conflicts[i], err = r.errorBody("conflict")
		return err
	})
	winner := slices.Index(winners, true)
	if n := len(slices.DeleteFunc(slices.Clone(winners), func(w bool) bool { return !w })); n != 1 {
		t.Fatalf("%d sessions won the claim on one issue, want exactly 1", n)
	}
	for i, e := range conflicts {
		if i != winner && e.Details["holder"] != actors[winner] {
			t.Fatalf("session %d: conflict %+v, want holder %s", i, e, actors[winner])
		}
	}

	// Nothing was lost: the CLI sees every issue and every comment.
	byID := map[string]summary{}
	for _, i := range list(t, dir).Issues {
		byID[i.IssueID] = i
	}
	if want := len(backlog) + sessions*perSession + 1; len(byID) != want {
		t.Fatalf("%d issues listed, want %d", len(byID), want)
	}
	for i, ids := range created {
		for _, id := range ids {
			if byID[id].CommentCount != 1 {
				t.Fatalf("session %d issue %s: %+v, want 1 comment", i, id, byID[id])
			}
		}
	}
}

// TestMCPActorLabelSessionsStartedTogetherShareOneActor: sessions given the
// same --actor-label agree on one actor even when they race to create it.
func TestMCPActorLabelSessionsStartedTogetherShareOneActor(t *testing.T) {
	t.Parallel()
	const n = 3
	dir := testrepo.New(t)
	testrepo.BuildBinaries(t) // before the goroutines: a build failure fails here
	servers := make([]*mcpServer, n)
	atOnce(t, n, func(i int) (err error) {
		servers[i], err = startMCP(t, mcpOptions{dir: dir, args: []string{"--actor-label", "builder"}, client: fmt.Sprintf("agent-%d", i)})
		return err
	})
	ids := make([]string, n)
	atOnce(t, n, func(i int) error { // the actor is chosen at the first tool call
		var me mcpWhoAmI
		if _, err := servers[i].tryOK("whoami", nil, &me); err != nil {
			return err
		}
		if me.Label != "builder" || me.ActorSource != "flag" {
			return fmt.Errorf("whoami %+v, want label builder", me)
		}
		ids[i] = me.ActorID
		return nil
	})
	if ids[0] == "" || ids[1] != ids[0] || ids[2] != ids[0] {
		t.Fatalf("actors %v, want one shared actor", ids)
	}
	if dirs := actorDirs(t, dir); len(dirs) != 1 || dirs[0] != ids[0] {
		t.Fatalf("actor directories %v, want only %s", dirs, ids[0])
	}
}

// TestMCPActorFlagPinsAnExistingActor: --actor and GRITE_ACTOR pin the
// session to an existing actor (an unknown one fails at start-up, see
// TestMCPStartupErrorsExitNonZeroWithAMessageOnStderr).
func TestMCPActorFlagPinsAnExistingActor(t *testing.T) {
	t.Parallel()
	dir := testrepo.New(t)
	var info struct {
		ActorID string `json:"actor_id"`
	}
	mustJSON(t, dir, &info, "actor", "init", "--label", "pinned")
	for _, o := range []mcpOptions{
		{dir: dir, args: []string{"--actor", info.ActorID}},
		{dir: dir, env: []string{"GRITE_ACTOR=" + info.ActorID}},
	} {
		s := mustStartMCP(t, o)
		var me mcpWhoAmI
		s.ok(t, "whoami", nil, &me)
		if me.ActorID != info.ActorID || me.Label != "pinned" {
			t.Fatalf("%v %v: whoami %+v, want actor %s", o.args, o.env, me, info.ActorID)
		}
		s.close(t)
	}
	if dirs := actorDirs(t, dir); len(dirs) != 1 {
		t.Fatalf("actor directories %v, want only the pinned one", dirs)
	}
}

// TestMCPStdoutCarriesOnlyJSONRPC speaks raw JSON-RPC to a server logging at
// debug level: every stdout line is a JSON-RPC 2.0 message, the logs are on
// stderr, and once stdin closes the process answers the calls it had read
// and exits 0.
func TestMCPStdoutCarriesOnlyJSONRPC(t *testing.T) {
	t.Parallel()
	dir := testrepo.New(t)
	cmd := exec.Command(testrepo.BuildBinaries(t).MCP, "--log-level", "debug")
	cmd.Dir = dir
	cmd.Env = testrepo.Env()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdoutPipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdoutPipe)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill() })

	var all []string
	next := func() map[string]json.RawMessage {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("stdout closed early\nstderr: %s", stderr.String())
			}
			all = append(all, l)
			var m map[string]json.RawMessage
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("stdout line is not a JSON object: %q", l)
			}
			return m
		case <-time.After(mcpCallTimeout):
			t.Fatalf("no answer within %v\nstderr: %s", mcpCallTimeout, stderr.String())
		}
		return nil
	}
	send := func(msg string) {
		t.Helper()
		if _, err := io.WriteString(stdin, msg+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	call := func(id int, name string, args string) string {
		return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":%s}}`, id, name, args)
	}
	for _, step := range []struct {
		send    string
		id      string // the response's id; "" = no response expected
		isError bool   // tools/call answered with isError
		rpcErr  bool   // answered with a JSON-RPC error
	}{
		{send: `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw-client","version":"1"}}}`, id: "1"},
		{send: `{"jsonrpc":"2.0","method":"notifications/initialized"}`},
		{send: `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`, id: "2"},
		{send: call(3, "issue_create", `{"title":"from raw stdio","body":"line one\nline two"}`), id: "3"},
		{send: call(4, "issue_show", `{"id":"0123456789abcdef"}`), id: "4", isError: true},
		{send: call(5, "no_such_tool", `{}`), id: "5", rpcErr: true},
		{send: `{"jsonrpc":"2.0","id":6,"method":"frobnicate"}`, id: "6", rpcErr: true},
		{send: `{not json`, id: "null", rpcErr: true},
		{send: call(7, "whoami", `{}`), id: "7"},
	} {
		send(step.send)
		if step.id == "" {
			continue
		}
		m := next()
		if string(m["id"]) != step.id {
			t.Fatalf("answer to %s has id %s, want %s", step.send, m["id"], step.id)
		}
		if _, isErr := m["error"]; isErr != step.rpcErr {
			t.Fatalf("answer to %s: %s", step.send, all[len(all)-1])
		}
		if step.rpcErr {
			continue
		}
		if step.id == "2" {
			toolsListSize(t, []byte(all[len(all)-1]))
		}
		var res struct {
			IsError           bool            `json:"isError"`
			StructuredContent json.RawMessage `json:"structuredContent"`
		}
		json.Unmarshal(m["result"], &res)
		if res.IsError != step.isError {
			t.Fatalf("answer to %s: %s", step.send, all[len(all)-1])
		}
		if step.id == "7" {
			var me mcpWhoAmI
			json.Unmarshal(res.StructuredContent, &me)
			if me.Label != "raw-client" || me.Repo != dir {
				t.Fatalf("whoami %+v: want the initialize client name and the repo", me)
			}
		}
	}
	// Calls written just before stdin closes are still answered.
	var batch strings.Builder
	for id := 10; id < 15; id++ {
		batch.WriteString(call(id, "issue_create", fmt.Sprintf(`{"title":"batch %d"}`, id)) + "\n")
	}
	if _, err := io.WriteString(stdin, batch.String()); err != nil {
		t.Fatal(err)
	}
	stdin.Close()
	answered := map[string]bool{}
	for l := range lines {
		all = append(all, l)
		var m struct {
			ID     json.RawMessage `json:"id"`
			Result struct {
				IsError bool `json:"isError"`
			} `json:"result"`
		}
		if json.Unmarshal([]byte(l), &m) == nil && !m.Result.IsError {
			answered[string(m.ID)] = true
		}
	}
	for id := 10; id < 15; id++ {
		if !answered[fmt.Sprint(id)] {
			t.Fatalf("call %d, sent just before stdin closed, was not answered with success:\n%s", id, strings.Join(all, "\n"))
		}
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after stdin closed: %v\nstderr: %s", err, stderr.String())
		}
	case <-time.After(mcpCallTimeout):
		t.Fatalf("still running %v after stdin closed", mcpCallTimeout)
	}
	for _, l := range all {
		var m struct {
			JSONRPC string          `json:"jsonrpc"`
			ID      json.RawMessage `json:"id"`
			Method  string          `json:"method"`
			Result  json.RawMessage `json:"result"`
			Error   json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal([]byte(l), &m); err != nil || m.JSONRPC != "2.0" {
			t.Fatalf("stdout line is not JSON-RPC 2.0: %q", l)
		}
		if m.Method == "" && m.ID == nil || m.Method == "" && (m.Result == nil) == (m.Error == nil) {
			t.Fatalf("stdout line is neither a response nor a notification: %q", l)
		}
	}
	logs := stderr.String()
	for _, want := range []string{"level=DEBUG", "tool call", "level=INFO"} {
		if !strings.Contains(logs, want) {
			t.Fatalf("stderr has no %q lines:\n%s", want, logs)
		}
	}
	for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
		if !strings.HasPrefix(l, "time=") {
			t.Fatalf("stderr line is not a log record: %q", l)
		}
	}
}

// TestMCPResultsAreTheCLIDataPlusPaging: a tool's structured content is the
// data object of the matching `grite ... --json`, plus repo on writes and
// paging fields on listings. issue_show pages the comments and replaces the
// events list by its length, and its issue object is the CLI's.
func TestMCPResultsAreTheCLIDataPlusPaging(t *testing.T) {
	t.Parallel()
	dir, actorID := newRepo(t)
	s := mustStartMCP(t, mcpOptions{dir: dir, args: []string{"--actor", actorID}})
	cliData := func(args ...string) map[string]json.RawMessage {
		t.Helper()
		var m map[string]json.RawMessage
		mustJSON(t, dir, &m, args...)
		return m
	}
	mcpData := func(tool string, args map[string]any) map[string]json.RawMessage {
		t.Helper()
		var m map[string]json.RawMessage
		s.ok(t, tool, args, &m)
		return m
	}
	requireKeys := func(what string, cli, mcp map[string]json.RawMessage, drop, add []string) {
		t.Helper()
		want := map[string]bool{}
		for k := range cli {
			if !slices.Contains(drop, k) {
				want[k] = true
			}
		}
		for _, k := range add {
			want[k] = true
		}
		if got, w := sortedKeys(mcp), sortedKeys(want); !slices.Equal(got, w) {
			t.Fatalf("%s: MCP keys %v, want %v (CLI keys %v)", what, got, w, sortedKeys(cli))
		}
	}
	writes := []string{"repo"}

	cliIssue := cliData("issue", "create", "--title", "from the CLI", "--label", "x")
	var a string
	json.Unmarshal(cliIssue["issue_id"], &a)
	created := mcpData("issue_create", map[string]any{"title": "from MCP", "labels": []string{"x"}})
	requireKeys("issue_create", cliIssue, created, nil, writes)
	var b string
	json.Unmarshal(created["issue_id"], &b)

	requireKeys("issue_comment", cliData("issue", "comment", a, "--body", "cli"), mcpData("issue_comment", map[string]any{"id": b, "body": "mcp"}), nil, writes)
	requireKeys("issue_update", cliData("issue", "update", a, "--title", "renamed"), mcpData("issue_update", map[string]any{"id": b, "title": "renamed"}), nil, writes)
	requireKeys("issue_dep", cliData("issue", "dep", "add", a, "--target", b, "--type", "related_to"), mcpData("issue_dep", map[string]any{"id": b, "target": a, "type": "related_to", "action": "add"}), nil, writes)
	requireKeys("issue_claim", cliData("issue", "claim", a), mcpData("issue_claim", map[string]any{"id": b}), nil, writes)
	requireKeys("lock_status", cliData("lock", "status"), mcpData("lock_status", nil), nil, nil)
	requireKeys("issue_release", cliData("issue", "release", a), mcpData("issue_release", map[string]any{"id": b}), nil, writes)
	requireKeys("issue_ready", cliData("issue", "ready"), mcpData("issue_ready", nil), nil, nil)

	cliList, mcpList := cliData("issue", "list"), mcpData("issue_list", map[string]any{"limit": 1})
	requireKeys("issue_list", cliList, mcpList, nil, []string{"has_more", "next_cursor"})
	var cliIssues, mcpIssues []json.RawMessage
	json.Unmarshal(cliList["issues"], &cliIssues)
	json.Unmarshal(mcpList["issues"], &mcpIssues)
	if len(mcpIssues) != 1 || !jsonEqual(mcpIssues[0], cliIssues[0]) {
		t.Fatalf("issue_list first issue %s\nCLI %s", mcpIssues, cliIssues[0])
	}

	for _, id := range []string{a, b} {
		cliShow, mcpShow := cliData("issue", "show", id), mcpData("issue_show", map[string]any{"id": id})
		requireKeys("issue_show", cliShow, mcpShow, []string{"events"}, []string{"comments_total", "comments_has_more", "events_total"})
		if !jsonEqual(cliShow["issue"], mcpShow["issue"]) {
			t.Fatalf("issue_show issue %s\nCLI %s", mcpShow["issue"], cliShow["issue"])
		}
		var events []json.RawMessage
		var n int
		json.Unmarshal(cliShow["events"], &events)
		json.Unmarshal(mcpShow["events_total"], &n)
		if n != len(events) {
			t.Fatalf("events_total %d, CLI shows %d events", n, len(events))
		}
	}
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

// TestMCPWhoAmIReportsOriginOnlyWhenThereIsOne: remote is the remote a sync
// goes to by default, origin, and empty in a repository without it.
func TestMCPWhoAmIReportsOriginOnlyWhenThereIsOne(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		remotes []string
		want    string
	}{
		{"no remotes", nil, ""},
		{"origin", []string{"origin"}, "origin"},
		{"another remote only", []string{"upstream"}, ""},
		{"origin and another", []string{"upstream", "origin"}, "origin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := testrepo.New(t)
			for _, name := range tc.remotes {
				testrepo.Git(t, dir, "remote", "add", name, testrepo.NewBare(t))
			}
			s := mustStartMCP(t, mcpOptions{dir: dir, client: "whoami"})
			var me mcpWhoAmI
			s.ok(t, "whoami", nil, &me)
			if me.Remote != tc.want {
				t.Fatalf("whoami remote %q, want %q", me.Remote, tc.want)
			}
		})
	}
}

// TestMCPHelpAndVersion: --help documents every flag and its environment
// variable on stdout, and like --version exits 0 without serving.
func TestMCPHelpAndVersion(t *testing.T) {
	t.Parallel()
	dir := testrepo.New(t)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"Usage: grite-mcp", "--repo PATH", "GRITE_REPO", "--actor ID", "GRITE_ACTOR)", "--actor-label NAME", "GRITE_ACTOR_LABEL",
			"--read-only", "GRITE_READ_ONLY", "--tools LIST", "GRITE_TOOLS", "--log-level LEVEL", "GRITE_LOG_LEVEL", "--version"}},
		{[]string{"-h"}, []string{"Usage: grite-mcp"}},
		{[]string{"--version"}, []string{"grite-mcp "}},
	} {
		cmd := exec.Command(testrepo.BuildBinaries(t).MCP, tc.args...)
		cmd.Dir = dir
		cmd.Env = testrepo.Env()
		var stdout, stderr lockedBuffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%v: %v\nstderr: %s", tc.args, err, stderr.String())
		}
		for _, w := range tc.want {
			if !strings.Contains(stdout.String(), w) {
				t.Fatalf("%v: stdout does not say %q:\n%s", tc.args, w, stdout.String())
			}
		}
		if stderr.String() != "" {
			t.Fatalf("%v: stderr %q", tc.args, stderr.String())
		}
	}
	if walCount(t, dir) != 0 || len(actorDirs(t, dir)) != 0 {
		t.Fatal("--help or --version wrote to the repository")
	}
}

// One MCP session takes two tasks with claim next: two different issues,
// neither listed as ready any more (for it or anyone), both in whoami and
// in issue_list claimed_by "me"; claiming one again renews it and says so.
func TestMCPClaimNextTwiceAndFindYourClaims(t *testing.T) {
	t.Parallel()
	dir := testrepo.New(t)
	first, second, third := create(t, dir, "first"), create(t, dir, "second"), create(t, dir, "third")
	s := mustStartMCP(t, mcpOptions{dir: dir, client: "agent"})
	var c1, c2 mcpClaim
	s.ok(t, "issue_claim", map[string]any{"next": true}, &c1)
	s.ok(t, "issue_claim", map[string]any{"next": true}, &c2)
	if c1.IssueID != first || c2.IssueID != second {
		t.Fatalf("claim next twice: %s then %s, want %s then %s", c1.IssueID, c2.IssueID, first, second)
	}
	var ready struct {
		Issues []struct {
			IssueID string `json:"issue_id"`
		} `json:"issues"`
	}
	s.ok(t, "issue_ready", nil, &ready)
	if len(ready.Issues) != 1 || ready.Issues[0].IssueID != third {
		t.Fatalf("ready after two claims: %+v, want only %s", ready.Issues, third)
	}
	var me mcpWhoAmI
	s.ok(t, "whoami", nil, &me)
	var held []string
	for _, c := range me.Claims {
		held = append(held, c.IssueID)
	}
	if slices.Sort(held); !slices.Equal(held, sorted([]string{first, second})) {
		t.Fatalf("whoami claims %+v, want %s and %s", me.Claims, first, second)
	}
	var mine struct {
		Total int `json:"total"`
	}
	s.ok(t, "issue_list", map[string]any{"claimed_by": "me"}, &mine)
	if mine.Total != 2 {
		t.Fatalf("issue_list claimed_by me: %d issues, want 2", mine.Total)
	}
	var again mcpClaim
	r := s.ok(t, "issue_claim", map[string]any{"id": first}, &again)
	if !again.AlreadyHeld || again.ExpiresUnixMS < c1.ExpiresUnixMS || !strings.Contains(r.text, "already held") {
		t.Fatalf("claim of a held issue: %+v (text %q), want already_held and the lease renewed", again, r.text)
	}
}

// TestMCPIssueReadyFiltersByAssigneeLikeTheCLI: issue_ready's assignee is
// the CLI's issue ready --assignee, alone and with a label.
func TestMCPIssueReadyFiltersByAssigneeLikeTheCLI(t *testing.T) {
	t.Parallel()
	dir := testrepo.New(t)
	carol := create(t, dir, "carol's", "--assignee", "carol", "--label", "api")
	carolDocs := create(t, dir, "carol's docs", "--assignee", "carol", "--assignee", "dave", "--label", "docs")
	create(t, dir, "dave's", "--assignee", "dave", "--label", "api")
	create(t, dir, "nobody's", "--label", "api")
	s := mustStartMCP(t, mcpOptions{dir: dir, client: "agent"})
	for _, tc := range []struct {
		args map[string]any
		cli  []string
		want []string
	}{
		{map[string]any{"assignee": "carol"}, []string{"--assignee", "carol"}, []string{carol, carolDocs}},
		{map[string]any{"assignee": "carol", "label": "api"}, []string{"--assignee", "carol", "--label", "api"}, []string{carol}},
		{map[string]any{"assignee": "erin"}, []string{"--assignee", "erin"}, nil},
	} {
		var fromMCP mcpList
		s.ok(t, "issue_ready", tc.args, &fromMCP)
		var fromCLI listOutput
		mustJSON(t, dir, &fromCLI, append([]string{"issue", "ready"}, tc.cli...)...)
		for _, got := range []struct {
			who    string
			issues []summary
		}{{"MCP", fromMCP.Issues}, {"CLI", fromCLI.Issues}} {
			var ids []string
			for _, i := range got.issues {
				ids = append(ids, i.IssueID)
			}
			if !slices.Equal(ids, tc.want) {
				t.Errorf("%s ready %v: %v, want %v", got.who, tc.args, ids, tc.want)
			}
		}
	}
}

// toolsListSize bounds a tools/list response: what a model reads of it
// (all but the output schemas, which are for the client) within 16 KB, the
// whole within 32 KB.
func toolsListSize(t *testing.T, resp []byte) {
	t.Helper()
	var m struct {
		JSONRPC string `json:"jsonrpc"`
		ID      any    `json:"id"`
		Result  struct {
			Tools []map[string]json.RawMessage `json:"tools"`
		} `json:"result"`
	}
	if err := json.Unmarshal(resp, &m); err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	for _, tool := range m.Result.Tools {
		delete(tool, "outputSchema")
	}
	forModel, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(forModel) > 16*1024 || len(resp) > 32*1024 {
		t.Fatalf("tools/list response is %d bytes (limit 32768), %d without output schemas (limit 16384)", len(resp), len(forModel))
	}
}
