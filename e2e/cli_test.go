package e2e

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"grite/internal/testrepo"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestUniquePrefixesAndUppercaseIDsAreAccepted(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	ids := []string{create(t, dir, "one"), create(t, dir, "two"), create(t, dir, "three")}
	id := ids[1]
	n := 4
	for ; n < 32; n++ {
		unique := true
		for _, o := range ids {
			if o != id && o[:n] == id[:n] {
				unique = false
			}
		}
		if unique {
			break
		}
	}
	prefix := id[:n]
	for _, tc := range []struct {
		args  []string
		state string
	}{
		{args: []string{"issue", "comment", prefix, "--body", "by prefix"}},
		{args: []string{"issue", "close", prefix}, state: "closed"},
		{args: []string{"issue", "reopen", strings.ToUpper(prefix)}, state: "open"},
		{args: []string{"issue", "label", "add", strings.ToUpper(id), "--label", "upper"}},
		{args: []string{"issue", "close", id[:n+3]}, state: "closed"},
	} {
		var w writeResult
		mustJSON(t, dir, &w, tc.args...)
		if w.IssueID != id || w.State != tc.state {
			t.Fatalf("%v: wrote %+v, want issue %s state %q", tc.args, w, id, tc.state)
		}
	}
	for _, ref := range []string{prefix, strings.ToUpper(prefix), strings.ToUpper(id), id} {
		var show showOutput
		mustJSON(t, dir, &show, "issue", "show", ref)
		if show.Issue.IssueID != id || show.Issue.State != "closed" || len(show.Issue.Comments) != 1 ||
			!slices.Equal(show.Issue.Labels, []string{"upper"}) {
			t.Fatalf("show %s: %+v", ref, show.Issue)
		}
	}
	requireIDs(t, dir, ids)
}

func TestHumanJSONAndQuietOutputs(t *testing.T) {
	t.Parallel()
	dir, actorID := newRepo(t)
	id := create(t, dir, "seed", "--label", "l")
	for _, args := range [][]string{
		{"issue", "create", "--title", "human", "--body", "b"},
		{"issue", "list"},
		{"issue", "show", id},
		{"issue", "update", id, "--title", "seed 2"},
		{"issue", "comment", id, "--body", "c"},
		{"issue", "label", "add", id, "--label", "m"},
		{"issue", "assignee", "add", id, "--user", "u"},
		{"issue", "link", "add", id, "--url", "https://example.com", "--note", "n"},
		{"issue", "attachment", "add", id, "--name", "a.txt", "--mime", "text/plain", "--sha256", strings.Repeat("ab", 32)},
		{"issue", "close", id},
		{"issue", "reopen", id},
		{"actor", "list"},
		{"actor", "gc", "--dry-run"},
		{"actor", "current"},
		{"actor", "show", actorID},
		{"snapshot"},
		{"snapshot", "list"},
		{"rebuild"},
		{"db", "stats"},
		{"export", "--format", "md"},
		{"doctor"},
		{"init", "--no-agents-md"},
		{"version"},
	} {
		h := grite(t, dir, args...)
		if h.code != 0 || h.stdout == "" || h.stderr != "" {
			t.Fatalf("human output: want exit 0, text on stdout, empty stderr\n%s", h)
		}
		if json.Valid([]byte(h.stdout)) || strings.Contains(h.stdout, `"schema_version"`) || strings.HasPrefix(strings.TrimSpace(h.stdout), "{") {
			t.Fatalf("human output is JSON\n%s", h)
		}
		for _, q := range []string{"--quiet", "-q"} {
			if cmd := strings.Join(args, " "); strings.HasPrefix(cmd, "issue create ") || cmd == "issue list" {
				break // their IDs (TestQuietKeepsWhatScriptsNeed)
			}
			if r := grite(t, dir, append(args, q)...); r.code != 0 || r.stdout != "" || r.stderr != "" {
				t.Fatalf("%s printed something on success\n%s", q, r)
			}
		}
		parseEnvelope(t, grite(t, dir, append(args, "--json")...))
	}

	// Errors: nothing on stdout, the message and safe suggestions on stderr,
	// and nothing written.
	ids := listIDs(t, dir)
	commits := walCount(t, dir)
	for _, tc := range []struct {
		args        []string
		exit        int
		suggestions bool
	}{
		{[]string{"issue", "show", "0123456789abcdef0123456789abcdef"}, 3, true},
		{[]string{"issue", "show", "xyz!"}, 2, true},
		{[]string{"issue", "list", "--bogus"}, 2, true},
		{[]string{"issue", "create", "--title", " "}, 2, false},
		{[]string{"actor", "use", "00000000000000000000000000000000"}, 3, true},
	} {
		for _, extra := range [][]string{nil, {"--quiet"}} {
			r := grite(t, dir, append(tc.args, extra...)...)
			if r.code != tc.exit || r.stdout != "" || !strings.HasPrefix(r.stderr, "error: ") {
				t.Fatalf("want exit %d, empty stdout, error on stderr\n%s", tc.exit, r)
			}
			if tc.suggestions && !strings.Contains(r.stderr, "Suggestions:\n  - ") {
				t.Fatalf("no suggestions on stderr\n%s", r)
			}
			requireSafeSuggestions(t, r.stderr)
		}
	}
	r := grite(t, t.TempDir(), "issue", "list")
	if r.code != 5 || r.stdout != "" || !strings.Contains(r.stderr, "not a git repository") {
		t.Fatalf("outside a repository\n%s", r)
	}
	requireIDs(t, dir, ids)
	if walCount(t, dir) != commits {
		t.Fatal("a failed command wrote to the WAL")
	}
}

