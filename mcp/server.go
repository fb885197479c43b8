// Package mcp is grite's MCP server: it registers the operations of tools/
// as MCP tools (one definition each, explicit annotations), maps results and
// errors, pages listings, and owns the session: one repository resolved at
// start-up and one actor per session. It holds no tracker logic of its own.
package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"grite/actor"
	"grite/prompts"
	"grite/tools"
)

// Version is reported in the initialize result.
var Version = "0.1.0-dev"

// Options configure a server (flags and environment of cmd/grite-mcp).
type Options struct {
	Repo       string   // repository path; empty = working directory
	ActorID    string   // pin an existing actor
	ActorLabel string   // reuse or create the oldest actor with this label
	ReadOnly   bool     // register read tools only
	Tools      []string // allow-list of tool names; empty = all
	Logger     *slog.Logger
	Now        func() time.Time
	// AfterFirstCall, if set, runs once, when the first tool call has
	// been handled: the end of what a session does only as it starts.
	AfterFirstCall func()
}

// Server is one MCP session over one repository.
type Server struct {
	opts Options
	repo string // resolved repository path, fixed for the session
	mcp  *server.MCPServer
	log  *slog.Logger

	mu      sync.Mutex    // tool calls run one at a time: a Session is single-writer
	waits   chan struct{} // one token per waiting call (MaxWaits)
	session *tools.Session
	actor   *actor.Actor // chosen at the first tool call, kept if opening the view fails
	source  actor.Source

	firstCall sync.Once // runs Options.AfterFirstCall
}

// New resolves the repository (it must be a git repository) and registers
// the tools and prompts. Unknown tool names in the allow-list are an error.
func New(opts Options) (*Server, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.ActorID != "" && opts.ActorLabel != "" {
		return nil, fmt.Errorf("give --actor or --actor-label, not both")
	}
	dir := opts.Repo
	if dir == "" {
		var err error
		if dir, err = os.Getwd(); err != nil {
			return nil, err
		}
	}
	bare, err := tools.OpenBare(dir, opts.Now)
	if err != nil {
		return nil, fmt.Errorf("repository %s: %w", dir, err)
	}
	if opts.ActorID != "" {
		// A pinned actor that does not exist is a configuration error, like
		// an unknown tool name: say so now rather than at every call.
		if _, err := bare.Grite.Load(opts.ActorID); err != nil {
			return nil, fmt.Errorf("--actor %s: %w (run 'grite actor list' to see the actors of %s)", opts.ActorID, err, bare.RepoPath())
		}
	}
	s := &Server{opts: opts, repo: bare.RepoPath(), log: opts.Logger, waits: make(chan struct{}, MaxWaits)}
	defs := Definitions()
	allowed, err := selectTools(defs, opts)
	if err != nil {
		return nil, err
	}
	hooks := &server.Hooks{}
	hooks.AddAfterInitialize(func(ctx context.Context, id any, req *mcpgo.InitializeRequest, res *mcpgo.InitializeResult) {
		s.log.Info("initialized", "client", req.Params.ClientInfo.Name, "repo", s.repo)
	})
	s.mcp = server.NewMCPServer("grite-mcp", Version,
		server.WithInstructions(prompts.Instructions),
		server.WithToolCapabilities(false),
		server.WithPromptCapabilities(false),
		server.WithHooks(hooks),
	)
	for _, d := range allowed {
		s.mcp.AddTool(d.Tool, s.handler(d))
	}
	s.mcp.AddPrompt(mcpgo.NewPrompt("grite_workflow",
		mcpgo.WithPromptTitle("grite workflow"),
		mcpgo.WithPromptDescription("How to find, claim, work, close and sync issues with grite.")),
		staticPrompt("How to work the backlog with grite", prompts.Workflow))
	s.mcp.AddPrompt(mcpgo.NewPrompt("grite_handoff",
		mcpgo.WithPromptTitle("grite handoff"),
		mcpgo.WithPromptDescription("Leave the tracker ready for the next agent before stopping.")),
		staticPrompt("Hand off to the next agent", prompts.Handoff))
	return s, nil
}

func selectTools(defs []Definition, opts Options) ([]Definition, error) {
	byName := map[string]Definition{}
	for _, d := range defs {
		byName[d.Tool.Name] = d
	}
	var out []Definition
	if len(opts.Tools) > 0 {
		var unknown []string
		for _, n := range opts.Tools {
			n = strings.TrimSpace(n)
			d, ok := byName[n]
			if !ok {
				unknown = append(unknown, n)
				continue
			}
			out = append(out, d)
		}
		if len(unknown) > 0 {
			names := make([]string, 0, len(byName))
			for n := range byName {
				names = append(names, n)
			}
			sort.Strings(names)
			return nil, fmt.Errorf("unknown tool name(s) %s in --tools; known: %s", strings.Join(unknown, ", "), strings.Join(names, ", "))
		}
	} else {
		out = defs
	}
	if opts.ReadOnly {
		var ro []Definition
		for _, d := range out {
			switch {
			case d.ReadOnly:
				ro = append(ro, d)
			case d.ReadOnlyVariant != nil:
				ro = append(ro, *d.ReadOnlyVariant)
			}
		}
		out = ro
	}
	return out, nil
}

