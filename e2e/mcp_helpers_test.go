package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"grite/internal/testrepo"
)

// mcpCallTimeout bounds one request so that a hung server fails the test
// instead of the whole run.
const mcpCallTimeout = 2 * time.Minute

// lockedBuffer is a bytes.Buffer safe for the child's stderr copier and
// the test reading it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// mcpServer is one grite-mcp process spoken to through mcp-go's stdio client.
type mcpServer struct {
	c      *client.Client
	cmd    *exec.Cmd // the process, once started (for its PID)
	stderr *lockedBuffer
	args   []string
	closed bool
}

// mcpOptions start a server: its working directory, flags, extra
// environment and the name the client gives in initialize.
type mcpOptions struct {
	dir    string
	args   []string
	env    []string
	client string
}

// startMCP spawns grite-mcp and initializes a session. The process is
// closed at the end of the test, and it must then exit with status 0.
// It is safe to call from several goroutines once BuildBinaries ran.
func startMCP(t testing.TB, o mcpOptions) (*mcpServer, error) {
	bin := testrepo.BuildBinaries(t).MCP
	s := &mcpServer{stderr: &lockedBuffer{}, args: o.args}
	tr := transport.NewStdioWithOptions(bin, o.env, o.args, transport.WithCommandFunc(
		func(ctx context.Context, command string, env, args []string) (*exec.Cmd, error) {
			cmd := exec.CommandContext(ctx, command, args...)
			cmd.Dir = o.dir
			cmd.Env = append(testrepo.Env(), env...)
			cmd.Stderr = s.stderr
			s.cmd = cmd
			return cmd, nil
		}))
	s.c = client.NewClient(tr)
	if err := s.c.Start(context.Background()); err != nil {
		return nil, fmt.Errorf("start grite-mcp %v: %w", o.args, err)
	}
	t.Cleanup(func() { s.close(t) })
	name := o.client
	if name == "" {
		name = "e2e"
	}
	req := mcpgo.InitializeRequest{}
	req.Params.ClientInfo = mcpgo.Implementation{Name: name, Version: "1.0"}
	ctx, cancel := context.WithTimeout(context.Background(), mcpCallTimeout)
	defer cancel()
	if _, err := s.c.Initialize(ctx, req); err != nil {
		return nil, fmt.Errorf("initialize grite-mcp %v: %w\nstderr: %s", o.args, err, s.stderr.String())
	}
	return s, nil
}