// requireSafeSuggestions fails if a suggestion proposes a destructive step.
func requireSafeSuggestions(t *testing.T, text string) {
	t.Helper()
	for _, bad := range []string{"--force", "reset", "rm ", "delete", "re-init", "reinit"} {
		if strings.Contains(strings.ToLower(text), bad) {
			t.Fatalf("destructive suggestion (%q):\n%s", bad, text)
		}
	}
}

func TestFullWorkflowJSON(t *testing.T) {
	t.Parallel()
	dir, actorID := newRepo(t)
	id := create(t, dir, "Crash on start", "--body", "it crashes", "--label", "zeta", "--label", "alpha", "--label", "zeta")
	other := create(t, dir, "Other", "--assignee", "carol")
	sha := strings.Repeat("0123456789abcdef", 4)
	steps := []struct {
		args  []string
		state string
	}{
		{args: []string{"issue", "update", id, "--title", "Crash on start-up", "--body", "it crashes at once"}},
		{args: []string{"issue", "label", "add", id, "--label", "mid"}},
		{args: []string{"issue", "label", "remove", id, "--label", "zeta"}},
		{args: []string{"issue", "assignee", "add", id, "--user", "alice"}},
		{args: []string{"issue", "assignee", "add", id, "--user", "bob"}},
		{args: []string{"issue", "assignee", "remove", id, "--user", "alice"}},
		{args: []string{"issue", "link", "add", id, "--url", "https://example.com/1"}},
		{args: []string{"issue", "link", "add", id, "--url", "https://example.com/2", "--note", "-the fix"}},
		{args: []string{"issue", "attachment", "add", id, "--name", "log.txt", "--sha256", sha, "--mime", "text/plain"}},
		{args: []string{"issue", "comment", id, "--body", "first"}},
		{args: []string{"issue", "comment", id, "--body", "second\nline"}},
		{args: []string{"issue", "close", id}, state: "closed"},
		{args: []string{"issue", "reopen", id}, state: "open"},
	}
	for _, s := range steps {
		var w writeResult
		mustJSON(t, dir, &w, s.args...)
		if w.IssueID != id || w.State != s.state || len(w.EventID) != 64 || w.WALHead != walHead(t, dir) {
			t.Fatalf("%v: %+v", s.args, w)
		}
	}
	if got, want := walCount(t, dir), 2+len(steps); got != want {
		t.Fatalf("%d WAL commits, want %d", got, want)
	}

	env, r := gjson(t, dir, "issue", "show", id)
	var show showOutput
	if err := json.Unmarshal(env.Data, &show); err != nil {
		t.Fatal(err)
	}
	iss := show.Issue
	switch {
	case iss.Title != "Crash on start-up" || iss.Body != "it crashes at once" || iss.State != "open":
		t.Fatalf("title/body/state: %+v", iss)
	case !slices.Equal(iss.Labels, []string{"alpha", "mid"}) || !slices.Equal(iss.Assignees, []string{"bob"}):
		t.Fatalf("labels %v assignees %v", iss.Labels, iss.Assignees)
	case len(iss.Comments) != 2 || iss.Comments[0].Body != "first" || iss.Comments[1].Body != "second\nline" || iss.CommentCount != 2:
		t.Fatalf("comments: %+v", iss.Comments)
	case len(iss.Links) != 2 || iss.Links[0].Note != nil || iss.Links[1].Note == nil || *iss.Links[1].Note != "-the fix":
		t.Fatalf("links: %+v", iss.Links)
	case len(iss.Attachments) != 1 || iss.Attachments[0].SHA256 != sha || iss.Attachments[0].MIME != "text/plain":
		t.Fatalf("attachments: %+v", iss.Attachments)
	case iss.EventCount != 1+len(steps) || len(show.Events) != 1+len(steps):
		t.Fatalf("event_count %d, %d events, want %d", iss.EventCount, len(show.Events), 1+len(steps))
	case iss.CreatedBy != actorID || iss.UpdatedTS <= iss.CreatedTS:
		t.Fatalf("created_by %s, created %d updated %d", iss.CreatedBy, iss.CreatedTS, iss.UpdatedTS)
	}
	var kinds []string
	for _, e := range show.Events {
		kinds = append(kinds, e.kindName())
		if e.IssueID != id || e.Actor != actorID || e.Signed {
			t.Fatalf("event %+v", e)
		}
	}
	wantKinds := []string{"IssueCreated", "IssueUpdated", "LabelAdded", "LabelRemoved", "AssigneeAdded", "AssigneeAdded",
		"AssigneeRemoved", "LinkAdded", "LinkAdded", "AttachmentAdded", "CommentAdded", "CommentAdded", "StateChanged", "StateChanged"}
	if !slices.Equal(kinds, wantKinds) {
		t.Fatalf("event kinds %v\nwant %v", kinds, wantKinds)
	}
	golden(t, "issue_show.golden", normalize(t, r.stdout))

	// issue list: exactly the documented keys, oldest first, and filters.
	env, r = gjson(t, dir, "issue", "list")
	var raw struct {
		Issues []map[string]json.RawMessage `json:"issues"`
		Total  int                          `json:"total"`
	}
	if err := json.Unmarshal(env.Data, &raw); err != nil {
		t.Fatal(err)
	}
	wantKeys := sorted([]string{"issue_id", "title", "state", "labels", "assignees", "created_ts", "updated_ts", "comment_count"})
	for _, i := range raw.Issues {
		if got := sortedKeys(i); !slices.Equal(got, wantKeys) {
			t.Fatalf("issue list keys %v, want %v", got, wantKeys)
		}
	}
	if raw.Total != 2 || string(raw.Issues[0]["issue_id"]) != `"`+id+`"` {
		t.Fatalf("list: %s", r.stdout)
	}
	golden(t, "issue_list.golden", normalize(t, r.stdout))
	for _, f := range []struct {
		args []string
		want []string
	}{
		{[]string{"--state", "open"}, []string{id, other}},
		{[]string{"--state", "closed"}, nil},
		{[]string{"--label", "alpha"}, []string{id}},
		{[]string{"--label", "zeta"}, nil},
		{[]string{"--assignee", "carol"}, []string{other}},
		{[]string{"--assignee", "alice"}, nil},
		{[]string{"--search", "at once"}, []string{id}},
	} {
		requireIDs(t, dir, f.want, f.args...)
	}
	var limited listOutput
	mustJSON(t, dir, &limited, "issue", "list", "--limit", "1")
	if len(limited.Issues) != 1 || limited.Total != 2 || limited.Issues[0].IssueID != id {
		t.Fatalf("--limit 1: %+v", limited)
	}
}