func staticPrompt(desc, text string) server.PromptHandlerFunc {
	return func(ctx context.Context, req mcpgo.GetPromptRequest) (*mcpgo.GetPromptResult, error) {
		return mcpgo.NewGetPromptResult(desc, []mcpgo.PromptMessage{
			mcpgo.NewPromptMessage(mcpgo.RoleUser, mcpgo.NewTextContent(text)),
		}), nil
	}
}

// MCPServer exposes the underlying mcp-go server (tests, in-process use).
func (s *Server) MCPServer() *server.MCPServer { return s.mcp }

// Repo is the repository this session acts on.
func (s *Server) Repo() string { return s.repo }

// Serve speaks JSON-RPC over in/out until in closes or ctx ends. Only
// JSON-RPC goes to out; logs go to the configured logger (stderr). Tool
// calls read before in closed are answered before Serve returns.
func (s *Server) Serve(ctx context.Context, in io.Reader, out io.Writer) error {
	// Workers for the waits and as many again for the calls meanwhile.
	std := server.NewStdioServer(s.mcp)
	server.WithWorkerPoolSize(2 * MaxWaits)(std)
	std.SetErrorLogger(slog.NewLogLogger(s.log.Handler(), slog.LevelError))
	guard := newAnswerBeforeEOF(out)
	pr, pw := io.Pipe()
	go guard.forward(ctx, in, pw)
	err := std.Listen(ctx, pr, guard)
	_ = pr.Close() // stops forward if Listen ended before stdin did
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.session != nil {
		_ = s.session.Close()
		s.session = nil
	}
	if errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// sessionLocked returns the session, creating the actor on first use.
// The caller holds s.mu.
func (s *Server) sessionLocked(ctx context.Context, client string) (*tools.Session, error) {
	if s.session != nil {
		if err := s.session.CatchUp(ctx); err != nil {
			return nil, err
		}
		return s.session, nil
	}
	bare, err := tools.OpenBare(s.repo, s.opts.Now)
	if err != nil {
		return nil, err
	}
	if s.actor == nil {
		if strings.TrimSpace(client) == "" || len(client) > 64 || strings.ContainsAny(client, "\x00\n\r\t") {
			client = "mcp-session"
		}
		a, src, err := tools.SessionActor(bare.Grite, tools.SessionActorRequest{
			ActorID: s.opts.ActorID, ActorLabel: s.opts.ActorLabel, ClientName: client,
		}, s.opts.Now())
		if err != nil {
			return nil, err
		}
		s.log.Info("session actor", "actor", a.ID.String(), "label", a.Config.Label, "source", string(src))
		// Keep the actor even if the view fails to open below, so that a
		// retry does not create a second actor for this session.
		s.actor, s.source = a, src
	}
	sess, err := tools.OpenAs(ctx, bare.Repo, s.actor, s.source, s.opts.Now, nil)
	if err != nil {
		return nil, err
	}
	s.session = sess
	return sess, nil
}

// clientName is the name the client declared: in initialize (protocol
// versions up to 2025-11-25) or in each request's _meta (2026-07-28 and
// later, which has no initialize). mcp-go records both on the session.
func clientName(ctx context.Context) string {
	if cs, ok := server.ClientSessionFromContext(ctx).(server.SessionWithClientInfo); ok {
		return cs.GetClientInfo().Name
	}
	return ""
}

// handler adapts a Definition: strict argument decoding, one call at a time,
// panics and errors mapped onto isError results with the CLI's error object.
func (s *Server) handler(d Definition) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcpgo.CallToolRequest) (res *mcpgo.CallToolResult, err error) {
		start := s.opts.Now()
		if after := s.opts.AfterFirstCall; after != nil {
			defer s.firstCall.Do(after)
		}
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("panic in tool handler", "tool", d.Tool.Name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				res, err = errorResult(&tools.Error{Code: tools.CodeInternal, Message: fmt.Sprintf("internal error in %s: %v", d.Tool.Name, r)}), nil
			}
		}()
		raw, err := json.Marshal(req.GetRawArguments())
		if err != nil {
			return errorResult(tools.InvalidArgs("arguments: %v", err)), nil
		}
		data, text, warnings, err := s.call(ctx, d, raw, s.progress(ctx, req))
		s.log.Debug("tool call", "tool", d.Tool.Name, "ms", s.opts.Now().Sub(start).Milliseconds(), "error", err)
		if err != nil {
			return errorResult(tools.AsError(err)), nil
		}
		obj, err := toObject(data)
		if err != nil {
			return errorResult(tools.AsError(err)), nil
		}
		if !d.ReadOnly {
			obj["repo"] = s.repo
		}
		if len(warnings) > 0 {
			for i, w := range warnings {
				warnings[i] = forMCP.Replace(w)
			}
			obj["warnings"] = warnings
			// Also in the text: a client may show the model only that.
			text += "\nwarning: " + strings.Join(warnings, "\nwarning: ")
		}
		return mcpgo.NewToolResultStructured(obj, text), nil
	}
}

