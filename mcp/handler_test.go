package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"grite/internal/testrepo"
	"grite/tools"
)

// inProcess serves s to an in-process mcp-go client that has initialized
// as clientName.
func inProcess(t *testing.T, s *Server, clientName string) *client.Client {
	t.Helper()
	c, err := client.NewInProcessClient(s.MCPServer())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	req := mcpgo.InitializeRequest{}
	req.Params.ClientInfo = mcpgo.Implementation{Name: clientName, Version: "test"}
	if _, err := c.Initialize(ctx, req); err != nil {
		t.Fatal(err)
	}
	return c
}

func callTool(t *testing.T, c *client.Client, name string, args map[string]any) *mcpgo.CallToolResult {
	t.Helper()
	req := mcpgo.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	res, err := c.CallTool(context.Background(), req)
	if err != nil {
		t.Fatalf("%s: protocol error %v", name, err)
	}
	return res
}

func structured(t *testing.T, res *mcpgo.CallToolResult) map[string]any {
	t.Helper()
	var m map[string]any
	raw := res.RawStructuredContent
	if len(raw) == 0 {
		var err error
		if raw, err = json.Marshal(res.StructuredContent); err != nil {
			t.Fatal(err)
		}
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("structured content %s: %v", raw, err)
	}
	return m
}