// normalize makes JSON output stable for a golden file while keeping its
// exact text (key order, indentation): hex IDs and hashes become
// placeholders numbered in order of appearance, timestamps become <ts>.
func normalize(t *testing.T, out string) string {
	t.Helper()
	if !json.Valid([]byte(out)) {
		t.Fatalf("not JSON:\n%s", out)
	}
	names := map[string]string{}
	out = hexString.ReplaceAllStringFunc(out, func(m string) string {
		if _, ok := names[m]; !ok {
			names[m] = fmt.Sprintf(`"<hex%d>"`, len(names)+1)
		}
		return names[m]
	})
	return timestamp.ReplaceAllString(out, `"$1": <ts>`)
}

var (
	hexString = regexp.MustCompile(`"([0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})"`)
	timestamp = regexp.MustCompile(`"(\w*_ts|ts_unix_ms)": \d+`)
)

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./e2e -update to create it)", err)
	}
	if string(want) != got {
		t.Fatalf("%s differs (run go test ./e2e -update and review the diff)\ngot:\n%s", p, got)
	}
}

func TestSignedActorEventsAreVerified(t *testing.T) {
	t.Parallel()
	dir := testrepo.New(t)
	var signer struct {
		ActorID   string `json:"actor_id"`
		PublicKey string `json:"public_key"`
	}
	mustJSON(t, dir, &signer, "actor", "init", "--generate-key", "--label", "k")
	if len(signer.PublicKey) != 64 {
		t.Fatalf("public key %q", signer.PublicKey)
	}
	var plain struct {
		ActorID string `json:"actor_id"`
	}
	mustJSON(t, dir, &plain, "actor", "init", "--label", "plain")

	a := create(t, dir, "signed one", "--actor", signer.ActorID)
	ids := []string{a, create(t, dir, "signed two", "--actor", signer.ActorID, "--label", "x")}
	mustJSON(t, dir, nil, "--actor", signer.ActorID, "issue", "comment", a, "--body", "signed comment")
	ids = append(ids, create(t, dir, "unsigned", "--actor", plain.ActorID))

	var show showOutput
	mustJSON(t, dir, &show, "issue", "show", a, "--actor", plain.ActorID)
	for _, e := range show.Events {
		if !e.Signed {
			t.Fatalf("event of the signing actor not signed: %+v", e)
		}
	}
	requireHealthy(t, dir)

	// Every chunk's last record ends with its sig: CBOR bytes(64) = 0x58 0x40
	// and 64 bytes for the signer; null (0xf6) for the plain actor.
	commits := walCommits(t, dir)
	chunks := chunkBlobs(t, dir, commits)
	var signedChunk []byte
	for i, c := range commits {
		ch := chunks[i].data
		switch c.actor {
		case signer.ActorID:
			if len(ch) < 66 || !bytes.Equal(ch[len(ch)-66:len(ch)-64], []byte{0x58, 0x40}) {
				t.Fatalf("chunk of %s does not end with a 64-byte signature: % x", c.hash, ch[max(0, len(ch)-70):])
			}
			if signedChunk == nil {
				signedChunk = ch
			}
		case plain.ActorID:
			if ch[len(ch)-1] != 0xf6 {
				t.Fatalf("unsigned chunk of %s does not end with null: % x", c.hash, ch[max(0, len(ch)-8):])
			}
		}
	}

	// A chunk whose signature no longer verifies (hash and path recomputed,
	// so only the signature is wrong) makes doctor fail naming the commit.
	head := commits[0]
	tampered := bytes.Clone(signedChunk)
	tampered[len(tampered)-1] ^= 0xff
	bad := writeChunkCommit(t, dir, head.hash, handChunk{actor: signer.ActorID, dir: path.Dir(chunks[len(chunks)-1].path), data: tampered})
	testrepo.Git(t, dir, "update-ref", "refs/grite/wal", bad, head.hash)
	out, r := doctor(t, dir)
	requireFailingCheck(t, out, r, "wal", "wal_error", bad)
	if !strings.Contains(strings.ToLower(r.stdout), "signature") {
		t.Fatalf("doctor does not say the signature is bad\n%s", r)
	}
	requireIDs(t, dir, ids, "--actor", signer.ActorID)
	requireIDs(t, dir, ids, "--actor", plain.ActorID)
}

