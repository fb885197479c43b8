package e2e

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"grite/internal/testrepo"
)

// writeFile writes data to a new file in a temporary directory.
func writeFile(t *testing.T, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "input")
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestHostileInputOversizeFieldsAreInvalidArgsOverCLIAndMCP: the limits of
// docs/cli.md decision 13 (title 1024 bytes, body and comment 1 MiB, 100 labels
// per call, 128-byte labels and assignees) hold on every write path of both
// edges with invalid_args, nothing is written, and values at the limit pass.
func TestHostileInputOversizeFieldsAreInvalidArgsOverCLIAndMCP(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	id := create(t, dir, "target")
	s := mustStartMCP(t, mcpOptions{dir: dir})
	big := strings.Repeat("b", 1<<20+1)
	bigFile := writeFile(t, big) // 1 MiB does not fit in one argv string
	title, name := strings.Repeat("t", 1025), strings.Repeat("l", 129)
	var labels101 []any
	var labelFlags101 []string
	for i := range 101 {
		labels101 = append(labels101, fmt.Sprintf("l%d", i))
		labelFlags101 = append(labelFlags101, "--label", fmt.Sprintf("l%d", i))
	}
	commits := walCount(t, dir)
	for _, tc := range []struct {
		name string
		cli  []string // nil: the CLI has no such call
		tool string
		args map[string]any
	}{
		{"title of 1025 bytes", []string{"issue", "create", "--title", title},
			"issue_create", map[string]any{"title": title}},
		{"title of 1025 bytes in an update", []string{"issue", "update", id, "--title", title},
			"issue_update", map[string]any{"id": id, "title": title}},
		{"body of 1 MiB + 1", []string{"issue", "create", "--title", "x", "--body-file", bigFile},
			"issue_create", map[string]any{"title": "x", "body": big}},
		{"body of 1 MiB + 1 in an update", []string{"issue", "update", id, "--body-file", bigFile},
			"issue_update", map[string]any{"id": id, "body": big}},
		{"comment of 1 MiB + 1", []string{"issue", "comment", id, "--body-file", bigFile},
			"issue_comment", map[string]any{"id": id, "body": big}},
		{"101 labels", append([]string{"issue", "create", "--title", "x"}, labelFlags101...),
			"issue_create", map[string]any{"title": "x", "labels": labels101}},
		{"101 labels added", nil,
			"issue_update", map[string]any{"id": id, "add_labels": labels101}},
		{"101 labels removed", nil,
			"issue_update", map[string]any{"id": id, "remove_labels": labels101}},
		{"label of 129 bytes", []string{"issue", "create", "--title", "x", "--label", name},
			"issue_create", map[string]any{"title": "x", "labels": []any{name}}},
		{"label of 129 bytes added", []string{"issue", "label", "add", id, "--label", name},
			"issue_update", map[string]any{"id": id, "add_labels": []any{name}}},
		{"assignee of 129 bytes", []string{"issue", "create", "--title", "x", "--assignee", name},
			"issue_create", map[string]any{"title": "x", "assignees": []any{name}}},
		{"assignee of 129 bytes added", []string{"issue", "assignee", "add", id, "--user", name},
			"issue_update", map[string]any{"id": id, "add_assignees": []any{name}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.cli != nil {
				mustFail(t, dir, "invalid_args", 2, tc.cli...)
			}
			s.fail(t, tc.tool, tc.args, "invalid_args")
			if got := walCount(t, dir); got != commits {
				t.Fatalf("WAL has %d commits after refused writes, want %d", got, commits)
			}
		})
	}

	// At the limits exactly, both edges accept.
	atLimit := strings.Repeat("b", 1<<20)
	var labels100 []any
	var labelFlags100 []string
	for i := range 100 {
		labels100 = append(labels100, fmt.Sprintf("l%d", i))
		labelFlags100 = append(labelFlags100, "--label", fmt.Sprintf("l%d", i))
	}
	create(t, dir, strings.Repeat("t", 1024), append([]string{"--body-file", writeFile(t, atLimit), "--label", name[:128]}, labelFlags100[:2*99]...)...)
	s.ok(t, "issue_create", map[string]any{"title": strings.Repeat("t", 1024), "body": atLimit, "labels": append(labels100[:99:99], name[:128])}, nil)
}

