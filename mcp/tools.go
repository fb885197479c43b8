package mcp

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"grite/event"
	"grite/tools"
)

// Definition is one MCP tool: its schemas and annotations, whether it only
// reads, and the call that decodes arguments and runs the tools/ operation.
type Definition struct {
	Tool     mcpgo.Tool
	ReadOnly bool
	// WriteLast: the operation's view update may follow the answer
	// (tools.Op.WriteLast).
	WriteLast bool
	// Args is the struct the arguments decode into; Result is the type of
	// a successful call's data, which the outputSchema is generated from.
	Args, Result reflect.Type
	Call         func(ctx context.Context, s *tools.Session, args json.RawMessage) (data any, text string, err error)
	// Prepare, when set, is run by the server before Call: it checks the
	// arguments with the session and, for a call that waits, returns the
	// run, which the server runs without holding the session (its other
	// calls go on meanwhile). A nil run means no wait: the server runs
	// Call as usual.
	Prepare func(ctx context.Context, s *tools.Session, args json.RawMessage) (run Run, err error)
	// ReadOnlyVariant, for a tool that writes with one action and reads
	// with the others, is the tool a read-only server offers instead: the
	// same name, read-only, without its writing action.
	ReadOnlyVariant *Definition
}

// Run is a prepared call that may wait.
type Run func(ctx context.Context, env RunEnv) (data any, text string, err error)

// RunEnv is what the server gives a Run.
type RunEnv struct {
	// Progress reports the wait to the client (nil without a progress
	// token).
	Progress func(done, total time.Duration)
	// Session runs fn with the session, caught up, as a call would; the
	// session's warnings join the result's.
	Session func(fn func(*tools.Session) error) error
}

// DefaultPageSize is the default limit of paged listings.
const DefaultPageSize = 50

// MaxPageSize caps limits so one result stays a reasonable size.
const MaxPageSize = 500

// annotate sets every hint explicitly (a test fails if one is missing).
func annotate[I, O any](op tools.Op[I, O]) []mcpgo.ToolOption {
	return []mcpgo.ToolOption{
		mcpgo.WithToolTitle(op.Title),
		mcpgo.WithTitleAnnotation(op.Title),
		mcpgo.WithReadOnlyHintAnnotation(op.ReadOnly),
		// Nothing grite does deletes data: every write appends an event or a
		// lock commit, and can be undone by another write.
		mcpgo.WithDestructiveHintAnnotation(op.Destructive),
		mcpgo.WithIdempotentHintAnnotation(op.Idempotent),
		mcpgo.WithOpenWorldHintAnnotation(op.OpenWorld),
	}
}

// define builds a Definition: args decode strictly into A (unknown fields
// are invalid_args), convert to the operation's input, run it, and render
// the result as data D (the structured content) and text.
func define[A, I, O, D any](op tools.Op[I, O], props []mcpgo.ToolOption, conv func(A) (I, error), render func(O) (D, string)) Definition {
	return defineRaw(op, props, func(ctx context.Context, s *tools.Session, a A) (D, string, error) {
		var zero D
		in, err := conv(a)
		if err != nil {
			return zero, "", err
		}
		out, err := op.Call(ctx, s, in)
		if err != nil {
			return zero, "", err
		}
		data, text := render(out)
		return data, text, nil
	})
}

func decodeStrict(raw json.RawMessage, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		raw = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			// Not "cannot unmarshal number into Go struct field X.y": the
			// caller knows the argument, not our types.
			return tools.InvalidArgs("argument %s must be %s, got %s", te.Field, jsonKind(te.Type), tools.Article(te.Value))
		}
		msg := err.Error()
		msg = strings.TrimPrefix(msg, "json: ")
		return tools.InvalidArgs("invalid arguments: %s", msg)
	}
	return nil
}

func same[T any](v T) (T, error) { return v, nil }