type chunkBlob struct {
	path string
	data []byte
}

// chunkBlobs returns the one chunk of each WAL commit.
func chunkBlobs(t *testing.T, dir string, commits []walCommit) []chunkBlob {
	t.Helper()
	var out []chunkBlob
	var objects []string
	for _, c := range commits {
		files := strings.Fields(testrepo.Git(t, dir, "ls-tree", "-r", "--name-only", c.hash, "events"))
		if len(files) != 1 || !strings.HasSuffix(files[0], ".bin") {
			t.Fatalf("commit %s: events tree %v", c.hash, files)
		}
		out = append(out, chunkBlob{path: files[0]})
		objects = append(objects, c.hash+":"+files[0])
	}
	for i, b := range catBatch(t, dir, objects) {
		out[i].data = b
	}
	return out
}

// TestDoctorPassesOnFreshRepositories: a WAL without commits is a healthy
// one, in a repository grite has never run in, right after init, and in a
// clone before its first sync (git clone does not fetch refs/grite/*).
func TestDoctorPassesOnFreshRepositories(t *testing.T) {
	t.Parallel()
	remote := testrepo.NewBare(t)
	seeded := testrepo.Clone(t, remote)
	create(t, seeded, "already on the remote")
	mustSync(t, seeded)
	for _, tc := range []struct {
		name string
		repo func(t *testing.T) string
	}{
		{"git init only", func(t *testing.T) string { return testrepo.New(t) }},
		{"after grite init", func(t *testing.T) string { dir, _ := newRepo(t); return dir }},
		{"fresh clone", func(t *testing.T) string { return testrepo.Clone(t, remote) }},
		{"fresh clone after grite init", func(t *testing.T) string {
			dir := testrepo.Clone(t, remote)
			mustJSON(t, dir, nil, "init", "--no-agents-md")
			return dir
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := tc.repo(t)
			// Twice: the first run opens the view, the second finds it.
			for range 2 {
				if h := grite(t, dir, "doctor"); h.code != 0 || strings.Contains(h.stdout, "FAIL") {
					t.Fatalf("doctor fails on a fresh repository\n%s", h)
				}
				requireHealthy(t, dir)
			}
		})
	}
}