// MaxWaits is how many waiting calls (changes with wait_seconds) one
// session runs at once: each holds a worker of the server until it
// returns, and the other calls must still find one.
const MaxWaits = 4

// call runs d with the session under s.mu. A definition with Prepare has
// only its preparation run there, and its run after letting go, so a
// long wait never holds up the session's other calls.
func (s *Server) call(ctx context.Context, d Definition, raw json.RawMessage, progress func(done, total time.Duration)) (data any, text string, warnings []string, err error) {
	s.mu.Lock()
	locked := true
	defer func() {
		if locked {
			s.mu.Unlock()
		}
	}()
	sess, err := s.sessionLocked(ctx, clientName(ctx))
	if err != nil {
		return nil, "", nil, err
	}
	if d.Prepare != nil {
		run, err := d.Prepare(ctx, sess, raw)
		if err != nil {
			return nil, "", sess.TakeWarnings(), err
		}
		if run != nil {
			warnings = sess.TakeWarnings()
			s.mu.Unlock()
			locked = false
			select {
			case s.waits <- struct{}{}:
				defer func() { <-s.waits }()
				s.log.Debug("running without the session", "tool", d.Tool.Name)
			default:
				return nil, "", warnings, &tools.Error{Code: tools.CodeConflict,
					Message: fmt.Sprintf("%d waiting calls are already running in this session, the most it runs at once", MaxWaits),
					Details: map[string]any{"suggestions": []string{"Wait for one of them to return, or call without wait_seconds"}}}
			}
			var mu sync.Mutex // the run's own warnings, from its session calls
			env := RunEnv{Progress: progress, Session: func(fn func(*tools.Session) error) error {
				s.mu.Lock()
				defer s.mu.Unlock()
				sess, err := s.sessionLocked(ctx, clientName(ctx))
				if err != nil {
					return err
				}
				err = fn(sess)
				mu.Lock()
				warnings = append(warnings, sess.TakeWarnings()...)
				mu.Unlock()
				return err
			}}
			data, text, err = run(ctx, env)
			return data, text, warnings, err
		}
	}
	// A write's view update follows its answer: the events are in the
	// WAL (git) when it is sent, and every call catches the view up
	// under s.mu before it runs, so none ever reads a view without
	// them. The agent gets its answer sooner.
	sess.DeferViewUpdates(d.WriteLast)
	data, text, err = d.Call(ctx, sess, raw)
	sess.DeferViewUpdates(false)
	if sess.ViewBehind() {
		go s.flushView(sess)
	}
	if !d.ReadOnly && err == nil && sess.PackDue() {
		// grite's loose objects passed the threshold: pack them beside
		// the session, never in the way of a call.
		tools.PackAsync(s.repo, func(err error) { s.log.Warn("packing grite's objects", "error", err) })
	}
	return data, text, sess.TakeWarnings(), err
}

// progress returns what reports a wait's progress to the client, if the
// request carries a progress token (nil otherwise).
func (s *Server) progress(ctx context.Context, req mcpgo.CallToolRequest) func(done, total time.Duration) {
	if req.Params.Meta == nil || req.Params.Meta.ProgressToken == nil {
		return nil
	}
	token := req.Params.Meta.ProgressToken
	return func(done, total time.Duration) {
		err := s.mcp.SendNotificationToClient(ctx, string(mcpgo.MethodNotificationProgress), map[string]any{
			"progressToken": token,
			"progress":      done.Seconds(),
			"total":         total.Seconds(),
			"message":       fmt.Sprintf("waiting: %ds of %ds", int(done.Seconds()), int(total.Seconds())),
		})
		if err != nil {
			s.log.Debug("progress notification", "error", err)
		}
	}
}

// flushView gives sess's view the events of the write just answered, once
// the handler has let go of s.mu; the next call catches up whatever this
// leaves (a failure, or a session closed meanwhile).
func (s *Server) flushView(sess *tools.Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.session != sess {
		return
	}
	if err := sess.FlushView(context.Background()); err != nil {
		s.log.Warn("view update after a write", "error", err)
	}
}

func toObject(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	obj := map[string]any{}
	if err := json.Unmarshal(b, &obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// errorResult is a user-fixable failure: isError with the CLI's error object
// as both text and structured content.
func errorResult(e *tools.Error) *mcpgo.CallToolResult {
	body := map[string]any{"code": e.Code, "message": e.Message}
	if len(e.Details) > 0 {
		body["details"] = mcpDetails(e.Details)
	}
	// The text is read as text: "a -> b" must not arrive as "a -\u003e b".
	var text strings.Builder
	enc := json.NewEncoder(&text)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(body) // a map of strings and JSON values: cannot fail
	res := mcpgo.NewToolResultStructured(body, strings.TrimSuffix(text.String(), "\n"))
	res.IsError = true
	return res
}

// ResolveRepoPath makes a --repo value absolute (for logs and whoami).
func ResolveRepoPath(p string) string {
	if p == "" {
		return ""
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}
