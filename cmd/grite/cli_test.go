package main

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"grite/internal/testrepo"
)

// The commands run in this process (run, as main calls it) over real
// repositories: give git and grite the tests' fixed environment.
func TestMain(m *testing.M) {
	testrepo.IsolateProcess()
	testrepo.RunMain(m)
}

// cliResult is one in-process run of the command tree.
type cliResult struct {
	args           []string
	stdout, stderr string
	code           int
}

func (r cliResult) String() string {
	return "grite " + strings.Join(r.args, " ") + "\nexit " + strconv.Itoa(r.code) +
		"\nstdout: " + r.stdout + "\nstderr: " + r.stderr
}

// cli runs the command tree with args in the current directory, as main
// does (without colour).
func cli(t *testing.T, args ...string) cliResult {
	t.Helper()
	var o, e bytes.Buffer
	code := run(args, &o, &e, false)
	return cliResult{args, o.String(), e.String(), code}
}

// inRepo makes a git repository where grite init ran and makes it the
// current directory for the rest of the test.
func inRepo(t *testing.T) string {
	t.Helper()
	dir := testrepo.New(t)
	t.Chdir(dir)
	if r := cli(t, "init", "--no-agents-md", "--quiet"); r.code != 0 {
		t.Fatalf("init failed\n%s", r)
	}
	return dir
}

// mustCLI runs args and requires exit 0 and nothing on stderr.
func mustCLI(t *testing.T, args ...string) cliResult {
	t.Helper()
	r := cli(t, args...)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("want success\n%s", r)
	}
	return r
}

// jsonEnvelope is what --json prints, decoded strictly.
type jsonEnvelope struct {
	SchemaVersion int             `json:"schema_version"`
	OK            bool            `json:"ok"`
	Data          json.RawMessage `json:"data"`
	Error         *struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details"`
	} `json:"error"`
}

// envelopeOf decodes stdout as exactly one envelope with no unknown keys,
// data on success and error on failure.
func envelopeOf(t *testing.T, r cliResult) jsonEnvelope {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	var env jsonEnvelope
	if err := dec.Decode(&env); err != nil {
		t.Fatalf("stdout is not one envelope: %v\n%s", err, r)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one document\n%s", r)
	}
	if env.SchemaVersion != 1 || env.OK != (r.code == 0) || env.OK != (env.Data != nil) || env.OK == (env.Error != nil) {
		t.Fatalf("malformed envelope\n%s", r)
	}
	return env
}

// Every argument error is invalid_args, exit 2: with --json as an envelope
// on stdout (even when parsing stopped before --json was read), else as
// "error:" and a suggestion on stderr with nothing on stdout. The message
// says what was wrong.
func TestArgumentErrorsAreInvalidArgs(t *testing.T) {
	inRepo(t)
	id := strings.TrimSpace(mustCLI(t, "issue", "create", "--title", "exists", "-q").stdout)
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"issue", "show"}, "grite issue show needs an issue ID"},
		{[]string{"issue", "show", id, "extra"}, `grite issue show takes only an issue ID, unexpected argument "extra"`},
		{[]string{"issue", "create", "a title"}, `unexpected argument "a title"; give the title with --title`},
		{[]string{"issue", "comment", id, "some", "text"}, `unexpected arguments "some" "text"; give the comment with --body`},
		{[]string{"issue", "frobnicate"}, `unknown command "frobnicate" for "grite issue"`},
		{[]string{"isue", "list"}, `unknown command "isue" for "grite"; did you mean "issue"?`},
		{[]string{"issue", "label", "ad", id, "--label", "x"}, `unknown command "ad" for "grite issue label"`},
		{[]string{"issue", "list", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"issue", "list", "--limit", "many"}, `invalid argument "many" for "--limit"`},
		{[]string{"issue", "label", "add", id}, "--label is required"},
		{[]string{"issue", "create", "--title", "t", "--body", "b", "--body-file", "f"}, "give --body or --body-file, not both"},
		{[]string{"issue", "create", "--title", "t", "--body-file", "no/such/file"}, "--body-file: open no/such/file"},
		{[]string{"lock", "acquire"}, "a resource is required"},
		{[]string{"lock", "acquire", "repo:a", "--resource", "repo:b"}, "give the resource once"},
		{[]string{"sync", "--retry-budget", "soon"}, `--retry-budget "soon" is neither a duration`},
		{[]string{"version", "extra"}, `grite version takes no arguments, unexpected argument "extra"`},
		{[]string{"actor", "show", "a", "b"}, "accepts at most 1 arg(s), received 2"},
		{[]string{"events", "--limit", "0"}, "limit must be between 1 and 500, got 0"},
		{[]string{"events", "--limit", "501"}, "limit must be between 1 and 500, got 501"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := cli(t, append(tc.args, "--json")...)
			env := envelopeOf(t, r)
			if r.code != 2 || env.Error.Code != "invalid_args" || !strings.Contains(env.Error.Message, tc.says) {
				t.Fatalf("want invalid_args (exit 2) saying %q\n%s", tc.says, r)
			}
			if r.stderr != "error: "+env.Error.Message+"\n" {
				t.Errorf("stderr %q, want the message", r.stderr)
			}
			r = cli(t, tc.args...)
			if r.code != 2 || r.stdout != "" || !strings.HasPrefix(r.stderr, "error: "+env.Error.Message+"\n") {
				t.Fatalf("without --json: want the message on stderr, nothing on stdout\n%s", r)
			}
			if sug, _ := env.Error.Details["suggestions"].([]any); len(sug) > 0 && !strings.Contains(r.stderr, "Suggestions:\n  - ") {
				t.Errorf("suggestions %v missing from stderr %q", sug, r.stderr)
			}
		})
	}
	// --json given before a flag the parser stops at still gets an envelope.
	r := cli(t, "--json", "--bogus", "issue", "list")
	if env := envelopeOf(t, r); r.code != 2 || env.Error.Code != "invalid_args" {
		t.Fatalf("want invalid_args\n%s", r)
	}
}