// TestHostileInputControlCharactersInTextFields: a title is one line of
// printable text (tab allowed), so newlines, NUL, ESC, DEL and C1 controls
// are invalid_args; bodies and comments keep every byte exactly (NUL, ESC,
// tab, CR LF), and `issue show --json` stays one valid JSON document that
// escapes them and round-trips. NUL cannot be in an argv string, so NUL
// titles are tried over MCP only; bodies with NUL go through --body-file.
func TestHostileInputControlCharactersInTextFields(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	s := mustStartMCP(t, mcpOptions{dir: dir})
	commits := walCount(t, dir)
	for _, title := range []string{"two\nlines", "trailing newline\n", "cr\rhere", "nul\x00here", "esc\x1b[2Jhere", "del\x7fhere", "nel\u0085here", "bell\ahere"} {
		if !strings.Contains(title, "\x00") {
			mustFail(t, dir, "invalid_args", 2, "issue", "create", "--title", title)
		}
		s.fail(t, "issue_create", map[string]any{"title": title}, "invalid_args")
	}
	if got := walCount(t, dir); got != commits {
		t.Fatalf("WAL has %d commits after refused titles, want %d", got, commits)
	}
	create(t, dir, "a\ttab is fine")

	const body = "nul\x00 esc\x1b[31mred\x1b[0m tab\t crlf\r\n lf\n cr\r del\x7f bell\a nel\u0085 é 🦀 </script>&"
	const comment = "comment\x00\x1b\t\r\n" + body
	bodyFile, commentFile := writeFile(t, body), writeFile(t, comment)
	cliID := create(t, dir, "controls via the CLI", "--body-file", bodyFile)
	mustJSON(t, dir, nil, "issue", "comment", cliID, "--body-file", commentFile)
	var w mcpWrite
	s.ok(t, "issue_create", map[string]any{"title": "controls via MCP", "body": body}, &w)
	s.ok(t, "issue_comment", map[string]any{"id": w.IssueID, "body": comment}, nil)

	for _, id := range []string{cliID, w.IssueID} {
		r := grite(t, dir, "issue", "show", id, "--json")
		for i, c := range []byte(r.stdout) {
			if c < 0x20 && c != '\n' {
				t.Fatalf("show --json wrote the raw control byte %#x at %d\n%q", c, i, r.stdout)
			}
		}
		env := parseEnvelope(t, r)
		var out showOutput
		if err := json.Unmarshal(env.Data, &out); err != nil {
			t.Fatal(err)
		}
		if out.Issue.Body != body {
			t.Fatalf("body came back as %q, want %q", out.Issue.Body, body)
		}
		if len(out.Issue.Comments) != 1 || out.Issue.Comments[0].Body != comment {
			t.Fatalf("comments %+v, want one with %q", out.Issue.Comments, comment)
		}
		// Round trip: what was read re-encodes to data that reads the same.
		again, err := json.Marshal(out)
		if err != nil {
			t.Fatal(err)
		}
		var back showOutput
		if err := json.Unmarshal(again, &back); err != nil || back.Issue.Body != body || back.Issue.Comments[0].Body != comment {
			t.Fatalf("re-encoded show does not round-trip: %v", err)
		}
		// The MCP view of the same issue agrees.
		var ms mcpShow
		s.ok(t, "issue_show", map[string]any{"id": id}, &ms)
		if ms.Issue.Body != body || len(ms.Issue.Comments) != 1 || ms.Issue.Comments[0].Body != comment {
			t.Fatalf("issue_show of %s: body %q comments %+v", id, ms.Issue.Body, ms.Issue.Comments)
		}
	}
}