// TestRepeatedFlagsApplyEveryValue: a flag given several times means all
// of its values, never only the last one; a change of several values is
// one WAL commit.
func TestRepeatedFlagsApplyEveryValue(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	id := create(t, dir, "target", "--label", "keep", "--label", "one", "--label", "two", "--assignee", "carol", "--assignee", "dave")
	for _, tc := range []struct {
		args      []string
		human     string
		labels    []string
		assignees []string
	}{
		{[]string{"label", "add", id, "--label", "three", "--label", "four"}, "labels added to",
			[]string{"four", "keep", "one", "three", "two"}, []string{"carol", "dave"}},
		{[]string{"label", "remove", id, "--label", "one", "--label", "two", "--label", "three"}, "labels removed from",
			[]string{"four", "keep"}, []string{"carol", "dave"}},
		{[]string{"label", "add", id, "--label", "five"}, "label added to",
			[]string{"five", "four", "keep"}, []string{"carol", "dave"}},
		{[]string{"assignee", "add", id, "--user", "alice", "--user", "bob"}, "assignees added to",
			[]string{"five", "four", "keep"}, []string{"alice", "bob", "carol", "dave"}},
		{[]string{"assignee", "remove", id, "--user", "carol", "--user", "dave"}, "assignees removed from",
			[]string{"five", "four", "keep"}, []string{"alice", "bob"}},
	} {
		commits := walCount(t, dir)
		h := grite(t, dir, append([]string{"issue"}, tc.args...)...)
		if h.code != 0 || h.stdout != tc.human+" "+id+"\n" {
			t.Fatalf("want %q\n%s", tc.human+" "+id, h)
		}
		if n := walCount(t, dir); n != commits+1 {
			t.Fatalf("%v: %d WAL commits, want one", tc.args, n-commits)
		}
		var show showOutput
		mustJSON(t, dir, &show, "issue", "show", id)
		if !slices.Equal(show.Issue.Labels, tc.labels) || !slices.Equal(show.Issue.Assignees, tc.assignees) {
			t.Fatalf("%v: labels %v assignees %v, want %v %v", tc.args, show.Issue.Labels, show.Issue.Assignees, tc.labels, tc.assignees)
		}
	}

	both := create(t, dir, "both", "--label", "a", "--label", "b")
	onlyA := create(t, dir, "only a", "--label", "a")
	onlyB := create(t, dir, "only b", "--label", "b")
	for _, tc := range []struct {
		labels []string
		want   []string
	}{
		{[]string{"a"}, []string{both, onlyA}},
		{[]string{"b"}, []string{both, onlyB}},
		{[]string{"a", "b"}, []string{both}},
		{[]string{"b", "a", "b"}, []string{both}},
		{[]string{"a", "b", "keep"}, nil},
	} {
		var args []string
		for _, l := range tc.labels {
			args = append(args, "--label", l)
		}
		requireIDs(t, dir, tc.want, args...)
	}
}