// --json prints one envelope: data on success, the error's code, message
// and details on failure, with the code's exit status.
func TestJSONEnvelopes(t *testing.T) {
	inRepo(t)
	parser := strings.TrimSpace(mustCLI(t, "issue", "create", "--title", "parser", "-q").stdout)
	for _, tc := range []struct {
		args []string
		code int
		err  string   // error code, or "" for success
		keys []string // of data, in order
	}{
		{[]string{"version"}, 0, "", []string{"version"}},
		{[]string{"issue", "create", "--title", "one", "--label", "bug"}, 0, "", []string{"issue_id", "event_id", "wal_head", "changed"}},
		{[]string{"issue", "close", "PARSER"}, 0, "", []string{"issue_id", "event_id", "state", "wal_head", "changed"}},
		{[]string{"issue", "close", "PARSER"}, 0, "", []string{"issue_id", "event_id", "state", "wal_head", "changed", "message"}},
		{[]string{"issue", "list"}, 0, "", []string{"issues", "total"}},
		{[]string{"issue", "ready"}, 0, "", []string{"issues"}},
		{[]string{"issue", "show", strings.Repeat("ab", 16)}, 3, "not_found", nil},
		{[]string{"issue", "close", strings.Repeat("ab", 16)}, 3, "not_found", nil},
		{[]string{"actor", "use", "nobody"}, 3, "not_found", nil},
		{[]string{"sync", "--remote", "nosuch"}, 3, "not_found", nil},
		{[]string{"issue", "create", "--title", ""}, 2, "invalid_args", nil},
	} {
		args := slices.Clone(tc.args)
		if i := slices.Index(args, "PARSER"); i >= 0 {
			args[i] = parser
		}
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := cli(t, append(args, "--json")...)
			env := envelopeOf(t, r)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tc.code, r)
			}
			if tc.err != "" {
				if env.Error.Code != tc.err || env.Error.Message == "" {
					t.Fatalf("want %s\n%s", tc.err, r)
				}
				return
			}
			if got := objectKeys(t, env.Data); !slices.Equal(got, tc.keys) {
				t.Fatalf("data keys %v, want %v\n%s", got, tc.keys, r)
			}
		})
	}
}

