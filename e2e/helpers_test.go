package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"grite/internal/testrepo"
)

func TestMain(m *testing.M) { testrepo.RunMain(m) }

// result is one finished grite process.
type result struct {
	args           []string
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return "grite " + strings.Join(r.args, " ") + "\nexit " + strconv.Itoa(r.code) +
		"\nstdout: " + clip(r.stdout) + "\nstderr: " + clip(r.stderr)
}

func clip(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "..."
	}
	return s
}

// grite runs the binary in dir.
func grite(t testing.TB, dir string, args ...string) result {
	t.Helper()
	out, errOut, code := testrepo.RunGrite(t, dir, args...)
	return result{args, out, errOut, code}
}

// envelope is the --json output (docs/cli.md decisions 1-2).
type envelope struct {
	SchemaVersion int             `json:"schema_version"`
	OK            bool            `json:"ok"`
	Data          json.RawMessage `json:"data"`
	Error         *errorObject    `json:"error"`
}

type errorObject struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details"`
}

// parseEnvelope checks that stdout is exactly one JSON document in the
// envelope shape, with data or error as ok says, and returns it.
func parseEnvelope(t testing.TB, r result) envelope {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	var raw map[string]json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		t.Fatalf("stdout is not a JSON document: %v\n%s", err, r)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		t.Fatalf("stdout holds more than one JSON document\n%s", r)
	}
	var env envelope
	if err := json.Unmarshal([]byte(r.stdout), &env); err != nil {
		t.Fatalf("envelope: %v\n%s", err, r)
	}
	want := []string{"ok", "schema_version"}
	if env.OK {
		want = append(want, "data")
	} else {
		want = append(want, "error")
	}
	if got := sortedKeys(raw); !slices.Equal(got, sorted(want)) {
		t.Fatalf("envelope keys %v, want %v\n%s", got, sorted(want), r)
	}
	if env.SchemaVersion != 1 {
		t.Fatalf("schema_version %d, want 1\n%s", env.SchemaVersion, r)
	}
	if !env.OK && (env.Error.Code == "" || env.Error.Message == "") {
		t.Fatalf("error without code or message\n%s", r)
	}
	return env
}

func sortedKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// gjson runs grite with --json and returns the parsed envelope.
func gjson(t testing.TB, dir string, args ...string) (envelope, result) {
	t.Helper()
	r := grite(t, dir, append(args, "--json")...)
	return parseEnvelope(t, r), r
}

// mustJSON runs grite with --json, requires success, and decodes data into
// out (when out is not nil).
func mustJSON(t testing.TB, dir string, out any, args ...string) result {
	t.Helper()
	env, r := gjson(t, dir, args...)
	if !env.OK || r.code != 0 {
		t.Fatalf("want success\n%s", r)
	}
	if out != nil {
		if err := json.Unmarshal(env.Data, out); err != nil {
			t.Fatalf("decode data: %v\n%s", err, r)
		}
	}
	return r
}

// decodeStrict decodes a JSON object into out, a pointer to one of this
// package's own copies of an output type, both ways strictly: a key the
// object has that the type lacks fails (DisallowUnknownFields), and so does
// a field of the type (at the top level, embedded structs included) that
// the object lacks, unless its tag says omitempty, which here means "may
// be absent". Those copies are an independent decoder on purpose; this
// keeps them from drifting from what grite prints.
func decodeStrict(data []byte, out any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("decode strictly into %T: %w", out, err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		return err
	}
	for _, name := range requiredKeys(reflect.TypeOf(out).Elem()) {
		if _, ok := keys[name]; !ok {
			return fmt.Errorf("%T has a field %q that the output lacks", out, name)
		}
	}
	return nil
}

// requiredKeys are the JSON keys of a struct type's fields not tagged
// omitempty, those of embedded structs included.
func requiredKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		switch {
		case f.Anonymous && name == "":
			keys = append(keys, requiredKeys(f.Type)...)
		case !f.IsExported() || name == "-" || strings.Contains(opts, "omitempty"):
		case name == "":
			keys = append(keys, f.Name)
		default:
			keys = append(keys, name)
		}
	}
	return keys
}