// mustStartMCP is startMCP for the test's own goroutine.
func mustStartMCP(t testing.TB, o mcpOptions) *mcpServer {
	t.Helper()
	s, err := startMCP(t, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// close closes stdin and waits for the process: a clean shutdown is exit 0.
func (s *mcpServer) close(t testing.TB) {
	if s.closed {
		return
	}
	s.closed = true
	if err := s.c.Close(); err != nil {
		t.Errorf("grite-mcp %v did not exit cleanly after stdin closed: %v\nstderr: %s", s.args, err, s.stderr.String())
	}
}

// toolResult is a tool call's answer: isError, the structured content and
// the text beside it.
type toolResult struct {
	name    string
	isError bool
	data    json.RawMessage
	text    string
}

func (r toolResult) String() string {
	return fmt.Sprintf("%s: isError=%v\nstructured: %s\ntext: %s", r.name, r.isError, clip(string(r.data)), clip(r.text))
}

// toolError is the body of an isError result (docs/cli.md decision 2).
type toolError struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details"`
}

// errProtocol marks a JSON-RPC error (as opposed to an isError result).
var errProtocol = errors.New("protocol error")

// call invokes a tool; a JSON-RPC error is returned wrapped in errProtocol.
// Every result must carry structured content and one text content.
func (s *mcpServer) call(name string, args map[string]any) (toolResult, error) {
	req := mcpgo.CallToolRequest{}
	req.Params.Name = name
	if args != nil {
		req.Params.Arguments = args
	}
	ctx, cancel := context.WithTimeout(context.Background(), mcpCallTimeout)
	defer cancel()
	res, err := s.c.CallTool(ctx, req)
	if err != nil {
		return toolResult{}, fmt.Errorf("%s: %w: %w", name, errProtocol, err)
	}
	r := toolResult{name: name, isError: res.IsError, data: res.RawStructuredContent}
	if len(res.Content) != 1 {
		return r, fmt.Errorf("%s: %d content items, want 1 text", name, len(res.Content))
	}
	tc, ok := res.Content[0].(mcpgo.TextContent)
	if !ok || strings.TrimSpace(tc.Text) == "" {
		return r, fmt.Errorf("%s: content is not a non-empty text: %#v", name, res.Content[0])
	}
	r.text = tc.Text
	if len(r.data) == 0 || r.data[0] != '{' {
		return r, fmt.Errorf("%s: structured content is not an object: %s", name, r.data)
	}
	return r, nil
}

// tryOK calls a tool, requires success and decodes the structured content
// into out (when not nil). Safe from any goroutine.
func (s *mcpServer) tryOK(name string, args map[string]any, out any) (toolResult, error) {
	r, err := s.call(name, args)
	if err != nil {
		return r, err
	}
	if r.isError {
		return r, fmt.Errorf("want success\n%s", r)
	}
	if out != nil {
		if err := json.Unmarshal(r.data, out); err != nil {
			return r, fmt.Errorf("decode %s: %v\n%s", name, err, r)
		}
	}
	return r, nil
}

// ok is tryOK for the test's own goroutine.
func (s *mcpServer) ok(t testing.TB, name string, args map[string]any, out any) toolResult {
	t.Helper()
	r, err := s.tryOK(name, args, out)
	if err != nil {
		t.Fatalf("%v\nstderr: %s", err, clip(s.stderr.String()))
	}
	return r
}

// tryFail calls a tool and requires an isError result with code; it
// returns the error body. Safe from any goroutine.
func (s *mcpServer) tryFail(name string, args map[string]any, code string) (toolError, error) {
	r, err := s.call(name, args)
	if err != nil {
		return toolError{}, err
	}
	return r.errorBody(code)
}

// errorBody requires r to be an isError result with code whose structured
// content and text are both the error object {code, message, details}.
func (r toolResult) errorBody(code string) (toolError, error) {
	var e toolError
	if !r.isError {
		return e, fmt.Errorf("want isError %s\n%s", code, r)
	}
	if err := json.Unmarshal(r.data, &e); err != nil {
		return e, fmt.Errorf("decode error body: %v\n%s", err, r)
	}
	var text toolError
	if err := json.Unmarshal([]byte(r.text), &text); err != nil || text.Code != e.Code {
		return e, fmt.Errorf("text is not the error object\n%s", r)
	}
	if e.Code != code || e.Message == "" {
		return e, fmt.Errorf("want code %s with a message\n%s", code, r)
	}
	var keys map[string]json.RawMessage
	json.Unmarshal(r.data, &keys)
	for k := range keys {
		if k != "code" && k != "message" && k != "details" {
			return e, fmt.Errorf("error body has key %q besides code, message, details\n%s", k, r)
		}
	}
	return e, nil
}

// fail is tryFail for the test's own goroutine; it also checks that no
// suggestion is destructive.
func (s *mcpServer) fail(t *testing.T, name string, args map[string]any, code string) toolError {
	t.Helper()
	e, err := s.tryFail(name, args, code)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(e.Details["suggestions"])
	requireSafeSuggestions(t, string(b))
	return e
}

// toolNames lists the tools the server offers, sorted.
func (s *mcpServer) toolNames(t testing.TB) []string {
	t.Helper()
	var names []string
	for _, tool := range s.tools(t) {
		names = append(names, tool.Name)
	}
	return sorted(names)
}

func (s *mcpServer) tools(t testing.TB) []mcpgo.Tool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), mcpCallTimeout)
	defer cancel()
	res, err := s.c.ListTools(ctx, mcpgo.ListToolsRequest{})
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	return res.Tools
}

// mcpWhoAmI is the whoami result.
type mcpWhoAmI struct {
	Repo           string `json:"repo"`
	ActorID        string `json:"actor_id"`
	Label          string `json:"label"`
	ActorSource    string `json:"actor_source"`
	WALHead        string `json:"wal_head"`
	UnpushedEvents int    `json:"unpushed_events"`
	Remote         string `json:"remote"`
	Claims         []struct {
		IssueID       string `json:"issue_id"`
		Title         string `json:"title"`
		ExpiresUnixMS uint64 `json:"expires_unix_ms"`
	} `json:"claims"`
}

// mcpWrite is a write tool's result (the CLI's data plus repo).
type mcpWrite struct {
	IssueID string `json:"issue_id"`
	EventID string `json:"event_id"`
	State   string `json:"state"`
	WALHead string `json:"wal_head"`
	Repo    string `json:"repo"`
}

type mcpList struct {
	Issues     []summary `json:"issues"`
	Total      int       `json:"total"`
	HasMore    bool      `json:"has_more"`
	NextCursor *string   `json:"next_cursor"`
}

type mcpShow struct {
	Issue              detail  `json:"issue"`
	CommentsTotal      int     `json:"comments_total"`
	CommentsHasMore    bool    `json:"comments_has_more"`
	CommentsNextCursor *string `json:"comments_next_cursor"`
}

type mcpClaim struct {
	IssueID       string `json:"issue_id"`
	AlreadyHeld   bool   `json:"already_held"`
	Owner         string `json:"owner"`
	Assignee      string `json:"assignee"`
	ExpiresUnixMS uint64 `json:"expires_unix_ms"`
	Repo          string `json:"repo"`
}

// createIssue makes an issue through the server and returns its ID.
func (s *mcpServer) createIssue(title string) (string, error) {
	var w mcpWrite
	if _, err := s.tryOK("issue_create", map[string]any{"title": title}, &w); err != nil {
		return "", err
	}
	if len(w.IssueID) != 32 {
		return "", fmt.Errorf("issue_create returned %+v", w)
	}
	return w.IssueID, nil
}

// atOnce runs fn(i) for i < n on n goroutines released together, and
// reports every error on the test.
func atOnce(t *testing.T, n int, fn func(i int) error) {
	t.Helper()
	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("goroutine %d: %v", i, err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}