// until says when a lease ends as people read it: "until
// 2026-12-05T15:00:00Z (in 29m)"; the structured result keeps the
// milliseconds.
func until(ms uint64) string {
	at := time.UnixMilli(int64(ms))
	left := time.Until(at)
	if left <= 0 {
		return "expired at " + at.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("until %s (in %s)", at.UTC().Format(time.RFC3339), roughly(left))
}

// rfc3339 is a millisecond timestamp as people and models read it.
func rfc3339(ms uint64) string { return time.UnixMilli(int64(ms)).UTC().Format(time.RFC3339) }

// roughly is a duration to the second below a minute, else to the minute:
// 45s, 29m, 2h, 1h30m, 3d4h.
func roughly(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%ds", int(d.Round(time.Second)/time.Second))
	}
	m := int(d.Round(time.Minute) / time.Minute)
	days, hours, mins := m/(24*60), m/60%24, m%60
	var b strings.Builder
	for _, p := range []struct {
		n    int
		unit string
	}{{days, "d"}, {hours, "h"}, {mins, "m"}} {
		if p.n > 0 {
			fmt.Fprintf(&b, "%d%s", p.n, p.unit)
		}
	}
	return b.String()
}

// jsonKind names a Go type as the JSON a caller should send.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "an object"
}

// ttlArg accepts a duration string ("30m") or a number of seconds.
type ttlArg string

func (t *ttlArg) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = ttlArg(s)
		return nil
	}
	var n float64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("ttl must be a duration string like \"30m\" or a number of seconds")
	}
	*t = ttlArg(strconv.FormatFloat(n, 'f', -1, 64))
	return nil
}

func withTTL(desc string) mcpgo.ToolOption {
	return mcpgo.WithAny("ttl", mcpgo.Description(desc), func(m map[string]any) {
		m["type"] = []string{"string", "number"}
	})
}

func cursorOffset(c string) (int, error) {
	if c == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(c)
	if err != nil || n < 0 {
		return 0, tools.InvalidArgs("invalid cursor %q: pass back a next_cursor value unchanged", c)
	}
	return n, nil
}

// pageLimit is a page size argument: absent gives the default; present,
// it must be within the schema's 1..MaxPageSize (0 included: the schema
// says minimum 1).
func pageLimit(l *int) (int, error) {
	switch {
	case l == nil:
		return DefaultPageSize, nil
	case *l < 1 || *l > MaxPageSize:
		return 0, tools.InvalidArgs("limit must be between 1 and %d, got %d", MaxPageSize, *l)
	}
	return *l, nil
}

func writeText(verb string) func(tools.WriteResult) (tools.WriteResult, string) {
	return func(r tools.WriteResult) (tools.WriteResult, string) {
		if !r.Changed {
			return r, fmt.Sprintf("issue %s unchanged: %s", r.IssueID, r.Message)
		}
		return r, fmt.Sprintf("%s issue %s (event %s)", verb, r.IssueID, r.EventID[:12])
	}
}

func stringArray(name, desc string) mcpgo.ToolOption {
	return mcpgo.WithArray(name, mcpgo.Description(desc), mcpgo.WithStringItems())
}

