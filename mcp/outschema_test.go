package mcp

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"grite/internal/testrepo"
	"grite/tools"
)

// schemas are one tool's outputSchema compiled whole and as its two
// branches alone.
type schemas struct {
	whole, success, failure *jsonschema.Schema
}

func compileSchema(t *testing.T, name string, raw []byte) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	url := "mem://" + name + ".json"
	if err := c.AddResource(url, doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	s, err := c.Compile(url)
	if err != nil {
		t.Fatalf("%s: schema does not compile: %v\n%s", name, err, raw)
	}
	return s
}

func outputSchemas(t *testing.T, d Definition) schemas {
	t.Helper()
	name := d.Tool.Name
	if len(d.Tool.RawOutputSchema) == 0 {
		t.Fatalf("%s: no outputSchema", name)
	}
	var top struct {
		Type  string            `json:"type"`
		AnyOf []json.RawMessage `json:"anyOf"`
	}
	if err := json.Unmarshal(d.Tool.RawOutputSchema, &top); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if top.Type != "object" || len(top.AnyOf) != 2 {
		t.Fatalf("%s: outputSchema is not {type: object, anyOf: [success, error]}:\n%s", name, d.Tool.RawOutputSchema)
	}
	return schemas{
		whole:   compileSchema(t, name, d.Tool.RawOutputSchema),
		success: compileSchema(t, name+"-success", top.AnyOf[0]),
		failure: compileSchema(t, name+"-error", top.AnyOf[1]),
	}
}

// cannotFail are the error codes a tool cannot produce, and why; every
// other one of invalid_args, not_found and conflict is run.
var cannotFail = map[string]map[tools.Code]string{
	"issue_create": {tools.CodeNotFound: "names nothing that must exist", tools.CodeConflict: "a new issue has no lock to meet"},
	"issue_show":   {tools.CodeConflict: "only reads"},
	"issue_list":   {tools.CodeConflict: "only reads"},
	"issue_ready":  {tools.CodeNotFound: "its filters name nothing that must exist", tools.CodeConflict: "only reads"},
	"lock_status":  {tools.CodeConflict: "only reads: conflicting locks are its answer, not an error"},
	"sync": {tools.CodeConflict: "only when concurrent pushers outlast the retry budget, which is timing: " +
		"e2e's sync convergence tests meet it; its error object has the shape every error has"},
	"whoami": {tools.CodeNotFound: "its one argument, max_chars, names nothing that must exist", tools.CodeConflict: "only reads"},
	"changes": {tools.CodeConflict: "only past MaxWaits waiting calls at once, which needs calls in flight: " +
		"e2e's TestMCPChangesWaits meets it, and checks that error against this schema"},
	"context": {tools.CodeConflict: "nothing it does meets a lock: a set writes no issue, and the reads hold none"},
}