// TestHostileInputInvalidUTF8IsRefusedByTheCLI: raw bytes that are not
// UTF-8, passed in argv or in a --body-file, are invalid_args in every text
// field of every write, and nothing is written.
func TestHostileInputInvalidUTF8IsRefusedByTheCLI(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	id := create(t, dir, "target")
	const bad = "bad \xff\xfe bytes"
	badFile := writeFile(t, "body with \xc3\x28 in it")
	sum := strings.Repeat("ab", 32)
	commits, actors := walCount(t, dir), len(actorDirs(t, dir))
	for _, args := range [][]string{
		{"issue", "create", "--title", bad},
		{"issue", "create", "--title", "x", "--body", bad},
		{"issue", "create", "--title", "x", "--body-file", badFile},
		{"issue", "create", "--title", "x", "--label", bad},
		{"issue", "create", "--title", "x", "--assignee", bad},
		{"issue", "update", id, "--title", bad},
		{"issue", "update", id, "--body", bad},
		{"issue", "update", id, "--body-file", badFile},
		{"issue", "comment", id, "--body", bad},
		{"issue", "comment", id, "--body-file", badFile},
		{"issue", "label", "add", id, "--label", bad},
		{"issue", "label", "remove", id, "--label", bad},
		{"issue", "assignee", "add", id, "--user", bad},
		{"issue", "link", "add", id, "--url", "https://example.com/" + bad},
		{"issue", "link", "add", id, "--url", "https://example.com/", "--note", bad},
		{"issue", "attachment", "add", id, "--name", bad, "--sha256", sum, "--mime", "text/plain"},
		{"issue", "attachment", "add", id, "--name", "f.txt", "--sha256", sum, "--mime", bad},
		{"lock", "acquire", "path:" + bad},
		{"actor", "init", "--label", bad},
	} {
		t.Run(strings.Join(args[:2], " ")+" "+args[len(args)-2], func(t *testing.T) {
			mustFail(t, dir, "invalid_args", 2, args...)
		})
	}
	if walCount(t, dir) != commits || len(actorDirs(t, dir)) != actors {
		t.Fatal("a refused command wrote to the WAL or made an actor")
	}
	if locks := testrepo.Git(t, dir, "for-each-ref", "refs/grite/locks"); locks != "" {
		t.Fatalf("a refused lock left refs:\n%s", locks)
	}
}

// rawMCP is a grite-mcp process spoken to in raw JSON-RPC lines, for
// requests no JSON library would write (invalid UTF-8 in a string).
type rawMCP struct {
	t      *testing.T
	stdin  io.WriteCloser
	lines  chan string
	stderr *lockedBuffer
	nextID int
}

func startRawMCP(t *testing.T, dir string) *rawMCP {
	t.Helper()
	cmd := exec.Command(testrepo.BuildBinaries(t).MCP)
	cmd.Dir, cmd.Env = dir, testrepo.Env()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	m := &rawMCP{t: t, stdin: stdin, lines: make(chan string, 16), stderr: &lockedBuffer{}, nextID: 1}
	cmd.Stderr = m.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			m.lines <- sc.Text()
		}
		close(m.lines)
		cmd.Wait()
	}()
	t.Cleanup(func() {
		stdin.Close()
		for range m.lines { // drain until the server exits on EOF
		}
		<-done
	})
	m.request(`"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}`)
	io.WriteString(stdin, `{"jsonrpc":"2.0","method":"notifications/initialized"}`+"\n")
	return m
}

// request sends one request (method and params, raw) and returns the
// result of the answer carrying its id.
func (m *rawMCP) request(methodAndParams string) json.RawMessage {
	m.t.Helper()
	id := m.nextID
	m.nextID++
	if _, err := io.WriteString(m.stdin, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":%s}`, id, methodAndParams)+"\n"); err != nil {
		m.t.Fatal(err)
	}
	for {
		select {
		case l, ok := <-m.lines:
			if !ok {
				m.t.Fatalf("grite-mcp exited\nstderr: %s", m.stderr.String())
			}
			var msg struct {
				ID     json.RawMessage `json:"id"`
				Result json.RawMessage `json:"result"`
				Error  json.RawMessage `json:"error"`
			}
			if err := json.Unmarshal([]byte(l), &msg); err != nil {
				m.t.Fatalf("stdout line is not JSON: %q", l)
			}
			if string(msg.ID) != fmt.Sprint(id) {
				continue
			}
			if msg.Error != nil {
				m.t.Fatalf("JSON-RPC error %s", msg.Error)
			}
			return msg.Result
		case <-time.After(mcpCallTimeout):
			m.t.Fatalf("no answer to request %d\nstderr: %s", id, m.stderr.String())
		}
	}
}

