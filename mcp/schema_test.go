package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"grite/internal/testrepo"
	"grite/prompts"
	"grite/tools"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// toolNames is the issue's tool set, exactly.
var toolNames = []string{
	"issue_create", "issue_update", "issue_comment", "issue_show", "issue_list",
	"issue_ready", "issue_claim", "issue_release", "issue_dep", "lock",
	"lock_status", "sync", "whoami", "changes", "context",
}

// readOnlyTools are the tools that may be offered under --read-only.
var readOnlyTools = []string{"issue_show", "issue_list", "issue_ready", "lock_status", "whoami", "changes"}

func definitionsByName(t *testing.T) map[string]Definition {
	t.Helper()
	m := map[string]Definition{}
	for _, d := range Definitions() {
		if _, dup := m[d.Tool.Name]; dup {
			t.Fatalf("tool %s defined twice", d.Tool.Name)
		}
		m[d.Tool.Name] = d
	}
	return m
}

func TestToolsAreExactlyTheIssueSet(t *testing.T) {
	var got []string
	for _, d := range Definitions() {
		got = append(got, d.Tool.Name)
	}
	if !slices.Equal(sorted(got), sorted(toolNames)) {
		t.Fatalf("tools %v\nwant %v", sorted(got), sorted(toolNames))
	}
}

// TestToolDefinitionsMatchGolden snapshots every tool's whole definition
// (name, title, description, inputSchema, annotations) as clients see it in
// tools/list. Run with -update to rewrite, then review the diff.
func TestToolDefinitionsMatchGolden(t *testing.T) {
	dir := filepath.Join("testdata", "tools")
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]bool{}
	for _, d := range Definitions() {
		name := d.Tool.Name + ".json"
		want[name] = true
		b, err := json.MarshalIndent(d.Tool, "", "  ")
		if err != nil {
			t.Fatalf("%s: %v", d.Tool.Name, err)
		}
		b = append(b, '\n')
		path := filepath.Join(dir, name)
		if *update {
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		golden, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./mcp -run Golden -update)", err)
		}
		if !bytes.Equal(golden, b) {
			t.Errorf("%s differs from %s (run with -update and review the diff)\ngot:\n%s", d.Tool.Name, path, b)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !want[e.Name()] {
			if *update {
				os.Remove(filepath.Join(dir, e.Name()))
				continue
			}
			t.Errorf("stale golden file %s: no tool of that name", filepath.Join(dir, e.Name()))
		}
	}
}

// TestEveryToolSetsEveryHintExplicitly guards against mcp-go's defaults
// (destructive and open-world true, read-only false) leaking into a tool
// whose annotations were forgotten: each hint is compared with what the
// tool really does.
func TestEveryToolSetsEveryHintExplicitly(t *testing.T) {
	idempotent := map[string]bool{
		"issue_update": true, "issue_release": true, "issue_dep": true,
		"issue_show": true, "issue_list": true, "issue_ready": true, "lock_status": true, "whoami": true,
		"changes": true, "context": true,
	}
	for _, d := range Definitions() {
		name, a := d.Tool.Name, d.Tool.Annotations
		if d.Tool.Title == "" || a.Title == "" {
			t.Errorf("%s: no title (tool %q, annotation %q)", name, d.Tool.Title, a.Title)
		}
		if d.Tool.Description == "" {
			t.Errorf("%s: no description", name)
		}
		hints := map[string]*bool{"readOnlyHint": a.ReadOnlyHint, "destructiveHint": a.DestructiveHint, "idempotentHint": a.IdempotentHint, "openWorldHint": a.OpenWorldHint}
		for h, v := range hints {
			if v == nil {
				t.Errorf("%s: %s not set", name, h)
			}
		}
		if t.Failed() {
			continue
		}
		wantRO := slices.Contains(readOnlyTools, name)
		if *a.ReadOnlyHint != wantRO || d.ReadOnly != wantRO {
			t.Errorf("%s: readOnlyHint %v, Definition.ReadOnly %v, want %v", name, *a.ReadOnlyHint, d.ReadOnly, wantRO)
		}
		if *a.DestructiveHint {
			t.Errorf("%s: destructiveHint true; nothing grite does deletes data", name)
		}
		if *a.OpenWorldHint != (name == "sync") {
			t.Errorf("%s: openWorldHint %v, want true only for sync", name, *a.OpenWorldHint)
		}
		if *a.IdempotentHint != idempotent[name] {
			t.Errorf("%s: idempotentHint %v, want %v", name, *a.IdempotentHint, idempotent[name])
		}
	}
}