// objectKeys lists a JSON object's keys in their order.
func objectKeys(t *testing.T, data json.RawMessage) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("data is not an object: %s", data)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// Human output of the everyday commands, over a real repository: writes
// name what they did, list and ready print aligned columns (--quiet: the
// IDs alone), show prints the issue with its comments, actor list marks
// the default.
func TestHumanOutput(t *testing.T) {
	inRepo(t)
	created := mustCLI(t, "issue", "create", "--title", "Fix the parser", "--body", "It breaks on tabs.", "--label", "bug", "--label", "p1")
	if !regexp.MustCompile(`^created [0-9a-f]{32}\n$`).MatchString(created.stdout) {
		t.Fatalf("create printed %q", created.stdout)
	}
	parser := strings.Fields(created.stdout)[1]
	docs := strings.TrimSpace(mustCLI(t, "issue", "create", "--title", "Write docs", "-q").stdout)
	done := strings.TrimSpace(mustCLI(t, "issue", "create", "--title", "Old work", "-q").stdout)
	me := actorOf(t)

	for _, tc := range []struct {
		args []string
		want string // exact output, or a regexp when it starts with ^
	}{
		{[]string{"issue", "comment", parser, "--body", "Seen on main too."}, "commented on " + parser + "\n"},
		{[]string{"issue", "close", done}, "closed " + done + "\n"},
		{[]string{"issue", "close", done}, "unchanged " + done + ": already closed\n"},
		{[]string{"issue", "assignee", "add", parser, "--user", "alice"}, "assignee added to " + parser + "\n"},
		{[]string{"issue", "label", "add", docs, "--label", "docs", "--label", "easy"}, "labels added to " + docs + "\n"},
		{[]string{"issue", "dep", "add", docs, "--target", parser}, "added: " + docs[:8] + " depends_on " + parser[:8] + "\n"},
		{[]string{"issue", "close", done, "--quiet"}, ""},
		{[]string{"issue", "list"}, "ID        STATE   TITLE           LABELS     ASSIGNEES  UPDATED\n" +
			parser[:8] + "  open    Fix the parser  bug,p1     alice      just now\n" +
			docs[:8] + "  open    Write docs      docs,easy             just now\n" +
			done[:8] + "  closed  Old work                              just now\n"},
		{[]string{"issue", "list", "--state", "closed", "-q"}, done + "\n"},
		{[]string{"issue", "list", "--search", "nothing like this"}, "no issues\n"},
		{[]string{"issue", "list", "--limit", "1"}, "ID        STATE  TITLE           LABELS  ASSIGNEES  UPDATED\n" +
			parser[:8] + "  open   Fix the parser  bug,p1  alice      just now\n(1 of 3 shown)\n"},
		{[]string{"issue", "ready"}, "ID        STATE  TITLE           LABELS  ASSIGNEES  UPDATED\n" +
			parser[:8] + "  open   Fix the parser  bug,p1  alice      just now\n"},
		{[]string{"issue", "ready", "-q"}, parser + "\n"},
		{[]string{"issue", "ready", "--label", "docs"}, "nothing ready\n"},
		{[]string{"issue", "dep", "list", docs}, `^depends on  ` + parser[:8] + `  open  Fix the parser\n$`},
		{[]string{"issue", "show", parser}, `^` + parser + `  open\nFix the parser\n` +
			`created: +\d{4}-\d\d-\d\d \d\d:\d\d UTC by ` + me[:8] + `\n` +
			`updated: +\d{4}-\d\d-\d\d \d\d:\d\d UTC\n` +
			`labels: +bug, p1\nassignees: +alice\nneeded by: +` + docs[:8] + ` Write docs\n` +
			`\nIt breaks on tabs.\n\n--- ` + me[:8] + `, \d{4}-\d\d-\d\d \d\d:\d\d UTC\nSeen on main too.\n\n3 events\n$`},
		{[]string{"lock", "acquire", "repo:docs", "--ttl", "10m"}, `^repo:docs held by ` + me + ` \(expires in (9m5\d|10m0)s\)\n$`},
		{[]string{"lock", "status"}, `^repo:docs  ` + me + `  expires in \d+m\d+s\n$`},
		{[]string{"lock", "release", "repo:docs"}, "repo:docs released\n"},
		{[]string{"actor", "list"}, `^ACTOR +LABEL +LAST ACTIVE +LAST EVENT *\n` + me + ` +just now +just now +\(default\)\n$`},
		{[]string{"version"}, "grite " + version + "\n"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := mustCLI(t, tc.args...)
			if strings.HasPrefix(tc.want, "^") {
				if !regexp.MustCompile(tc.want).MatchString(r.stdout) {
					t.Fatalf("output\n%s\ndoes not match\n%s", r.stdout, tc.want)
				}
				return
			}
			if r.stdout != tc.want {
				t.Fatalf("output\n%s\nwant\n%s", r.stdout, tc.want)
			}
		})
	}
}

// actorOf is the current actor's ID.
func actorOf(t *testing.T) string {
	t.Helper()
	var me struct {
		ActorID string `json:"actor_id"`
	}
	data := envelopeOf(t, mustCLI(t, "actor", "current", "--json")).Data
	if err := json.Unmarshal(data, &me); err != nil || len(me.ActorID) != 32 {
		t.Fatalf("actor current: %s (%v)", data, err)
	}
	return me.ActorID
}