// TestEveryResultMatchesItsOutputSchema runs every tool through the real
// handler against real git repositories, successes and each error it can
// give, and validates every structuredContent against the tool's declared
// outputSchema, and against the branch for its kind alone (success or
// error) but not the other's, so neither branch is vacuous.
func TestEveryResultMatchesItsOutputSchema(t *testing.T) {
	defs := definitionsByName(t)
	compiled := map[string]schemas{}
	for name, d := range defs {
		compiled[name] = outputSchemas(t, d)
		empty, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{}`))
		if compiled[name].success.Validate(empty) == nil {
			t.Errorf("%s: the success schema accepts {}", name)
		}
		if compiled[name].failure.Validate(empty) == nil {
			t.Errorf("%s: the error schema accepts {}", name)
		}
	}

	repo := testrepo.New(t)
	remote := testrepo.NewBare(t)
	testrepo.Git(t, repo, "remote", "add", "origin", remote)
	mine, err := New(Options{Repo: repo})
	if err != nil {
		t.Fatal(err)
	}
	other, err := New(Options{Repo: repo, ActorLabel: "other"})
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := New(Options{Repo: testrepo.New(t)}) // no issues, no remote
	if err != nil {
		t.Fatal(err)
	}
	me, them, empty := inProcess(t, mine, "schema-test"), inProcess(t, other, "other"), inProcess(t, fresh, "fresh")

	covered := map[string]map[tools.Code]bool{}
	// run calls tool, wants code ("" for success) and validates the
	// result; it returns the structured content.
	run := func(c *client.Client, tool string, args map[string]any, code tools.Code) map[string]any {
		t.Helper()
		res := callTool(t, c, tool, args)
		body := structured(t, res)
		if res.IsError != (code != "") || (code != "" && body["code"] != string(code)) {
			t.Fatalf("%s %v: isError %v, %v; want code %q", tool, args, res.IsError, body, code)
		}
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		s := compiled[tool]
		right, wrong := s.success, s.failure
		if code != "" {
			right, wrong = s.failure, s.success
		}
		if err := s.whole.Validate(v); err != nil {
			t.Errorf("%s %v: result does not match its outputSchema: %v\n%s", tool, args, err, raw)
		} else if err := right.Validate(v); err != nil {
			t.Errorf("%s %v: result does not match its branch: %v\n%s", tool, args, err, raw)
		}
		if wrong.Validate(v) == nil {
			t.Errorf("%s %v: the other branch accepts the result too\n%s", tool, args, raw)
		}
		if covered[tool] == nil {
			covered[tool] = map[tools.Code]bool{}
		}
		covered[tool][code] = true
		return body
	}
	id := func(body map[string]any) string {
		t.Helper()
		s, _ := body["issue_id"].(string)
		if s == "" {
			t.Fatalf("no issue_id in %v", body)
		}
		return s
	}
	const unknown = "abcd1234"

	// Empty answers: nothing in the repository, no remote.
	run(empty, "issue_list", nil, "")
	run(empty, "issue_ready", nil, "")
	run(empty, "lock_status", nil, "")
	run(empty, "whoami", nil, "")
	run(empty, "issue_show", map[string]any{"id": unknown}, tools.CodeNotFound)

	// Writes.
	a := id(run(me, "issue_create", map[string]any{"title": "a", "body": "first", "labels": []string{"bug"}, "assignees": []string{"ann"}}, ""))
	b := id(run(me, "issue_create", map[string]any{"title": "b"}, ""))
	held := id(run(me, "issue_create", map[string]any{"title": "held by the other actor"}, ""))
	closed := id(run(me, "issue_create", map[string]any{"title": "closed"}, ""))
	run(me, "issue_create", map[string]any{"title": "next ready"}, "")
	run(me, "issue_create", map[string]any{"title": ""}, tools.CodeInvalidArgs)
	run(me, "issue_update", map[string]any{"id": closed, "state": "closed", "add_labels": []string{"x"}}, "")
	run(me, "issue_update", map[string]any{"id": closed, "state": "closed"}, "") // unchanged
	run(me, "issue_update", map[string]any{"id": a, "state": "gone"}, tools.CodeInvalidArgs)
	run(me, "issue_update", map[string]any{"id": unknown, "title": "x"}, tools.CodeNotFound)
	run(me, "issue_comment", map[string]any{"id": a, "body": "one"}, "")
	run(me, "issue_comment", map[string]any{"id": a, "body": "two"}, "")
	run(me, "issue_comment", map[string]any{"id": a, "body": ""}, tools.CodeInvalidArgs)
	run(me, "issue_comment", map[string]any{"id": unknown, "body": "x"}, tools.CodeNotFound)
	run(me, "issue_comment", map[string]any{"id": a, "kind": "handoff", "done": "the parser", "next": "its tests", "blocker": "none"}, "")
	run(me, "issue_comment", map[string]any{"id": a, "kind": "handoff", "done": "no next"}, tools.CodeInvalidArgs)
	run(me, "issue_comment", map[string]any{"id": a, "body": "x", "done": "a comment with handoff fields"}, tools.CodeInvalidArgs)

	// Dependencies.
	run(me, "issue_dep", map[string]any{"id": a, "target": b, "type": "blocks", "action": "add"}, "")
	run(me, "issue_dep", map[string]any{"id": a, "target": b, "type": "blocks", "action": "add"}, "") // unchanged
	run(me, "issue_dep", map[string]any{"id": b, "target": a, "type": "blocks", "action": "add"}, tools.CodeConflict)
	run(me, "issue_dep", map[string]any{"id": a, "target": b, "type": "before", "action": "add"}, tools.CodeInvalidArgs)
	run(me, "issue_dep", map[string]any{"id": a, "target": unknown, "type": "blocks", "action": "add"}, tools.CodeNotFound)

	// Reads.
	run(me, "issue_show", map[string]any{"id": a, "comments_limit": 1}, "")
	run(me, "issue_show", map[string]any{"id": b}, "")
	run(me, "issue_show", map[string]any{"id": a, "comments_limit": 0}, tools.CodeInvalidArgs)
	run(me, "issue_show", map[string]any{"id": unknown}, tools.CodeNotFound)
	run(me, "issue_list", map[string]any{"limit": 1}, "")
	run(me, "issue_list", map[string]any{"state": "closed", "label": "x"}, "")
	run(me, "issue_list", map[string]any{"query": "no such text"}, "")
	run(me, "issue_list", map[string]any{"cursor": "x"}, tools.CodeInvalidArgs)
	run(me, "issue_list", map[string]any{"claimed_by": "nobody-of-this-clone"}, tools.CodeNotFound)
	run(me, "issue_ready", map[string]any{"label": "bug", "assignee": "ann", "limit": 5}, "")
	run(me, "issue_ready", map[string]any{"limit": 0}, tools.CodeInvalidArgs)

	// Claims and locks, some held by another actor of the same clone.
	run(them, "issue_claim", map[string]any{"id": held}, "")
	run(them, "lock", map[string]any{"action": "acquire", "resource": "path:theirs/"}, "")
	run(me, "issue_claim", map[string]any{"id": a, "ttl": "10m"}, "")
	run(me, "issue_claim", map[string]any{"id": a}, "") // already held: renewed
	run(me, "issue_claim", map[string]any{"next": true, "ttl": 600}, "")
	run(me, "issue_claim", map[string]any{"id": a, "ttl": "forever"}, tools.CodeInvalidArgs)
	run(me, "issue_claim", map[string]any{"id": unknown}, tools.CodeNotFound)
	run(me, "issue_claim", map[string]any{"id": held}, tools.CodeConflict)
	run(me, "issue_claim", map[string]any{"id": closed}, tools.CodeConflict)
	run(me, "issue_list", map[string]any{"claimed_by": "me"}, "")
	run(me, "whoami", nil, "")
	run(me, "whoami", map[string]any{"max_chars": 1000}, "")
	run(me, "whoami", map[string]any{"max_chars": 10}, tools.CodeInvalidArgs)
	run(me, "issue_release", map[string]any{"id": a}, "")
	run(me, "issue_release", map[string]any{"id": a}, "") // not held: still released
	run(me, "issue_release", map[string]any{"id": ""}, tools.CodeInvalidArgs)
	run(me, "issue_release", map[string]any{"id": unknown}, tools.CodeNotFound)
	run(me, "issue_release", map[string]any{"id": held}, tools.CodeConflict)
	run(me, "lock", map[string]any{"action": "acquire", "resource": "path:mine/", "ttl": "15m"}, "")
	run(me, "lock", map[string]any{"action": "renew", "resource": "path:mine/"}, "")
	run(me, "lock_status", nil, "")
	run(me, "lock_status", map[string]any{"resource": "path:theirs/sub"}, "")
	run(me, "lock_status", map[string]any{"resource": "issue:" + held}, "")
	run(me, "lock", map[string]any{"action": "release", "resource": "path:mine/"}, "")
	run(me, "lock", map[string]any{"action": "steal", "resource": "path:mine/"}, tools.CodeInvalidArgs)
	run(me, "lock", map[string]any{"action": "renew", "resource": "path:never/"}, tools.CodeNotFound)
	run(me, "lock", map[string]any{"action": "acquire", "resource": "path:theirs/"}, tools.CodeConflict)
	run(me, "lock_status", map[string]any{"resource": "nowhere"}, tools.CodeInvalidArgs)
	run(me, "lock_status", map[string]any{"resource": "issue:" + unknown}, tools.CodeNotFound)

	// A write on an issue another actor holds: a warning by default, a
	// conflict under lock_policy = "require".
	body := run(me, "issue_comment", map[string]any{"id": held, "body": "while held"}, "")
	if w, _ := body["warnings"].([]any); len(w) == 0 {
		t.Errorf("comment on an issue another actor holds: no warnings in %v", body)
	}
	config := filepath.Join(repo, ".git", "grite", "config.toml")
	if err := os.WriteFile(config, []byte("lock_policy = \"require\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(me, "issue_comment", map[string]any{"id": held, "body": "refused"}, tools.CodeConflict)
	run(me, "issue_update", map[string]any{"id": held, "title": "refused"}, tools.CodeConflict)
	if err := os.Remove(config); err != nil {
		t.Fatal(err)
	}

	// The change feed.
	feed := run(me, "changes", map[string]any{"limit": 2}, "")
	run(me, "changes", map[string]any{"since": feed["next_cursor"], "kinds": []string{"CommentAdded"}}, "")
	run(me, "changes", map[string]any{"since": "now", "wait_seconds": 0.01}, "")
	run(me, "changes", map[string]any{"since": "c1.nope"}, tools.CodeInvalidArgs)
	run(me, "changes", map[string]any{"wait_seconds": 61}, tools.CodeInvalidArgs)
	run(me, "changes", map[string]any{"issue": unknown}, tools.CodeNotFound)

	// The context store, over a file indexed by the CLI's operation.
	if err := os.WriteFile(filepath.Join(repo, "a.go"), []byte("package a\n\nfunc Alpha() {}\n\ntype Beta struct{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	testrepo.Git(t, repo, "add", "a.go")
	testrepo.Git(t, repo, "commit", "-q", "-m", "a.go")
	indexer, err := tools.Open(t.Context(), tools.OpenOptions{Dir: repo})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tools.ContextIndex.Call(t.Context(), indexer, tools.ContextIndexInput{}); err != nil {
		t.Fatal(err)
	}
	indexer.Close()
	run(empty, "context", map[string]any{"action": "query", "query": "Alpha"}, "")
	run(empty, "context", map[string]any{"action": "project"}, "")
	run(me, "context", map[string]any{"action": "query", "query": "a", "limit": 1}, "")
	run(me, "context", map[string]any{"action": "show", "path": "a.go", "limit": 1}, "")
	run(me, "context", map[string]any{"action": "set", "key": "build", "value": "go test ./..."}, "")
	run(me, "context", map[string]any{"action": "set", "key": "build", "value": "go test ./..."}, "") // unchanged
	run(me, "context", map[string]any{"action": "project"}, "")
	run(me, "context", map[string]any{"action": "project", "key": "build"}, "")
	run(me, "context", map[string]any{"action": "show", "path": "b.go"}, tools.CodeNotFound)
	run(me, "context", map[string]any{"action": "project", "key": "nope"}, tools.CodeNotFound)
	run(me, "context", map[string]any{"action": "set", "key": "build"}, tools.CodeInvalidArgs)
	run(me, "context", map[string]any{"action": "query", "query": "a", "path": "a.go"}, tools.CodeInvalidArgs)
	run(me, "context", map[string]any{"action": "delete"}, tools.CodeInvalidArgs)

	// Sync with a bare remote.
	run(me, "sync", map[string]any{"mode": "push"}, "")
	run(me, "sync", map[string]any{"mode": "pull", "remote": "origin"}, "")
	run(me, "sync", map[string]any{"mode": "full", "timeout_seconds": 30, "retry_budget_seconds": 0}, "")
	run(me, "sync", map[string]any{"mode": "push", "remote": "../elsewhere.git"}, tools.CodeInvalidArgs)
	run(me, "sync", map[string]any{"mode": "pull", "remote": "nope"}, tools.CodeNotFound)

	// Every tool refuses an argument it does not have.
	for name := range defs {
		run(me, name, map[string]any{"no_such_argument": true}, tools.CodeInvalidArgs)
	}

	var missing []string
	for name := range defs {
		for _, code := range []tools.Code{"", tools.CodeInvalidArgs, tools.CodeNotFound, tools.CodeConflict} {
			why, cannot := cannotFail[name][code]
			switch {
			case covered[name][code] && cannot:
				t.Errorf("%s gave %s, which cannotFail says it cannot: %s", name, code, why)
			case !covered[name][code] && !cannot:
				what := string(code)
				if code == "" {
					what = "success"
				}
				missing = append(missing, name+": "+what)
			}
		}
	}
	for name := range cannotFail {
		if _, ok := defs[name]; !ok {
			t.Errorf("cannotFail names %s, which is not a tool", name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("results not run through their output schemas (run them here, or say in cannotFail why a tool cannot give them):\n%s", strings.Join(missing, "\n"))
	}
}

// TestOutputSchemasCoverEveryResultField: every field of a tool's result
// type is a property of its success schema, required unless it may be
// left out (omitempty), and no list is declared as possibly null.
func TestOutputSchemasCoverEveryResultField(t *testing.T) {
	for _, d := range Definitions() {
		var top struct {
			AnyOf []struct {
				Properties map[string]json.RawMessage `json:"properties"`
				Required   []string                   `json:"required"`
			} `json:"anyOf"`
		}
		if err := json.Unmarshal(d.Tool.RawOutputSchema, &top); err != nil || len(top.AnyOf) != 2 {
			t.Fatalf("%s: outputSchema %s: %v", d.Tool.Name, d.Tool.RawOutputSchema, err)
		}
		ok := top.AnyOf[0]
		for _, f := range resultFields(d.Result) {
			if _, has := ok.Properties[f.name]; !has {
				t.Errorf("%s: result field %s is not in the output schema", d.Tool.Name, f.name)
			}
			if slices.Contains(ok.Required, f.name) == f.omitempty {
				t.Errorf("%s: field %s omitempty %v, required %v", d.Tool.Name, f.name, f.omitempty, !f.omitempty)
			}
		}
		if strings.Contains(string(d.Tool.RawOutputSchema), `"null","array"`) {
			t.Errorf("%s: a list may be null in %s", d.Tool.Name, d.Tool.RawOutputSchema)
		}
		if !d.ReadOnly && !slices.Contains(ok.Required, "repo") {
			t.Errorf("%s: a write's results always carry repo, its schema does not require it", d.Tool.Name)
		}
	}
}

// resultField is a json field of a struct (results and arguments alike).
type resultField struct {
	name      string
	omitempty bool
	typ       reflect.Type
}

func resultFields(rt reflect.Type) []resultField {
	var out []resultField
	for _, f := range reflect.VisibleFields(rt) {
		if f.Anonymous || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, resultField{name, slices.Contains(strings.Split(opts, ","), "omitempty"), f.Type})
	}
	return out
}

// nonNil gives a result's nil lists and maps as empty ones, nested ones
// included, without writing to the value it was given.
func TestNonNilFillsWithoutWritingTheOriginal(t *testing.T) {
	type inner struct {
		Tags []string       `json:"tags"`
		Meta map[string]any `json:"meta"`
	}
	type outer struct {
		Items []inner         `json:"items"`
		None  []inner         `json:"none"`
		Ptr   *inner          `json:"ptr"`
		Raw   json.RawMessage `json:"raw"`
	}
	shared := []inner{{}}
	p := &inner{}
	v := outer{Items: shared, Ptr: p}
	nonNil(reflect.ValueOf(&v).Elem())
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"items":[{"tags":[],"meta":{}}],"none":[],"ptr":{"tags":[],"meta":{}},"raw":null}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	if shared[0].Tags != nil || p.Tags != nil {
		t.Error("nonNil wrote to the value it was given")
	}
}