// TestEveryInputPropertyIsDescribed: models pick arguments from the schema
// alone, so each property says what it is, closed sets are enums and the
// arguments a call cannot do without are required.
func TestEveryInputPropertyIsDescribed(t *testing.T) {
	enums := map[string][]string{
		"issue_update.state": {"open", "closed"},
		"issue_list.state":   {"open", "closed"},
		"issue_dep.type":     {"blocks", "depends_on", "related_to"},
		"issue_dep.action":   {"add", "remove"},
		"lock.action":        {"acquire", "renew", "release"},
		"sync.mode":          {"full", "pull", "push"},
		"issue_comment.kind": {"comment", "handoff"},
		"context.action":     {"query", "show", "project", "set"},
	}
	required := map[string][]string{
		"issue_create": {"title"}, "issue_update": {"id"}, "issue_comment": {"id"}, // body, or a handoff's done and next
		"issue_show": {"id"}, "issue_release": {"id"}, "issue_dep": {"id", "target", "type", "action"},
		"lock": {"action", "resource"}, "sync": {"mode"}, "context": {"action"},
	}
	for _, d := range Definitions() {
		name, schema := d.Tool.Name, d.Tool.InputSchema
		if schema.Type != "object" {
			t.Errorf("%s: input schema type %q", name, schema.Type)
		}
		for prop, v := range schema.Properties {
			p, _ := v.(map[string]any)
			if desc, _ := p["description"].(string); strings.TrimSpace(desc) == "" {
				t.Errorf("%s.%s: no description", name, prop)
			}
			got, _ := p["enum"].([]string)
			if want, ok := enums[name+"."+prop]; ok && !slices.Equal(got, want) {
				t.Errorf("%s.%s: enum %v, want %v", name, prop, got, want)
			} else if !ok && got != nil {
				t.Errorf("%s.%s: unexpected enum %v (add it to this test)", name, prop, got)
			}
		}
		if !slices.Equal(sorted(schema.Required), sorted(required[name])) {
			t.Errorf("%s: required %v, want %v", name, schema.Required, required[name])
		}
		for _, r := range schema.Required {
			if _, ok := schema.Properties[r]; !ok {
				t.Errorf("%s: required %q is not a property", name, r)
			}
		}
	}
}