// TestHostileInputInvalidUTF8OverMCPArrivesAsReplacementCharacters pins
// what happens to invalid UTF-8 sent to grite-mcp: the JSON decoding of the
// request (Go's encoding/json, in mcp-go, before any grite code runs)
// replaces each invalid byte sequence, and each lone surrogate escape such
// as \udcff, with U+FFFD. The tools therefore only ever see valid UTF-8
// over MCP: the call is not refused, and the text is stored with U+FFFD
// exactly as if the client had sent U+FFFD itself. The rule behind both
// edges is the same (the tools layer refuses invalid UTF-8 with
// invalid_args, which the CLI shows because argv carries raw bytes); over
// MCP such bytes cannot reach it.
func TestHostileInputInvalidUTF8OverMCPArrivesAsReplacementCharacters(t *testing.T) {
	t.Parallel()
	dir := testrepo.New(t)
	m := startRawMCP(t, dir)
	call := func(tool, args string) map[string]any {
		t.Helper()
		res := m.request(`"tools/call","params":{"name":"` + tool + `","arguments":` + args + `}`)
		var r struct {
			IsError bool           `json:"isError"`
			Data    map[string]any `json:"structuredContent"`
		}
		if err := json.Unmarshal(res, &r); err != nil || r.IsError {
			t.Fatalf("%s %q: %s (%v)", tool, args, res, err)
		}
		return r.Data
	}
	for _, tc := range []struct{ name, sent, stored string }{
		{"raw 0xff byte", "raw \xff byte", "raw \ufffd byte"},
		{"truncated sequence", "cut \xc3", "cut \ufffd"},
		{"lone surrogate escape", `lone \udcff escape`, "lone \ufffd escape"},
	} {
		created := call("issue_create", `{"title":"`+tc.sent+`","body":"`+tc.sent+`","labels":["`+tc.sent+`"]}`)
		id, _ := created["issue_id"].(string)
		var show showOutput
		mustJSON(t, dir, &show, "issue", "show", id)
		if show.Issue.Title != tc.stored || show.Issue.Body != tc.stored || !slices.Equal(show.Issue.Labels, []string{tc.stored}) {
			t.Fatalf("%s: stored title %q body %q labels %q, want %q", tc.name, show.Issue.Title, show.Issue.Body, show.Issue.Labels, tc.stored)
		}
		// A lock resource is hashed into its ref name: the ref is the hash of
		// the replaced text, the same string lock.json holds.
		lock := call("lock", `{"action":"acquire","resource":"path:`+tc.sent+`"}`)
		want := "path:" + tc.stored
		if got, _ := lock["lock"].(map[string]any)["resource"].(string); got != want {
			t.Fatalf("%s: lock on %q, want %q", tc.name, got, want)
		}
		if refOrEmpty(t, dir, lockRef(want)) == "" {
			t.Fatalf("%s: no ref %s for %q", tc.name, lockRef(want), want)
		}
	}
}

// lockRef is docs/format.md §8's ref of a lock resource.
func lockRef(resource string) string {
	sum := sha256.Sum256([]byte(resource))
	return "refs/grite/locks/" + hex.EncodeToString(sum[:8])
}