// mustStrict runs grite with --json, requires success, and decodes data
// into out with decodeStrict.
func mustStrict(t testing.TB, dir string, out any, args ...string) result {
	t.Helper()
	env, r := gjson(t, dir, args...)
	if !env.OK || r.code != 0 {
		t.Fatalf("want success\n%s", r)
	}
	if err := decodeStrict(env.Data, out); err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	return r
}

// mustFail runs grite with --json and requires the error code and exit code.
func mustFail(t testing.TB, dir, code string, exit int, args ...string) errorObject {
	t.Helper()
	env, r := gjson(t, dir, args...)
	if env.OK || env.Error.Code != code || r.code != exit {
		t.Fatalf("want %s (exit %d)\n%s", code, exit, r)
	}
	return *env.Error
}

// writeResult is the data of a write (docs/cli.md, Data payloads).
type writeResult struct {
	IssueID  string   `json:"issue_id"`
	EventID  string   `json:"event_id"`
	EventIDs []string `json:"event_ids,omitempty"`
	State    string   `json:"state,omitempty"`
	WALHead  string   `json:"wal_head"`
	Changed  bool     `json:"changed"`
	Message  string   `json:"message,omitempty"`
}

// create makes an issue and returns its ID.
func create(t testing.TB, dir, title string, extra ...string) string {
	t.Helper()
	var w writeResult
	mustJSON(t, dir, &w, append([]string{"issue", "create", "--title", title}, extra...)...)
	if len(w.IssueID) != 32 || len(w.WALHead) != 40 {
		t.Fatalf("create returned %+v", w)
	}
	return w.IssueID
}

type summary struct {
	IssueID      string   `json:"issue_id"`
	Title        string   `json:"title"`
	State        string   `json:"state"`
	Labels       []string `json:"labels"`
	Assignees    []string `json:"assignees"`
	CreatedTS    uint64   `json:"created_ts"`
	UpdatedTS    uint64   `json:"updated_ts"`
	CommentCount int      `json:"comment_count"`
}

type listOutput struct {
	Issues []summary `json:"issues"`
	Total  int       `json:"total"`
}

// list returns every issue (issue list --json).
func list(t testing.TB, dir string, extra ...string) listOutput {
	t.Helper()
	var out listOutput
	mustJSON(t, dir, &out, append([]string{"issue", "list"}, extra...)...)
	if out.Total != len(out.Issues) {
		t.Fatalf("list: total %d for %d issues", out.Total, len(out.Issues))
	}
	return out
}

// listIDs returns the sorted IDs of every issue.
func listIDs(t testing.TB, dir string, extra ...string) []string {
	t.Helper()
	var ids []string
	for _, i := range list(t, dir, extra...).Issues {
		ids = append(ids, i.IssueID)
	}
	slices.Sort(ids)
	return ids
}

// requireIDs fails unless the listing holds exactly want.
func requireIDs(t testing.TB, dir string, want []string, extra ...string) {
	t.Helper()
	if got := listIDs(t, dir, extra...); !slices.Equal(got, sorted(want)) {
		t.Fatalf("issues listed: %d %v\nwant %d %v", len(got), got, len(want), sorted(want))
	}
}