// TestPanicInToolBecomesInternalErrorResult adds a tool whose operation
// panics through the same adapter the real tools use: the call answers
// isError with internal_error, and the server (its mutex included) keeps
// serving.
func TestPanicInToolBecomesInternalErrorResult(t *testing.T) {
	s, err := New(Options{Repo: testrepo.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	boom := Definition{
		Tool: mcpgo.NewTool("boom", mcpgo.WithDescription("panics")),
		Call: func(ctx context.Context, _ *tools.Session, _ json.RawMessage) (any, string, error) {
			var m map[string]int
			//lint:ignore SA5000 a nil map write: the real runtime panic this test needs
			m["x"] = 1
			return nil, "", nil
		},
	}
	s.MCPServer().AddTool(boom.Tool, s.handler(boom))
	c := inProcess(t, s, "panic-test")

	for range 2 { // twice: the first panic must not leave the session locked
		res := callTool(t, c, "boom", nil)
		if !res.IsError {
			t.Fatalf("panic answered without isError: %+v", res)
		}
		body := structured(t, res)
		if body["code"] != string(tools.CodeInternal) || !strings.Contains(body["message"].(string), "boom") {
			t.Fatalf("panic result %v, want code internal_error naming the tool", body)
		}
	}
	res := callTool(t, c, "whoami", nil)
	if res.IsError {
		t.Fatalf("whoami after a panic: %+v", structured(t, res))
	}
	if got := structured(t, res)["label"]; got != "panic-test" {
		t.Fatalf("whoami label %v, want the client's name", got)
	}
}

// TestFailedFirstCallDoesNotCreateASecondActor: when opening the view fails
// after the session's actor was created, the next call reuses that actor.
func TestFailedFirstCallDoesNotCreateASecondActor(t *testing.T) {
	dir := testrepo.New(t)
	s, err := New(Options{Repo: dir})
	if err != nil {
		t.Fatal(err)
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel() // opening the view fails on a canceled context
	if _, err := s.sessionLocked(canceled, "agent"); err == nil {
		t.Fatal("opening a session with a canceled context succeeded")
	}
	sess, err := s.sessionLocked(context.Background(), "agent")
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	list, err := tools.ActorList.Call(context.Background(), sess, tools.NoInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Actors) != 1 {
		t.Fatalf("%d actors after a failed and a good first call, want 1: %+v", len(list.Actors), list.Actors)
	}
}

// TestErrorResultCarriesCodeMessageDetails: a user-fixable failure is an
// isError result whose structured content and text are the CLI's error
// object, not a protocol error.
func TestErrorResultCarriesCodeMessageDetails(t *testing.T) {
	s, err := New(Options{Repo: testrepo.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	c := inProcess(t, s, "errors-test")
	res := callTool(t, c, "issue_show", map[string]any{"id": "abcd1234"})
	body := structured(t, res)
	if !res.IsError || body["code"] != "not_found" || body["message"] == "" {
		t.Fatalf("unknown issue: isError %v body %v", res.IsError, body)
	}
	details, _ := body["details"].(map[string]any)
	if details["issue_id"] != "abcd1234" {
		t.Fatalf("details %v, want issue_id", details)
	}
	text := res.Content[0].(mcpgo.TextContent).Text
	var fromText map[string]any
	if err := json.Unmarshal([]byte(text), &fromText); err != nil || fromText["code"] != "not_found" {
		t.Fatalf("text %q is not the error object", text)
	}
}

// TestSyncRefusesRemotesThatNameAnotherRepository: the session's repository
// is fixed, so sync takes only configured remote names, never a path or URL.
func TestSyncRefusesRemotesThatNameAnotherRepository(t *testing.T) {
	s, err := New(Options{Repo: testrepo.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	c := inProcess(t, s, "sync-test")
	for _, remote := range []string{"../other.git", "/tmp/x.git", "file:///tmp/x", "git://127.0.0.1/x", "--upload-pack=true", ".."} {
		res := callTool(t, c, "sync", map[string]any{"mode": "push", "remote": remote})
		body := structured(t, res)
		if !res.IsError || body["code"] != "invalid_args" {
			t.Errorf("remote %q: isError %v body %v, want invalid_args", remote, res.IsError, body)
		}
	}
	res := callTool(t, c, "sync", map[string]any{"mode": "pull", "remote": "nope"})
	if body := structured(t, res); body["code"] != "not_found" {
		t.Errorf("unknown remote name: %v, want not_found", body)
	}
}

// An error's text is read as text: a cycle "a -> b -> a" arrives with its
// arrows, not as "-\u003e".
func TestErrorTextKeepsArrows(t *testing.T) {
	res := errorResult(&tools.Error{Code: tools.CodeConflict, Message: "dependency would create a cycle: a -> b -> a"})
	text := res.Content[0].(mcpgo.TextContent).Text
	if !strings.Contains(text, "a -> b -> a") || strings.Contains(text, `\u003e`) {
		t.Fatalf("error text %q", text)
	}
}

// The next steps in an MCP error name the tool and argument an MCP client
// has, not the command line's flags: an unknown remote says "Pass remote:
// NAME", a closed issue says to reopen it with issue_update.
func TestErrorSuggestionsNameMCPTools(t *testing.T) {
	repo := testrepo.New(t)
	s, err := New(Options{Repo: repo})
	if err != nil {
		t.Fatal(err)
	}
	c := inProcess(t, s, "hints-test")
	created := structured(t, callTool(t, c, "issue_create", map[string]any{"title": "done"}))
	id, _ := created["issue_id"].(string)
	callTool(t, c, "issue_update", map[string]any{"id": id, "state": "closed"})
	for _, tc := range []struct {
		tool    string
		args    map[string]any
		want    string
		notWant string
	}{
		{"sync", map[string]any{"mode": "pull", "remote": "nope"}, "Pass remote: NAME", "--remote"},
		{"issue_claim", map[string]any{"id": id}, "Reopen it first with issue_update", "grite issue reopen"},
	} {
		res := callTool(t, c, tc.tool, tc.args)
		text := res.Content[0].(mcpgo.TextContent).Text
		details, _ := structured(t, res)["details"].(map[string]any)
		got := fmt.Sprint(details["suggestions"])
		for _, s := range []string{text, got} {
			if !strings.Contains(s, tc.want) || strings.Contains(s, tc.notWant) {
				t.Errorf("%s: %q, want %q and no %q", tc.tool, s, tc.want, tc.notWant)
			}
		}
	}
}

// Every CLI phrase the MCP wording replaces is still said by tools/, so a
// reworded hint there does not silently reach MCP clients as a CLI hint.
func TestCLIPhrasesForMCPStillExist(t *testing.T) {
	files, err := filepath.Glob("../tools/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("tools sources: %v", err)
	}
	var src strings.Builder
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src.Write(b)
	}
	for i := 0; i < len(cliToMCP); i += 2 {
		if !strings.Contains(src.String(), cliToMCP[i]) {
			t.Errorf("tools/ no longer says %q", cliToMCP[i])
		}
	}
}

// TestReadOnlyServerOffersContextWithoutSet: under --read-only the
// context tool stays, read-only (its hint says so, action set is not in
// its schema), and a set is refused with invalid_args, writing nothing;
// its results match its own output schema.
func TestReadOnlyServerOffersContextWithoutSet(t *testing.T) {
	repo := testrepo.New(t)
	s, err := New(Options{Repo: repo, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	c := inProcess(t, s, "read-only")
	list, err := c.ListTools(context.Background(), mcpgo.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var tool *mcpgo.Tool
	for i := range list.Tools {
		if list.Tools[i].Name == "context" {
			tool = &list.Tools[i]
		}
	}
	if tool == nil {
		t.Fatal("no context tool under --read-only")
	}
	if ro := tool.Annotations.ReadOnlyHint; ro == nil || !*ro {
		t.Fatal("context offered under --read-only without readOnlyHint")
	}
	action, _ := tool.InputSchema.Properties["action"].(map[string]any)
	if enum, _ := action["enum"].([]any); fmt.Sprint(enum) != "[query show project]" {
		t.Fatalf("read-only actions %v", action["enum"])
	}
	if _, has := tool.InputSchema.Properties["value"]; has {
		t.Fatal("read-only context tool has a value argument")
	}
	variant := contextDefinition().ReadOnlyVariant
	if variant == nil || !variant.ReadOnly {
		t.Fatal("the context tool has no read-only variant")
	}
	sch := compileSchema(t, "context-read-only", variant.Tool.RawOutputSchema)
	check := func(res *mcpgo.CallToolResult) map[string]any {
		t.Helper()
		body := structured(t, res)
		raw, _ := json.Marshal(body)
		v, _ := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err := sch.Validate(v); err != nil {
			t.Errorf("result does not match the read-only tool's output schema: %v\n%s", err, raw)
		}
		return body
	}
	res := callTool(t, c, "context", map[string]any{"action": "set", "key": "k", "value": "v"})
	if body := check(res); !res.IsError || body["code"] != "invalid_args" || !strings.Contains(fmt.Sprint(body["message"]), "read-only") {
		t.Fatalf("set under --read-only: %v", body)
	}
	if res := callTool(t, c, "context", map[string]any{"action": "project"}); res.IsError {
		t.Fatalf("project under --read-only: %v", check(res))
	} else if body := check(res); body["entries"] != nil {
		t.Fatalf("a refused set wrote: %v", body)
	}
	if out := testrepo.Git(t, repo, "for-each-ref", "refs/grite/wal"); out != "" {
		t.Fatalf("a read-only session wrote the WAL: %s", out)
	}
}

// AfterFirstCall runs once, after the first tool call was handled, and
// not before: not at the handshake, not again at later calls.
func TestAfterFirstCallRunsOnceAfterTheFirstCall(t *testing.T) {
	var runs atomic.Int32
	s, err := New(Options{Repo: testrepo.New(t), AfterFirstCall: func() { runs.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	c := inProcess(t, s, "first-call")
	if n := runs.Load(); n != 0 {
		t.Fatalf("ran %d times before any call", n)
	}
	for i := range 3 {
		callTool(t, c, "whoami", map[string]any{})
		if n := runs.Load(); n != 1 {
			t.Fatalf("after call %d: ran %d times, want once", i+1, n)
		}
	}
}