// listFiles lists every path under root except those under skip.
func listFiles(t *testing.T, root, skip string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == skip {
			return filepath.SkipDir
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHostileInputPathsCannotReachOutsideTheRepository: grite-mcp resolves
// --repo once to an absolute path (relative "../.." included) and fails at
// start-up when it is not a repository. Tool arguments that look like
// paths stay data: a lock resource is hashed into refs/grite/locks/<16 hex>
// inside the repository's git dir, an issue ID "../../x" is invalid_args,
// a remote that git would take for an option is invalid_args, and no file
// appears outside the repository. No tool argument names the repository,
// so whoami reports the same repository after every call.
func TestHostileInputPathsCannotReachOutsideTheRepository(t *testing.T) {
	t.Parallel()
	repo := testrepo.New(t)
	outside := filepath.Dir(repo) // the test's temporary directory around the repo
	sub := filepath.Join(repo, "src", "pkg")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	notRepo := filepath.Join(t.TempDir(), "a", "b")
	if err := os.MkdirAll(notRepo, 0o755); err != nil {
		t.Fatal(err)
	}

	// --repo "../.." from a directory outside any repository: a clear
	// start-up error, nothing on stdout.
	cmd := exec.Command(testrepo.BuildBinaries(t).MCP, "--repo", "../..")
	cmd.Dir, cmd.Env = notRepo, testrepo.Env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	var exit *exec.ExitError
	if err := cmd.Run(); !errors.As(err, &exit) || stdout.Len() != 0 || !strings.Contains(stderr.String(), "not a git repository") {
		t.Fatalf("--repo ../.. outside a repository: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}

	before := listFiles(t, outside, repo)
	s := mustStartMCP(t, mcpOptions{dir: sub, args: []string{"--repo", "../.."}})
	requireRepo := func(when string) {
		t.Helper()
		var me mcpWhoAmI
		s.ok(t, "whoami", nil, &me)
		if me.Repo != repo {
			t.Fatalf("%s: whoami repo %q, want %q", when, me.Repo, repo)
		}
	}
	requireRepo("at start")
	id, err := s.createIssue("target")
	if err != nil {
		t.Fatal(err)
	}

	// An issue: resource names an issue: a path there is a malformed ID.
	s.fail(t, "lock", map[string]any{"action": "acquire", "resource": "issue:../../x"}, "invalid_args")
	traversal := []string{"path:../../etc/passwd", "path:/etc/passwd", "path:..\\..\\x", "repo:../../../other"}
	for _, r := range traversal {
		var out struct {
			Lock struct{ Resource string } `json:"lock"`
		}
		s.ok(t, "lock", map[string]any{"action": "acquire", "resource": r}, &out)
		if out.Lock.Resource != r {
			t.Fatalf("lock on %q, want %q", out.Lock.Resource, r)
		}
		if r == "repo:../../../other" { // conflicts with everything else: let go
			s.ok(t, "lock", map[string]any{"action": "release", "resource": r}, nil)
		}
		requireRepo("after locking " + r)
	}
	var refs []string
	for _, r := range traversal { // a released lock keeps its ref (expiry 0)
		ref := lockRef(r)
		refs = append(refs, ref)
		// A loose ref file inside this repository's git dir, nowhere else.
		if _, err := os.Stat(filepath.Join(gitDir(t, repo), filepath.FromSlash(ref))); err != nil {
			t.Fatalf("lock %q: %v", r, err)
		}
	}
	got := strings.Fields(testrepo.Git(t, repo, "for-each-ref", "--format=%(refname)", "refs/grite/locks"))
	if !slices.Equal(sorted(got), sorted(refs)) {
		t.Fatalf("lock refs %v, want %v", got, refs)
	}

	for _, c := range []struct {
		tool string
		args map[string]any
	}{
		{"issue_show", map[string]any{"id": "../../x"}},
		{"issue_update", map[string]any{"id": "../../" + id, "title": "t"}},
		{"issue_comment", map[string]any{"id": "/etc/passwd", "body": "b"}},
		{"issue_claim", map[string]any{"id": "..%2f..%2fx"}},
		{"issue_dep", map[string]any{"id": id, "target": "../" + id, "type": "blocks", "action": "add"}},
		{"sync", map[string]any{"mode": "pull", "remote": "--upload-pack=touch${IFS}" + filepath.Join(outside, "pwned") + ";false"}},
		{"sync", map[string]any{"mode": "push", "remote": "--receive-pack=touch${IFS}" + filepath.Join(outside, "pwned") + ";false"}},
	} {
		s.fail(t, c.tool, c.args, "invalid_args")
		requireRepo("after " + c.tool)
	}
	// The CLI refuses the same remote.
	mustFail(t, repo, "invalid_args", 2, "sync", "--pull", "--remote=--upload-pack=touch${IFS}"+filepath.Join(outside, "pwned")+";false")
	// An unknown tool argument naming a repository is refused, not obeyed.
	s.fail(t, "whoami", map[string]any{"repo": outside}, "invalid_args")
	s.fail(t, "issue_create", map[string]any{"title": "t", "repo": outside}, "invalid_args")
	requireRepo("at the end")

	if after := listFiles(t, outside, repo); !slices.Equal(after, before) {
		t.Fatalf("files outside the repository changed:\nbefore %v\nafter  %v", before, after)
	}
}