// TestVersionHelpAndCompletion: --version answers like the version
// command, help does not offer the compatibility-only --no-daemon (which
// still works), and completion scripts come out for every shell and
// complete grite's own commands.
func TestVersionHelpAndCompletion(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	version := grite(t, dir, "version")
	if version.code != 0 || !strings.HasPrefix(version.stdout, "grite ") {
		t.Fatalf("version\n%s", version)
	}
	for _, tc := range []struct {
		args     []string
		stdout   []string // each must appear
		unwanted []string
		exact    string
	}{
		{args: []string{"--version"}, exact: version.stdout},
		{args: []string{"-v"}, exact: version.stdout},
		{args: []string{"--help"}, stdout: []string{"--version", "completion", "--quiet"}, unwanted: []string{"no-daemon"}},
		{args: []string{"issue", "--help"}, stdout: []string{"--json"}, unwanted: []string{"no-daemon"}},
		{args: []string{"--no-daemon", "version"}, exact: version.stdout},
		{args: []string{"completion", "bash"}, stdout: []string{"bash completion", "__complete"}},
		{args: []string{"completion", "zsh"}, stdout: []string{"#compdef grite"}},
		{args: []string{"completion", "fish"}, stdout: []string{"complete -c grite"}},
		{args: []string{"__complete", "issue", "sh"}, stdout: []string{"show"}},
		{args: []string{"__complete", "issue", "label", "add", "x", "--la"}, stdout: []string{"--label"}},
	} {
		r := grite(t, dir, tc.args...)
		if r.code != 0 {
			t.Fatalf("want exit 0\n%s", r)
		}
		if tc.exact != "" && r.stdout != tc.exact {
			t.Fatalf("stdout %q, want %q\n%s", r.stdout, tc.exact, r)
		}
		for _, w := range tc.stdout {
			if !strings.Contains(r.stdout, w) {
				t.Fatalf("stdout does not contain %q\n%s", w, r)
			}
		}
		for _, w := range tc.unwanted {
			if strings.Contains(r.stdout, w) {
				t.Fatalf("stdout contains %q\n%s", w, r)
			}
		}
	}
	mustFail(t, dir, "invalid_args", 2, "completion", "tcsh")
}