// TestInputSchemasCompileAndAcceptExamples compiles every input schema as
// JSON Schema (2020-12, what MCP uses) and checks that a typical call is
// valid and that a call missing a required argument is not.
func TestInputSchemasCompileAndAcceptExamples(t *testing.T) {
	id := "0123456789abcdef0123456789abcdef"
	examples := map[string]string{
		"issue_create":  `{"title":"t","body":"b","labels":["bug"],"assignees":["me"]}`,
		"issue_update":  `{"id":"` + id + `","state":"closed","add_labels":["x"]}`,
		"issue_comment": `{"id":"0123","body":"hi"}`,
		"issue_show":    `{"id":"0123","comments_limit":10,"comments_cursor":"50"}`,
		"issue_list":    `{"state":"open","limit":2,"cursor":"2","query":"x"}`,
		"issue_ready":   `{"label":"bug","assignee":"me","limit":5}`,
		"issue_claim":   `{"next":true,"ttl":"30m"}`,
		"issue_release": `{"id":"0123"}`,
		"issue_dep":     `{"id":"0123","target":"4567","type":"blocks","action":"add"}`,
		"lock":          `{"action":"acquire","resource":"repo:global","ttl":60}`,
		"lock_status":   `{"resource":"path:src/"}`,
		"sync":          `{"mode":"full","remote":"origin"}`,
		"whoami":        `{}`,
		"changes":       `{"since":"now","issue":"0123","kinds":["CommentAdded"],"limit":10,"wait_seconds":30}`,
		"context":       `{"action":"query","query":"Parse","limit":20,"cursor":"20"}`,
	}
	for _, d := range Definitions() {
		name := d.Tool.Name
		raw, err := json.Marshal(d.Tool.InputSchema)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sch := compileSchema(t, name, raw)
		ex, ok := examples[name]
		if !ok {
			t.Errorf("%s: no example call in this test", name)
			continue
		}
		v, _ := jsonschema.UnmarshalJSON(strings.NewReader(ex))
		if err := sch.Validate(v); err != nil {
			t.Errorf("%s: example %s rejected: %v", name, ex, err)
		}
		if len(d.Tool.InputSchema.Required) > 0 {
			v, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{}`))
			if sch.Validate(v) == nil {
				t.Errorf("%s: {} accepted although %v are required", name, d.Tool.InputSchema.Required)
			}
		}
	}
}

// TestToolsListFitsIn16KB measures the tools/list response as it goes over
// the wire. What a model reads of it (names, descriptions, input schemas,
// annotations) is loaded into every conversation and stays within 16 KB.
// The output schemas are for the client, which validates or types results
// with them (hosts do not hand them to the model); with them the whole
// response stays within 32 KB.
func TestToolsListFitsIn16KB(t *testing.T) {
	s, err := New(Options{Repo: testrepo.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	resp := s.MCPServer().HandleMessage(context.Background(), []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`))
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	var parsed struct {
		JSONRPC string `json:"jsonrpc"`
		ID      any    `json:"id"`
		Result  struct {
			Tools []map[string]json.RawMessage `json:"tools"`
		} `json:"result"`
	}
	if err := json.Unmarshal(b, &parsed); err != nil || len(parsed.Result.Tools) != len(toolNames) {
		t.Fatalf("tools/list: %v\n%s", err, b)
	}
	for _, tool := range parsed.Result.Tools {
		if len(tool["outputSchema"]) == 0 {
			t.Errorf("tool %s: no outputSchema in tools/list", tool["name"])
		}
		delete(tool, "outputSchema")
	}
	forModel, err := json.Marshal(parsed)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("tools/list response: %d bytes, %d without output schemas", len(b), len(forModel))
	if len(forModel) > 16*1024 {
		t.Errorf("tools/list response without output schemas is %d bytes, limit 16384", len(forModel))
	}
	if len(b) > 32*1024 {
		t.Errorf("tools/list response is %d bytes, limit 32768", len(b))
	}
}