// walCount is the number of commits in refs/grite/wal (0 when absent).
func walCount(t testing.TB, dir string) int {
	t.Helper()
	if _, err := testrepo.GitErr(dir, "rev-parse", "--verify", "-q", "refs/grite/wal"); err != nil {
		return 0
	}
	n, err := strconv.Atoi(testrepo.Git(t, dir, "rev-list", "--count", "refs/grite/wal"))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// walHead is the commit refs/grite/wal points to.
func walHead(t testing.TB, dir string) string {
	t.Helper()
	return testrepo.Git(t, dir, "rev-parse", "refs/grite/wal")
}

// newRepo is a git repository where grite init ran (without AGENTS.md, so
// the working tree stays clean); it returns the repo and the default actor.
func newRepo(t testing.TB) (dir, actorID string) {
	t.Helper()
	dir = testrepo.New(t)
	var out struct {
		ActorID string `json:"actor_id"`
		Created bool   `json:"created"`
	}
	mustJSON(t, dir, &out, "init", "--no-agents-md")
	if !out.Created || len(out.ActorID) != 32 {
		t.Fatalf("init: %+v", out)
	}
	return dir, out.ActorID
}

// gitDir is the repository's common git dir.
func gitDir(t testing.TB, dir string) string {
	t.Helper()
	d := testrepo.Git(t, dir, "rev-parse", "--git-common-dir")
	if !filepath.IsAbs(d) {
		d = filepath.Join(dir, d)
	}
	return filepath.Clean(d)
}

// actorDirs lists the actor directories under .git/grite/actors.
func actorDirs(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(gitDir(t, dir), "grite", "actors"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

// catBatch reads many objects ("<rev>:<path>" or hashes) with one git
// process and returns their contents in order.
func catBatch(t testing.TB, dir string, objects []string) [][]byte {
	t.Helper()
	in := strings.Join(objects, "\n") + "\n"
	out := testrepo.GitStdin(t, dir, []byte(in), "cat-file", "--batch")
	var res [][]byte
	for i := range objects {
		nl := bytes.IndexByte(out, '\n')
		if nl < 0 {
			t.Fatalf("cat-file --batch: short output at %s", objects[i])
		}
		header := strings.Fields(string(out[:nl]))
		if len(header) != 3 {
			t.Fatalf("cat-file --batch: %s: %q", objects[i], out[:nl])
		}
		size, err := strconv.Atoi(header[2])
		if err != nil {
			t.Fatal(err)
		}
		out = out[nl+1:]
		res = append(res, out[:size])
		out = out[size+1:]
	}
	return res
}

type comment struct {
	EventID string `json:"event_id"`
	Actor   string `json:"actor"`
	TS      uint64 `json:"ts_unix_ms"`
	Body    string `json:"body"`
}

type link struct {
	EventID string  `json:"event_id"`
	URL     string  `json:"url"`
	Note    *string `json:"note"`
}

type attachment struct {
	EventID string `json:"event_id"`
	Name    string `json:"name"`
	SHA256  string `json:"sha256"`
	MIME    string `json:"mime"`
}

type depJSON struct {
	Target  string `json:"target"`
	DepType string `json:"dep_type"`
}

// relation is a dependency edge seen from one issue, either direction.
type relation struct {
	Relation string `json:"relation"`
	IssueID  string `json:"issue_id"`
	DepType  string `json:"dep_type"`
	Incoming bool   `json:"incoming"`
	Title    string `json:"title"`
	State    string `json:"state"`
}

// handoffJSON is a handoff comment's fields (issue show, a claim's previous).
type handoffJSON struct {
	EventID  string `json:"event_id"`
	TS       uint64 `json:"ts_unix_ms"`
	Done     string `json:"done"`
	Next     string `json:"next"`
	Blocker  string `json:"blocker,omitempty"`
	Evidence string `json:"evidence,omitempty"`
	Actor    string `json:"actor"`
	Head     string `json:"head,omitempty"`
	Branch   string `json:"branch,omitempty"`
	Dirty    bool   `json:"dirty"`
}

type detail struct {
	summary
	Body        string       `json:"body"`
	CreatedBy   string       `json:"created_by"`
	Comments    []comment    `json:"comments"`
	Links       []link       `json:"links"`
	Attachments []attachment `json:"attachments"`
	Deps        []depJSON    `json:"deps"`
	Relations   []relation   `json:"relations,omitempty"`
	EventCount  int          `json:"event_count"`
	Handoff     *handoffJSON `json:"handoff,omitempty"`
}

type eventJSON struct {
	EventID string                     `json:"event_id"`
	IssueID string                     `json:"issue_id"`
	Actor   string                     `json:"actor"`
	TS      uint64                     `json:"ts_unix_ms"`
	Parent  *string                    `json:"parent"`
	Kind    map[string]json.RawMessage `json:"kind"`
	Signed  bool                       `json:"signed"`
}

// kindName is the one key of an event's externally tagged kind.
func (e eventJSON) kindName() string {
	for k := range e.Kind {
		return k
	}
	return ""
}

type showOutput struct {
	Issue  detail      `json:"issue"`
	Events []eventJSON `json:"events"`
}

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