// TestQuietKeepsWhatScriptsNeed: under --quiet, issue create still prints
// the new issue's ID alone on one line, and issue list the full ID of each
// issue it finds, one a line, in its order, and nothing else.
func TestQuietKeepsWhatScriptsNeed(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	idLine := regexp.MustCompile(`^[0-9a-f]{32}\n$`)
	var created []string
	for _, q := range []string{"-q", "--quiet"} {
		r := grite(t, dir, "issue", "create", "--title", "made "+q, "--label", "q", q)
		if r.code != 0 || !idLine.MatchString(r.stdout) || r.stderr != "" {
			t.Fatalf("want the new ID alone on one line\n%s", r)
		}
		id := strings.TrimSuffix(r.stdout, "\n")
		var show showOutput
		mustJSON(t, dir, &show, "issue", "show", id)
		if show.Issue.Title != "made "+q {
			t.Fatalf("%s printed %s, which is %q", q, id, show.Issue.Title)
		}
		created = append(created, id)
	}
	other := create(t, dir, "not labelled q")
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"issue", "list", "-q"}, append(slices.Clone(created), other)},
		{[]string{"issue", "list", "--quiet", "--label", "q"}, created},
		{[]string{"issue", "list", "-q", "--limit", "1"}, created[:1]},
		{[]string{"issue", "list", "-q", "--label", "nothing has it"}, nil},
	} {
		r := grite(t, dir, tc.args...)
		var want string
		for _, id := range tc.want {
			want += id + "\n"
		}
		if r.code != 0 || r.stdout != want || r.stderr != "" {
			t.Fatalf("want stdout %q\n%s", want, r)
		}
	}
}

// Wherever an actor is named (--actor, actor use, actor show), its label
// or a unique prefix of its ID works as well as the full ID.
func TestActorsAreNamedByLabelOrIDPrefix(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	bots := coordActors(t, dir, "bot1", "bot2")
	var w struct {
		IssueID string `json:"issue_id"`
	}
	mustJSON(t, dir, &w, "--actor", "bot2", "issue", "create", "--title", "by bot2")
	s := coordShow(t, dir, w.IssueID)
	if s.Issue.CreatedBy != bots[1].ID {
		t.Fatalf("--actor bot2 created as %s, want %s", s.Issue.CreatedBy, bots[1].ID)
	}
	var used struct {
		ActorID string `json:"actor_id"`
	}
	mustJSON(t, dir, &used, "actor", "use", bots[0].ID[:12])
	if used.ActorID != bots[0].ID {
		t.Fatalf("actor use %s chose %s, want %s", bots[0].ID[:12], used.ActorID, bots[0].ID)
	}
	mustJSON(t, dir, &used, "actor", "show", "bot2")
	if used.ActorID != bots[1].ID {
		t.Fatalf("actor show bot2 showed %s", used.ActorID)
	}
	mustFail(t, dir, "not_found", 3, "--actor", "nobody", "issue", "list")
}

// --state all is what the help calls the default: every state.
func TestIssueListStateAllListsEveryState(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	create(t, dir, "open one")
	closed := create(t, dir, "closed one")
	mustJSON(t, dir, nil, "issue", "close", closed)
	for _, args := range [][]string{{"issue", "list"}, {"issue", "list", "--state", "all"}, {"issue", "list", "--state", "ALL"}} {
		var out struct {
			Total int `json:"total"`
		}
		mustJSON(t, dir, &out, args...)
		if out.Total != 2 {
			t.Fatalf("%v lists %d issues, want 2", args, out.Total)
		}
	}
	mustFail(t, dir, "invalid_args", 2, "issue", "list", "--state", "some")
}