// TestPromptsNameOnlyExistingTools: every identifier in the prompts that
// looks like a tool (snake_case words, and `lock`, `sync`, `whoami` in
// backticks) is a tool, or else an argument, enum value, result field or
// error code that the tools really have.
func TestPromptsNameOnlyExistingTools(t *testing.T) {
	defs := definitionsByName(t)
	other := map[string]bool{}
	for _, d := range defs {
		for prop, v := range d.Tool.InputSchema.Properties {
			other[prop] = true
			p, _ := v.(map[string]any)
			enum, _ := p["enum"].([]string)
			for _, e := range enum {
				other[e] = true
			}
		}
	}
	for _, v := range []any{tools.SyncOutput{}, tools.WhoAmIOutput{}, tools.ClaimOutput{}, tools.WriteResult{}, pagedList{}, pagedShow{}} {
		for _, f := range jsonFields(reflect.TypeOf(v)) {
			other[f] = true
		}
	}
	for _, c := range tools.Codes {
		other[string(c)] = true
	}
	snake := regexp.MustCompile(`\b[a-z]+_[a-z_]+\b`)
	single := regexp.MustCompile("`(lock|sync|whoami)`")
	texts := map[string]string{"workflow.md": prompts.Workflow, "handoff.md": prompts.Handoff, "instructions": prompts.Instructions}
	for file, text := range texts {
		mentioned := 0
		for _, w := range snake.FindAllString(text, -1) {
			if _, ok := defs[w]; ok {
				mentioned++
				continue
			}
			if !other[w] {
				t.Errorf("%s mentions %q: not a tool (nor an argument, enum value, result field or error code)", file, w)
			}
		}
		for _, m := range single.FindAllStringSubmatch(text, -1) {
			if _, ok := defs[m[1]]; !ok {
				t.Errorf("%s mentions tool %q, which does not exist", file, m[1])
			}
			mentioned++
		}
		if mentioned == 0 {
			t.Errorf("%s mentions no tool at all", file)
		}
	}
}

func jsonFields(rt reflect.Type) []string {
	var out []string
	for i := range rt.NumField() {
		f := rt.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestInputSchemasMatchTheArgumentStructs: every tool's inputSchema
// declares exactly the json fields of the struct its arguments decode into
// (Definition.Args), each with the JSON type that struct accepts, so the
// schema a model reads and the decoding cannot drift apart: an argument
// the schema offers is never refused as unknown, and one it does not
// offer is never quietly accepted.
func TestInputSchemasMatchTheArgumentStructs(t *testing.T) {
	for _, d := range Definitions() {
		name := d.Tool.Name
		if d.Args == nil || d.Args.Kind() != reflect.Struct {
			t.Errorf("%s: arguments decode into %v, not a struct", name, d.Args)
			continue
		}
		fields := map[string]string{}
		for _, f := range resultFields(d.Args) {
			fields[f.name] = argType(t, f.typ)
		}
		props := map[string]string{}
		for prop, v := range d.Tool.InputSchema.Properties {
			props[prop] = schemaType(v)
		}
		for prop, typ := range props {
			want, ok := fields[prop]
			switch {
			case !ok:
				t.Errorf("%s: the schema offers %q, which %s has no field for: a call with it is refused", name, prop, d.Args)
			case want != typ:
				t.Errorf("%s.%s: schema type %s, %s decodes %s", name, prop, typ, d.Args, want)
			}
		}
		for field := range fields {
			if _, ok := props[field]; !ok {
				t.Errorf("%s: %s decodes %q, which the schema does not offer", name, d.Args, field)
			}
		}
	}
}

// argType is the JSON a field of type rt decodes, as a schema type: an
// array's item type follows it ("array of string").
func argType(t *testing.T, rt reflect.Type) string {
	if rt == reflect.TypeFor[ttlArg]() {
		return "string|number" // ttlArg.UnmarshalJSON
	}
	if rt.Implements(reflect.TypeFor[json.Unmarshaler]()) || reflect.PointerTo(rt).Implements(reflect.TypeFor[json.Unmarshaler]()) {
		t.Errorf("argument type %v decodes its own JSON: say here which types it accepts", rt)
	}
	switch rt.Kind() {
	case reflect.Pointer:
		return argType(t, rt.Elem())
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array of " + argType(t, rt.Elem())
	}
	return "object"
}

// schemaType is a property's type as argType words it.
func schemaType(v any) string {
	p, _ := v.(map[string]any)
	var typ string
	switch x := p["type"].(type) {
	case string:
		typ = x
	case []string:
		typ = strings.Join(x, "|")
	case []any:
		var parts []string
		for _, s := range x {
			parts = append(parts, fmt.Sprint(s))
		}
		typ = strings.Join(parts, "|")
	}
	if typ == "array" {
		typ += " of " + schemaType(p["items"])
	}
	return typ
}
