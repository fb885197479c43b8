package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// startedWaits counts the waits the server has begun (its debug log).
func startedWaits(s *mcpServer) int {
	return strings.Count(s.stderr.String(), "running without the session")
}

// untilWaits polls the server's log until n waits have begun.
func untilWaits(t testing.TB, s *mcpServer, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for startedWaits(s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d waits began, want %d\nstderr: %s", startedWaits(s), n, clip(s.stderr.String()))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func callWith(ctx context.Context, s *mcpServer, args map[string]any, meta *mcpgo.Meta) (*mcpgo.CallToolResult, error) {
	req := mcpgo.CallToolRequest{}
	req.Params.Name = "changes"
	req.Params.Arguments = args
	req.Params.Meta = meta
	return s.c.CallTool(ctx, req)
}

// A waiting changes call over the real protocol: it does not hold up the
// session's other calls, another process's write wakes it, it reports
// progress to a client that asked, at most MaxWaits (4) run at once and the
// next is refused with an error its outputSchema describes, and a
// cancelled wait ends (its place is free again).
func TestMCPChangesWaits(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	issue := create(t, dir, "watched")
	s := mustStartMCP(t, mcpOptions{dir: dir, args: []string{"--log-level", "debug"}})
	var now struct {
		NextCursor string `json:"next_cursor"`
	}
	s.ok(t, "changes", map[string]any{"since": "now"}, &now)

	got := make(chan toolResult, 1)
	// wait starts a changes call waiting after the latest cursor.
	wait := func() {
		go func() {
			r, err := s.tryOK("changes", map[string]any{"since": now.NextCursor, "wait_seconds": 60}, nil)
			if err != nil {
				t.Error(err)
			}
			got <- r
		}()
	}
	wait()
	untilWaits(t, s, 1)
	// The session answers while its wait goes on (it would block here
	// until the wait timed out if the wait held the session).
	s.ok(t, "issue_list", nil, nil)
	s.ok(t, "issue_comment", map[string]any{"id": issue, "body": "from the session"}, nil)
	var woke struct {
		Events []struct {
			Summary string `json:"summary"`
		} `json:"events"`
	}
	select {
	case r := <-got:
		if err := json.Unmarshal(r.data, &woke); err != nil || len(woke.Events) != 1 || woke.Events[0].Summary != "from the session" {
			t.Fatalf("woken with %s (%v)", r, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the wait was not woken")
	}

	// Woken by another process (the CLI).
	s.ok(t, "changes", map[string]any{"since": "now"}, &now)
	wait()
	untilWaits(t, s, 2)
	mustJSON(t, dir, nil, "issue", "comment", issue, "--body", "from the CLI")
	if r := <-got; !strings.Contains(string(r.data), "from the CLI") {
		t.Fatalf("woken by the CLI with %s", r)
	}

	// Progress, to a client that gave a token.
	var mu sync.Mutex
	var progress []map[string]any
	s.c.OnNotification(func(n mcpgo.JSONRPCNotification) {
		if n.Method == string(mcpgo.MethodNotificationProgress) {
			mu.Lock()
			progress = append(progress, n.Params.AdditionalFields)
			mu.Unlock()
		}
	})
	if _, err := callWith(context.Background(), s, map[string]any{"since": "now", "wait_seconds": 3}, &mcpgo.Meta{ProgressToken: "p-1"}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(progress) == 0 || progress[0]["progressToken"] != "p-1" {
		t.Errorf("progress notifications: %v", progress)
	}
	mu.Unlock()

	// Four waits at once; a fifth is refused.
	before := startedWaits(s)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { callWith(ctx, s, map[string]any{"since": "now", "wait_seconds": 60}, nil) })
	}
	untilWaits(t, s, before+4)
	r := s.fail(t, "changes", map[string]any{"since": "now", "wait_seconds": 1}, "conflict")
	validateAgainstOutputSchema(t, s, "changes", r)
	// Cancelled, the waits end and free their places.
	cancel()
	wg.Wait()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := s.call("changes", map[string]any{"since": "now", "wait_seconds": 0.01})
		if err == nil && !res.isError {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cancelled waits still hold their places: %v %s", err, res)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// validateAgainstOutputSchema checks an error body against the outputSchema
// the server declares for tool in tools/list.
func validateAgainstOutputSchema(t *testing.T, s *mcpServer, tool string, body toolError) {
	t.Helper()
	for _, tl := range s.tools(t) {
		if tl.Name != tool {
			continue
		}
		raw, err := json.Marshal(tl)
		if err != nil {
			t.Fatal(err)
		}
		var decl struct {
			OutputSchema json.RawMessage `json:"outputSchema"`
		}
		if err := json.Unmarshal(raw, &decl); err != nil || len(decl.OutputSchema) == 0 {
			t.Fatalf("%s declares no outputSchema (%v)", tool, err)
		}
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(decl.OutputSchema)))
		if err != nil {
			t.Fatal(err)
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource("mem://out.json", doc); err != nil {
			t.Fatal(err)
		}
		sch, err := c.Compile("mem://out.json")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(body)
		v, _ := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
		if err := sch.Validate(v); err != nil {
			t.Fatalf("%s error %s does not match its outputSchema: %v", tool, b, err)
		}
		return
	}
	t.Fatalf("no tool %s", tool)
}

// Idle agents wait for work with issue_claim {next, wait_seconds}: each
// issue created later (here by the CLI, another process) goes to exactly
// one of them, and a waiting CLI claim is woken by a session's create.
func TestMCPClaimNextWaitsForWork(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	const n = 3
	var sessions []*mcpServer
	for range n {
		sessions = append(sessions, mustStartMCP(t, mcpOptions{dir: dir, args: []string{"--log-level", "debug"}}))
	}
	got := make(chan string, n)
	for _, s := range sessions {
		go func() {
			var out struct {
				IssueID string `json:"issue_id"`
			}
			if _, err := s.tryOK("issue_claim", map[string]any{"next": true, "wait_seconds": 120}, &out); err != nil {
				t.Error(err)
			}
			got <- out.IssueID
		}()
	}
	for _, s := range sessions {
		untilWaits(t, s, 1)
	}
	made := map[string]bool{}
	for i := range n {
		made[create(t, dir, "work "+string(rune('a'+i)))] = true
	}
	claimed := map[string]bool{}
	for range n {
		id := <-got
		if !made[id] || claimed[id] {
			t.Fatalf("a waiter claimed %q: not new work, or claimed twice (%v)", id, claimed)
		}
		claimed[id] = true
	}
	sessions[0].fail(t, "issue_claim", map[string]any{"id": "0123", "wait_seconds": 5}, "invalid_args")
	sessions[0].fail(t, "issue_claim", map[string]any{"next": true, "wait_seconds": 0.05}, "not_found")

	cli := make(chan result, 1)
	go func() { cli <- grite(t, dir, "issue", "claim", "--next", "--wait", "60s", "--json") }()
	// The CLI's wait has begun once it holds its session; a create before
	// that is claimed at its first look, after it by its wake-up: either
	// way the CLI must end with this issue.
	id, err := sessions[1].createIssue("for the CLI")
	if err != nil {
		t.Fatal(err)
	}
	r := <-cli
	if r.code != 0 || !strings.Contains(r.stdout, id) {
		t.Fatalf("waiting CLI claim: %s", r)
	}
}