func summaryLines(issues []tools.IssueSummary) string {
	var b strings.Builder
	for _, i := range issues {
		fmt.Fprintf(&b, "%s %s %s", i.IssueID[:8], i.State, i.Title)
		if len(i.Labels) > 0 {
			fmt.Fprintf(&b, " [%s]", strings.Join(i.Labels, ","))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

type pagedList struct {
	tools.IssueListOutput
	HasMore    bool   `json:"has_more"`
	NextCursor string `json:"next_cursor,omitempty"`
}

type showArgs struct {
	ID             string `json:"id"`
	CommentsLimit  *int   `json:"comments_limit"`
	CommentsCursor string `json:"comments_cursor"`
}

type pagedShow struct {
	Issue              tools.IssueDetail `json:"issue"`
	CommentsTotal      int               `json:"comments_total"`
	CommentsHasMore    bool              `json:"comments_has_more"`
	CommentsNextCursor string            `json:"comments_next_cursor,omitempty"`
	EventsTotal        int               `json:"events_total"`
}

type listArgs struct {
	State     string `json:"state"`
	Label     string `json:"label"`
	Assignee  string `json:"assignee"`
	Query     string `json:"query"`
	ClaimedBy string `json:"claimed_by"`
	Limit     *int   `json:"limit"`
	Cursor    string `json:"cursor"`
}

type readyArgs struct {
	Label    string `json:"label"`
	Assignee string `json:"assignee"`
	Limit    *int   `json:"limit"`
}

type claimArgs struct {
	ID          string  `json:"id"`
	Next        bool    `json:"next"`
	TTL         ttlArg  `json:"ttl"`
	WaitSeconds float64 `json:"wait_seconds"`
}

// MaxClaimWait bounds wait_seconds of issue_claim.
const MaxClaimWait = 300 * time.Second

type lockArgs struct {
	Action   string `json:"action"`
	Resource string `json:"resource"`
	TTL      ttlArg `json:"ttl"`
}

// Definitions returns every tool, in a stable order.
func Definitions() []Definition {
	idProp := mcpgo.WithString("id", mcpgo.Required(), mcpgo.Description("Issue ID or a unique prefix of 4+ hex characters"))
	return []Definition{
		define(tools.IssueCreate, []mcpgo.ToolOption{
			mcpgo.WithString("title", mcpgo.Required(), mcpgo.Description("One-line title (1-1024 bytes)")),
			mcpgo.WithString("body", mcpgo.Description("Markdown body")),
			stringArray("labels", "Labels"),
			stringArray("assignees", "Assignees"),
		}, same[tools.IssueCreateInput], writeText("created")),
		define(tools.IssueUpdate, []mcpgo.ToolOption{
			idProp,
			mcpgo.WithString("title", mcpgo.Description("New title")),
			mcpgo.WithString("body", mcpgo.Description("New body")),
			mcpgo.WithString("state", mcpgo.Enum("open", "closed"), mcpgo.Description("New state")),
			stringArray("add_labels", "Labels to add"),
			stringArray("remove_labels", "Labels to remove"),
			stringArray("add_assignees", "Assignees to add"),
			stringArray("remove_assignees", "Assignees to remove"),
		}, same[tools.IssueUpdateInput], writeText("updated")),
		define(tools.IssueComment, []mcpgo.ToolOption{
			idProp,
			mcpgo.WithString("body", mcpgo.Description("Comment text (required for a comment; a handoff has none)")),
			mcpgo.WithString("kind", mcpgo.Enum("comment", "handoff"), mcpgo.Description("comment (the default) or handoff")),
			mcpgo.WithString("done", mcpgo.Description("Handoff: what is done (required)")),
			mcpgo.WithString("next", mcpgo.Description("Handoff: what comes next (required)")),
			mcpgo.WithString("blocker", mcpgo.Description("Handoff: what blocks the work, if anything")),
			mcpgo.WithString("evidence", mcpgo.Description("Handoff: evidence (tests run, commits, links)")),
		}, same[tools.IssueCommentInput], writeText("commented on")),
		showDefinition(idProp),
		listDefinition(),
		changesDefinition(),
		define(tools.IssueReady, []mcpgo.ToolOption{
			mcpgo.WithString("label", mcpgo.Description("Only issues with this label")),
			mcpgo.WithString("assignee", mcpgo.Description("Only issues assigned to this name")),
			mcpgo.WithInteger("limit", mcpgo.Description("At most this many (default 50)"), mcpgo.Min(1), mcpgo.Max(MaxPageSize)),
		}, func(a readyArgs) (tools.IssueReadyInput, error) {
			l, err := pageLimit(a.Limit)
			return tools.IssueReadyInput{Label: a.Label, Assignee: a.Assignee, Limit: l}, err
		}, func(o tools.IssueReadyOutput) (tools.IssueReadyOutput, string) {
			if len(o.Issues) == 0 {
				return o, "nothing ready"
			}
			return o, summaryLines(o.Issues)
		}),
		claimDefinition(),
		define(tools.IssueRelease, []mcpgo.ToolOption{idProp},
			same[tools.ReleaseInput], func(o tools.ReleaseOutput) (tools.ReleaseOutput, string) {
				return o, "released " + o.IssueID
			}),
		define(tools.IssueDep, []mcpgo.ToolOption{
			idProp,
			mcpgo.WithString("target", mcpgo.Required(), mcpgo.Description("The other issue")),
			mcpgo.WithString("type", mcpgo.Required(), mcpgo.Enum("blocks", "depends_on", "related_to"), mcpgo.Description("Edge from id to target")),
			mcpgo.WithString("action", mcpgo.Required(), mcpgo.Enum("add", "remove"), mcpgo.Description("Add or remove the edge")),
		}, same[tools.DepInput], func(o tools.DepOutput) (tools.DepOutput, string) {
			if !o.Changed {
				return o, "unchanged: " + o.Message
			}
			return o, fmt.Sprintf("%s %s %s %s", o.Action, o.IssueID, o.DepType, o.Target)
		}),
		define(tools.Lock, []mcpgo.ToolOption{
			mcpgo.WithString("action", mcpgo.Required(), mcpgo.Enum("acquire", "renew", "release"), mcpgo.Description("What to do with the lock")),
			mcpgo.WithString("resource", mcpgo.Required(), mcpgo.Description("repo:global, path:src/, issue:<id>")),
			withTTL("Lease: duration (\"15m\") or seconds; default 5m"),
		}, func(a lockArgs) (tools.LockInput, error) {
			return tools.LockInput{Action: a.Action, Resource: a.Resource, TTL: string(a.TTL)}, nil
		}, func(o tools.LockOutput) (tools.LockOutput, string) {
			if !o.Lock.Live {
				return o, o.Lock.Resource + " released"
			}
			return o, fmt.Sprintf("%s held by %s %s", o.Lock.Resource, o.Lock.Owner, until(o.Lock.ExpiresUnixMS))
		}),
		define(tools.LockStatus, []mcpgo.ToolOption{
			mcpgo.WithString("resource", mcpgo.Description("Resource to check for conflicts")),
		}, same[tools.LockStatusInput], func(o tools.LockStatusOutput) (tools.LockStatusOutput, string) {
			return o, fmt.Sprintf("%s, %d conflicting", tools.Plural(len(o.Locks), "live lock"), len(o.Conflicts))
		}),
		define(tools.Sync, []mcpgo.ToolOption{
			mcpgo.WithString("mode", mcpgo.Required(), mcpgo.Enum("full", "pull", "push"), mcpgo.Description("full = pull then push")),
			mcpgo.WithString("remote", mcpgo.Description("Remote name (default origin)")),
			mcpgo.WithNumber("timeout_seconds", mcpgo.Description("Bound on each fetch or push with the remote (default 60)"), mcpgo.Min(1), mcpgo.Max(tools.MaxRetryBudget.Seconds())),
			mcpgo.WithNumber("retry_budget_seconds", mcpgo.Description("How long a push keeps retrying while other clones push first (default 30, or the repository's config)"), mcpgo.Min(0), mcpgo.Max(tools.MaxRetryBudget.Seconds())),
		}, func(in tools.SyncInput) (tools.SyncInput, error) {
			// The session's repository is fixed; a URL or path here would let
			// a call push this tracker into another repository.
			if strings.ContainsAny(in.Remote, "/:\\") || strings.HasPrefix(in.Remote, "-") || strings.HasPrefix(in.Remote, ".") {
				return in, tools.InvalidArgs("remote must be the name of a configured git remote (e.g. origin), not a path or URL")
			}
			return in, nil
		}, func(o tools.SyncOutput) (tools.SyncOutput, string) { return o, o.Message }),
		define(tools.WhoAmI, []mcpgo.ToolOption{
			mcpgo.WithInteger("max_chars", mcpgo.Description("Fit the primer (text and structured) within this many characters by trimming lists (default 4000)"),
				mcpgo.Min(tools.MinPrimerChars), mcpgo.Max(tools.MaxPrimerChars)),
		}, same[tools.WhoAmIInput], func(o tools.WhoAmIOutput) (tools.WhoAmIOutput, string) { return o, o.Text() }),
		contextDefinition(),
	}
}

type contextArgs struct {
	Action string  `json:"action"`
	Query  string  `json:"query"`
	Path   string  `json:"path"`
	Key    string  `json:"key"`
	Value  *string `json:"value"`
	Limit  *int    `json:"limit"`
	Cursor string  `json:"cursor"`
}

// contextDefinition is the context tool, and its read-only variant
// without action set.
func contextDefinition() Definition {
	d := contextTool(tools.Context, false)
	ro := tools.Context
	ro.ReadOnly = true
	ro.Description = strings.Replace(ro.Description, "; set: set a key's value, for every clone.", ". (Read-only: set is not offered.)", 1)
	v := contextTool(ro, true)
	d.ReadOnlyVariant = &v
	return d
}

func contextTool(op tools.Op[tools.ContextInput, tools.ContextOutput], readOnly bool) Definition {
	actions, keyDesc := []string{"query", "show", "project", "set"}, "project: one key (omit for all); set: the key"
	if readOnly {
		actions, keyDesc = actions[:3], "project: one key (omit for all)"
	}
	props := []mcpgo.ToolOption{
		mcpgo.WithString("action", mcpgo.Required(), mcpgo.Enum(actions...), mcpgo.Description("What to do")),
		mcpgo.WithString("query", mcpgo.Description("query: a symbol name or part of one")),
		mcpgo.WithString("path", mcpgo.Description("show: the file's path from the top of the repository")),
		mcpgo.WithString("key", mcpgo.Description(keyDesc)),
		mcpgo.WithInteger("limit", mcpgo.Description("Page size of matches, symbols or keys"), mcpgo.Min(1), mcpgo.Max(MaxPageSize)),
		mcpgo.WithString("cursor", mcpgo.Description("next_cursor of the previous page")),
	}
	if !readOnly {
		props = append(props, mcpgo.WithString("value", mcpgo.Description("set: the value")))
	}
	return defineRaw(op, props, func(ctx context.Context, s *tools.Session, a contextArgs) (tools.ContextOutput, string, error) {
		in := tools.ContextInput{Action: a.Action, Query: a.Query, Path: a.Path, Key: a.Key, ReadOnly: readOnly}
		switch {
		case a.Value != nil:
			in.Value = *a.Value
		case a.Action == "set" && !readOnly:
			return tools.ContextOutput{}, "", tools.InvalidArgs("action set needs value")
		}
		if a.Limit != nil {
			l, err := pageLimit(a.Limit)
			if err != nil {
				return tools.ContextOutput{}, "", err
			}
			in.Limit = l
		}
		off, err := cursorOffset(a.Cursor)
		if err != nil {
			return tools.ContextOutput{}, "", err
		}
		in.Offset = off
		out, err := op.Call(ctx, s, in)
		if err != nil {
			return out, "", err
		}
		return out, contextText(out), nil
	})
}

func contextText(o tools.ContextOutput) string {
	var b strings.Builder
	switch {
	case o.Action == "query" && len(o.Matches) == 0:
		fmt.Fprintf(&b, "no symbol matches %q", o.Query)
		return b.String()
	case o.Action == "query":
		for _, m := range o.Matches {
			fmt.Fprintf(&b, "%s %s %s:%d-%d\n", m.Symbol, m.Kind, m.Path, m.LineStart, m.LineEnd)
		}
		fmt.Fprintf(&b, "(%d of %d matches", len(o.Matches), o.Total)
	case o.Action == "show":
		f := o.File
		fmt.Fprintf(&b, "%s (%s): %s\n", f.Path, f.Language, f.Summary)
		symbols := slices.Clone(f.Symbols)
		slices.SortStableFunc(symbols, func(x, y event.Symbol) int { return cmp.Compare(x.LineStart, y.LineStart) })
		for _, s := range symbols {
			fmt.Fprintf(&b, "%d-%d %s %s\n", s.LineStart, s.LineEnd, s.Kind, s.Name)
		}
		fmt.Fprintf(&b, "(%d of %d symbols", len(f.Symbols), f.SymbolCount)
	case o.Action == "project" && o.Value != nil:
		return *o.Value
	case o.Action == "project" && len(o.Entries) == 0:
		return "no project context"
	case o.Action == "project":
		for _, e := range o.Entries {
			fmt.Fprintf(&b, "%s: %s\n", e.Key, e.Value)
		}
		fmt.Fprintf(&b, "(%d of %d keys", len(o.Entries), o.Total)
	default: // set
		if !o.Changed {
			return o.Key + " unchanged: it already has that value"
		}
		return fmt.Sprintf("set %s (event %s)", o.Key, o.EventID[:12])
	}
	if o.HasMore {
		b.WriteString(", next_cursor " + o.NextCursor)
	}
	b.WriteString(")")
	return b.String()
}

// defineRaw is define for tools that page: the call sees the decoded
// arguments and returns the structured data D and text itself.
func defineRaw[A, I, O, D any](op tools.Op[I, O], props []mcpgo.ToolOption, call func(ctx context.Context, s *tools.Session, a A) (D, string, error)) Definition {
	opts := append([]mcpgo.ToolOption{mcpgo.WithDescription(op.Description)}, annotate(op)...)
	opts = append(opts, props...)
	opts = append(opts, mcpgo.WithRawOutputSchema(outputSchema[D](!op.ReadOnly)))
	return Definition{
		Tool:      mcpgo.NewTool(op.Name, opts...),
		ReadOnly:  op.ReadOnly,
		WriteLast: op.WriteLast,
		Args:      reflect.TypeFor[A](),
		Result:    reflect.TypeFor[D](),
		Call: func(ctx context.Context, s *tools.Session, raw json.RawMessage) (any, string, error) {
			var a A
			if err := decodeStrict(raw, &a); err != nil {
				return nil, "", err
			}
			data, text, err := call(ctx, s, a)
			if err != nil {
				return nil, "", err
			}
			nonNil(reflect.ValueOf(&data).Elem())
			return data, text, nil
		},
	}
}

func claimDefinition() Definition {
	conv := func(a claimArgs) (tools.ClaimInput, error) {
		wait := time.Duration(a.WaitSeconds * float64(time.Second))
		if a.WaitSeconds < 0 || wait > MaxClaimWait {
			return tools.ClaimInput{}, tools.InvalidArgs("wait_seconds must be between 0 and %d, got %v", int(MaxClaimWait/time.Second), a.WaitSeconds)
		}
		if wait > 0 && !a.Next {
			return tools.ClaimInput{}, tools.InvalidArgs("wait_seconds is for next=true: it waits for an issue to become ready")
		}
		return tools.ClaimInput{ID: a.ID, Next: a.Next, TTL: string(a.TTL), Wait: wait}, nil
	}
	render := func(o tools.ClaimOutput) (tools.ClaimOutput, string) {
		verb := "claimed"
		if o.AlreadyHeld {
			verb = "already held; renewed"
		}
		text := fmt.Sprintf("%s %s %q %s", verb, o.IssueID, o.Title, until(o.ExpiresUnixMS))
		if o.Previous != nil {
			text += "\n" + o.Previous.Describe()
		}
		return o, text
	}
	d := define(tools.IssueClaim, []mcpgo.ToolOption{
		mcpgo.WithString("id", mcpgo.Description("Issue ID or prefix; omit with next=true")),
		mcpgo.WithBoolean("next", mcpgo.Description("Claim the first ready issue")),
		withTTL("Lease: duration (\"30m\") or seconds; default 30m"),
		mcpgo.WithNumber("wait_seconds", mcpgo.Description("With next: wait up to this long for an issue to become ready (0-300; default 0: fail at once)"),
			mcpgo.Min(0), mcpgo.Max(MaxClaimWait.Seconds())),
	}, conv, render)
	d.Prepare = func(ctx context.Context, s *tools.Session, raw json.RawMessage) (Run, error) {
		var a claimArgs
		if err := decodeStrict(raw, &a); err != nil {
			return nil, err
		}
		in, err := conv(a)
		if err != nil || in.Wait == 0 {
			return nil, err
		}
		w, err := s.PrepareWorkWait(in.Wait)
		if err != nil {
			return nil, err
		}
		in.Wait = 0 // each try claims at once; the wait is w's
		return func(ctx context.Context, env RunEnv) (any, string, error) {
			out, err := w.Run(ctx, env.Progress, func() (out tools.ClaimOutput, err error) {
				serr := env.Session(func(sess *tools.Session) error {
					out, err = tools.IssueClaim.Call(ctx, sess, in)
					return nil
				})
				if serr != nil {
					return out, serr
				}
				return out, err
			})
			if err != nil {
				return nil, "", err
			}
			data, text := render(out)
			nonNil(reflect.ValueOf(&data).Elem())
			return data, text, nil
		}, nil
	}
	return d
}

type changesArgs struct {
	Since       string   `json:"since"`
	Issue       string   `json:"issue"`
	Kinds       []string `json:"kinds"`
	Limit       *int     `json:"limit"`
	WaitSeconds float64  `json:"wait_seconds"`
}

// MaxChangesWait bounds wait_seconds: a client that wants to wait longer
// calls again with the cursor it got.
const MaxChangesWait = 60 * time.Second

func changesDefinition() Definition {
	prepare := func(ctx context.Context, s *tools.Session, a changesArgs) (*tools.ChangesQuery, error) {
		limit, err := pageLimit(a.Limit)
		if err != nil {
			return nil, err
		}
		wait := time.Duration(a.WaitSeconds * float64(time.Second))
		if a.WaitSeconds < 0 || wait > MaxChangesWait {
			return nil, tools.InvalidArgs("wait_seconds must be between 0 and %d, got %v", int(MaxChangesWait/time.Second), a.WaitSeconds)
		}
		return s.PrepareChanges(ctx, tools.ChangesInput{Since: a.Since, Issue: a.Issue, Kinds: a.Kinds, Limit: limit, Wait: wait})
	}
	d := defineRaw(tools.Changes, []mcpgo.ToolOption{
		mcpgo.WithString("since", mcpgo.Description("next_cursor of an earlier call, or \"now\"; omit for the whole history")),
		mcpgo.WithString("issue", mcpgo.Description("Only this issue's events (ID or unique prefix)")),
		stringArray("kinds", "Only events of these kinds, e.g. IssueCreated, CommentAdded, StateChanged, AssigneeAdded"),
		mcpgo.WithInteger("limit", mcpgo.Description("At most this many events (default 50)"), mcpgo.Min(1), mcpgo.Max(MaxPageSize)),
		mcpgo.WithNumber("wait_seconds", mcpgo.Description("Wait up to this long for a matching event (0-60; default 0: answer at once)"), mcpgo.Min(0), mcpgo.Max(MaxChangesWait.Seconds())),
	}, func(ctx context.Context, s *tools.Session, a changesArgs) (tools.ChangesOutput, string, error) {
		q, err := prepare(ctx, s, a)
		if err != nil {
			return tools.ChangesOutput{}, "", err
		}
		out, err := q.Run(ctx)
		return out, changesText(out), err
	})
	d.Prepare = func(ctx context.Context, s *tools.Session, raw json.RawMessage) (Run, error) {
		var a changesArgs
		if err := decodeStrict(raw, &a); err != nil {
			return nil, err
		}
		q, err := prepare(ctx, s, a)
		if err != nil || a.WaitSeconds == 0 {
			return nil, err
		}
		return func(ctx context.Context, env RunEnv) (any, string, error) {
			q.OnProgress(env.Progress)
			out, err := q.Run(ctx)
			if err != nil {
				return nil, "", err
			}
			nonNil(reflect.ValueOf(&out).Elem())
			return out, changesText(out), nil
		}, nil
	}
	return d
}

func changesText(o tools.ChangesOutput) string {
	var b strings.Builder
	if len(o.Events) == 0 {
		b.WriteString("no events\n")
	}
	for _, e := range o.Events {
		who := e.ActorLabel
		if who == "" {
			who = e.Actor[:8]
		}
		fmt.Fprintf(&b, "%s %s %s: %s\n", e.IssueID[:8], e.Kind, who, e.Summary)
	}
	fmt.Fprintf(&b, "next_cursor: %s", o.NextCursor)
	if o.HasMore {
		b.WriteString(" (more follow)")
	}
	return b.String()
}

func showDefinition(idProp mcpgo.ToolOption) Definition {
	return defineRaw(tools.IssueShow, []mcpgo.ToolOption{
		idProp,
		mcpgo.WithInteger("comments_limit", mcpgo.Description("Comments per page (default 50)"), mcpgo.Min(1), mcpgo.Max(MaxPageSize)),
		mcpgo.WithString("comments_cursor", mcpgo.Description("comments_next_cursor of the previous page")),
	}, func(ctx context.Context, s *tools.Session, a showArgs) (pagedShow, string, error) {
		limit, err := pageLimit(a.CommentsLimit)
		if err != nil {
			return pagedShow{}, "", err
		}
		off, err := cursorOffset(a.CommentsCursor)
		if err != nil {
			return pagedShow{}, "", err
		}
		out, err := tools.IssueShow.Call(ctx, s, tools.IssueShowInput{ID: a.ID})
		if err != nil {
			return pagedShow{}, "", err
		}
		all := out.Issue.Comments
		p := pagedShow{Issue: out.Issue, CommentsTotal: len(all), EventsTotal: len(out.Events)}
		// The cursor is client input: clamp before adding, or a cursor
		// near MaxInt wraps end negative.
		off = min(off, len(all))
		end := off + min(limit, len(all)-off)
		p.Issue.Comments = all[off:end]
		if end < len(all) {
			p.CommentsHasMore, p.CommentsNextCursor = true, strconv.Itoa(end)
		}
		i := p.Issue
		var b strings.Builder
		fmt.Fprintf(&b, "%s [%s] %s\n%s\n", i.IssueID, i.State, i.Title, i.Body)
		if h := i.Handoff; h != nil {
			fmt.Fprintf(&b, "\nlatest handoff, by %s at %s:\ndone: %s\nnext: %s\n", h.Actor[:8], rfc3339(h.TS), h.Done, h.Next)
			if h.Blocker != "" {
				fmt.Fprintf(&b, "blocker: %s\n", h.Blocker)
			}
			if h.Evidence != "" {
				fmt.Fprintf(&b, "evidence: %s\n", h.Evidence)
			}
		}
		for _, c := range i.Comments {
			body := c.Body
			if i.Handoff != nil && c.EventID == i.Handoff.EventID {
				body = "(the latest handoff, above)"
			}
			fmt.Fprintf(&b, "\n--- %s at %s\n%s\n", c.Actor[:8], rfc3339(c.TS), body)
		}
		fmt.Fprintf(&b, "\n(%d of %d comments shown)", len(i.Comments), p.CommentsTotal)
		text := b.String()
		return p, text, nil
	})
}

func listDefinition() Definition {
	return defineRaw(tools.IssueList, []mcpgo.ToolOption{
		mcpgo.WithString("state", mcpgo.Enum("open", "closed"), mcpgo.Description("Default: all states")),
		mcpgo.WithString("label", mcpgo.Description("Only issues with this label")),
		mcpgo.WithString("assignee", mcpgo.Description("Only issues assigned to this name")),
		mcpgo.WithString("query", mcpgo.Description("Text in title or body (case-insensitive)")),
		mcpgo.WithString("claimed_by", mcpgo.Description("Only issues with a live claim of this actor: \"me\", a label or an actor ID")),
		mcpgo.WithInteger("limit", mcpgo.Description("Page size (default 50)"), mcpgo.Min(1), mcpgo.Max(MaxPageSize)),
		mcpgo.WithString("cursor", mcpgo.Description("next_cursor of the previous page")),
	}, func(ctx context.Context, s *tools.Session, a listArgs) (pagedList, string, error) {
		limit, err := pageLimit(a.Limit)
		if err != nil {
			return pagedList{}, "", err
		}
		off, err := cursorOffset(a.Cursor)
		if err != nil {
			return pagedList{}, "", err
		}
		out, err := tools.IssueList.Call(ctx, s, tools.IssueListInput{State: a.State, Label: a.Label, Assignee: a.Assignee, Query: a.Query, ClaimedBy: a.ClaimedBy, Limit: limit, Offset: off})
		if err != nil {
			return pagedList{}, "", err
		}
		p := pagedList{IssueListOutput: out}
		if end := off + len(out.Issues); end < out.Total {
			p.HasMore, p.NextCursor = true, strconv.Itoa(end)
		}
		text := summaryLines(out.Issues) + fmt.Sprintf("(%d of %d issues", len(out.Issues), out.Total)
		if p.HasMore {
			text += ", next_cursor " + p.NextCursor
		}
		text += ")"
		if out.Hint != "" {
			text += "\nhint: " + forMCP.Replace(out.Hint)
		}
		return p, text, nil
	})
}
