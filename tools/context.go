package tools

import (
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"grite/event"
)

// The context store (the original grite's 'grite context'): a record of
// each source file (language, symbols, summary, content hash) and a
// key/value store of project facts, both carried in the WAL as events of
// kinds 13 and 14 and merged last writer wins, per path and per key.
// Indexing is in contextindex.go.

// Limits of project context entries, in bytes of UTF-8.
const (
	MaxContextKeyBytes   = 256
	MaxContextValueBytes = MaxBodyBytes
)

// SymbolMatchJSON is one symbol a query found.
type SymbolMatchJSON struct {
	Symbol    string `json:"symbol"`
	Kind      string `json:"kind"`
	Path      string `json:"path"`
	LineStart uint32 `json:"line_start"`
	LineEnd   uint32 `json:"line_end"`
	// Match says how the name matched: exact, prefix or substring (case
	// aside), which is also the order of the results.
	Match string `json:"match"`
}

// ContextQueryInput searches symbol names.
type ContextQueryInput struct {
	Query  string `json:"query"`
	Limit  int    `json:"limit,omitempty"` // 0: DefaultContextQueryLimit
	Offset int    `json:"offset,omitempty"`
}

// DefaultContextQueryLimit is the page size of a query that gives none.
const DefaultContextQueryLimit = 50

// MaxContextQueryLimit caps a query's page.
const MaxContextQueryLimit = 1000

// ContextQueryOutput is a page of matches (the original's {query,
// matches, count}, with the total and where the next page starts).
type ContextQueryOutput struct {
	Query   string            `json:"query"`
	Matches []SymbolMatchJSON `json:"matches"`
	Count   int               `json:"count"`
	Total   int               `json:"total"`
	// NextOffset is the offset of the next page, 0 when this is the last.
	NextOffset int `json:"next_offset,omitempty"`
}

var ContextQuery = Op[ContextQueryInput, ContextQueryOutput]{
	Name: "context_query", Title: "Find symbols", ReadOnly: true, Idempotent: true,
	Description: "Find symbols of the indexed files by name, ignoring case: exact matches first, then names starting with the query, then names containing it; paged.",
	Run: func(ctx context.Context, s *Session, in ContextQueryInput) (ContextQueryOutput, error) {
		if strings.TrimSpace(in.Query) == "" {
			return ContextQueryOutput{}, newErr(CodeInvalidArgs, "the query must not be empty")
		}
		if err := checkText("query", in.Query, MaxNameBytes); err != nil {
			return ContextQueryOutput{}, err
		}
		if in.Limit == 0 {
			in.Limit = DefaultContextQueryLimit
		}
		if in.Limit < 0 || in.Limit > MaxContextQueryLimit || in.Offset < 0 {
			return ContextQueryOutput{}, newErr(CodeInvalidArgs, "limit must be between 1 and %d and offset at least 0, got %d and %d", MaxContextQueryLimit, in.Limit, in.Offset)
		}
		found, total, err := s.Store().QuerySymbols(ctx, in.Query, in.Limit, in.Offset)
		if err != nil {
			return ContextQueryOutput{}, err
		}
		out := ContextQueryOutput{Query: in.Query, Matches: make([]SymbolMatchJSON, len(found)), Count: len(found), Total: total}
		for i, m := range found {
			out.Matches[i] = SymbolMatchJSON{Symbol: m.Name, Kind: m.Kind, Path: m.Path, LineStart: m.LineStart, LineEnd: m.LineEnd, Match: m.Match}
		}
		if end := in.Offset + len(found); end < total {
			out.NextOffset = end
		}
		return out, nil
	},
}

// FileContextJSON is the record of one file (the original's context show).
type FileContextJSON struct {
	Path        string         `json:"path"`
	Language    string         `json:"language"`
	Summary     string         `json:"summary"`
	ContentHash string         `json:"content_hash"`
	Symbols     []event.Symbol `json:"symbols"`
	SymbolCount int            `json:"symbol_count"`
}

// ContextShowInput names a file: relative to Dir (the CLI's working
// directory; empty: the top of the working tree), or absolute.
type ContextShowInput struct {
	Path string `json:"path"`
	Dir  string `json:"-"`
}

var ContextShow = Op[ContextShowInput, FileContextJSON]{
	Name: "context_show", Title: "Show a file's context", ReadOnly: true, Idempotent: true,
	Description: "The indexed record of one file: language, summary, content hash and its symbols with their lines.",
	Run: func(ctx context.Context, s *Session, in ContextShowInput) (FileContextJSON, error) {
		path, err := s.repoPath(in.Dir, in.Path)
		if err != nil {
			return FileContextJSON{}, err
		}
		fc, ok, err := s.Store().FileContext(ctx, path)
		if err != nil {
			return FileContextJSON{}, err
		}
		if !ok {
			return FileContextJSON{}, newErr(CodeNotFound, "no context found for '%s'", path).
				suggest(fmt.Sprintf("Run 'grite context index --path %s' to index it", shellQuote(path)), "Run 'grite context query NAME' to find a symbol's file")
		}
		if fc.Deleted {
			return FileContextJSON{}, newErr(CodeNotFound, "'%s' was deleted: an index found it gone", path).
				suggest("Run 'grite context query NAME' to find a symbol's file")
		}
		return FileContextJSON{Path: fc.Path, Language: fc.Language, Summary: fc.Summary, ContentHash: hex.EncodeToString(fc.ContentHash[:]),
			Symbols: fc.Symbols, SymbolCount: len(fc.Symbols)}, nil
	},
}

// repoPath makes p, relative to dir (or the top of the working tree) or
// absolute, a path from the top of the working tree with '/' separators,
// as the context store keys files.
func (s *Session) repoPath(dir, p string) (string, error) {
	if strings.TrimSpace(p) == "" {
		return "", newErr(CodeInvalidArgs, "the path must not be empty")
	}
	top := s.Repo.WorkTree
	if top == "" {
		// A bare repository: paths are taken as they are given.
		return filepath.ToSlash(filepath.Clean(p)), nil
	}
	abs := p
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(cmp.Or(dir, top), p)
	}
	rel, ok := within(top, abs)
	if !ok {
		// The directory may reach the working tree through a symbolic
		// link (git names the tree by its real path).
		realTop, err1 := filepath.EvalSymlinks(top)
		realDir, err2 := filepath.EvalSymlinks(filepath.Dir(abs))
		if err1 == nil && err2 == nil {
			rel, ok = within(realTop, filepath.Join(realDir, filepath.Base(abs)))
		}
	}
	if !ok {
		return "", newErr(CodeInvalidArgs, "path %q is outside the working tree %s", p, top)
	}
	return filepath.ToSlash(rel), nil
}

// within is p relative to top, if p is top or under it.
func within(top, p string) (string, bool) {
	rel, err := filepath.Rel(top, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return rel, true
}

// shellQuote quotes s for a suggested command line when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ContextEntry is one project context value, the latest written for its
// key (the original grite's ProjectContextUpdated).
type ContextEntry struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// ContextProjectOutput lists the project context (the original's
// {entries, count}).
type ContextProjectOutput struct {
	Entries []ContextEntry `json:"entries"`
	Count   int            `json:"count"`
}

var ContextProject = Op[struct{}, ContextProjectOutput]{
	Name: "context_project", Title: "List project context", ReadOnly: true, Idempotent: true,
	Description: "Every project context key with its value, by key.",
	Run: func(ctx context.Context, s *Session, _ struct{}) (ContextProjectOutput, error) {
		entries, err := s.Store().ProjectContext(ctx)
		if err != nil {
			return ContextProjectOutput{}, err
		}
		out := ContextProjectOutput{Entries: make([]ContextEntry, len(entries)), Count: len(entries)}
		for i, e := range entries {
			out.Entries[i] = ContextEntry{e.Key, e.Value}
		}
		return out, nil
	},
}

// ContextGetInput names a project context key.
type ContextGetInput struct {
	Key string `json:"key"`
}

var ContextGet = Op[ContextGetInput, ContextEntry]{
	Name: "context_get", Title: "Read a project context value", ReadOnly: true, Idempotent: true,
	Description: "The value of one project context key.",
	Run: func(ctx context.Context, s *Session, in ContextGetInput) (ContextEntry, error) {
		if err := checkContextKey(in.Key); err != nil {
			return ContextEntry{}, err
		}
		e, ok, err := s.Store().ProjectValue(ctx, in.Key)
		if err != nil {
			return ContextEntry{}, err
		}
		if !ok {
			return ContextEntry{}, newErr(CodeNotFound, "project context key '%s' not found", in.Key).
				suggest("Run 'grite context project' to list the keys")
		}
		return ContextEntry{e.Key, e.Value}, nil
	},
}

func checkContextKey(key string) error {
	if err := checkText("key", key, MaxContextKeyBytes); err != nil {
		return err
	}
	if strings.TrimSpace(key) == "" {
		return newErr(CodeInvalidArgs, "the key must not be empty or blank")
	}
	if hasControl(key, false) {
		return newErr(CodeInvalidArgs, "the key must not contain control characters")
	}
	return nil
}

// ContextSetInput sets a project context value.
type ContextSetInput struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// ContextSetOutput reports a set (the original's {key, value, action}).
type ContextSetOutput struct {
	Key     string `json:"key"`
	Value   string `json:"value"`
	Action  string `json:"action"`
	EventID string `json:"event_id,omitempty"`
	WALHead string `json:"wal_head"`
	// Changed is false when the key already had the value: then no event
	// is written.
	Changed bool `json:"changed"`
}

var ContextSet = Op[ContextSetInput, ContextSetOutput]{
	Name: "context_set", Title: "Set a project context value", Idempotent: true,
	Description: "Set a project context key to a value; the latest write of a key wins on every clone.",
	Run: func(ctx context.Context, s *Session, in ContextSetInput) (ContextSetOutput, error) {
		if err := checkContextKey(in.Key); err != nil {
			return ContextSetOutput{}, err
		}
		if err := checkText("value", in.Value, MaxContextValueBytes); err != nil {
			return ContextSetOutput{}, err
		}
		out := ContextSetOutput{Key: in.Key, Value: in.Value, Action: "set"}
		cur, ok, err := s.Store().ProjectValue(ctx, in.Key)
		if err != nil {
			return out, err
		}
		if ok && cur.Value == in.Value {
			head, err := s.WAL.Head()
			out.WALHead = hashOrEmpty(head)
			return out, err
		}
		// After the value it replaces, even with a clock behind its writer's.
		ts := s.nowMS()
		if ok && cur.TS >= ts {
			ts = cur.TS + 1
		}
		events := []event.Event{{IssueID: event.ProjectContextIssueID, Actor: s.Actor.ID, TS: ts, Kind: event.ProjectContextUpdated{Key: in.Key, Value: in.Value}}}
		head, err := s.append(ctx, events, false)
		if err != nil {
			return out, err
		}
		out.EventID, out.WALHead, out.Changed = events[0].ID.String(), head.String(), true
		return out, nil
	},
}

// ContextInput is one call of the context tool (MCP): Action picks the
// operation, and the other fields are its arguments. Limit and Offset
// page what the action lists: a query's matches, a file's symbols, the
// project context's entries.
type ContextInput struct {
	Action string `json:"action"` // query, show, project or set
	Query  string `json:"query,omitempty"`
	Path   string `json:"path,omitempty"`
	Key    string `json:"key,omitempty"`
	Value  string `json:"value,omitempty"`
	Limit  int    `json:"limit,omitempty"` // 0: the action's default
	Offset int    `json:"offset,omitempty"`
	// ReadOnly refuses set (a read-only MCP server).
	ReadOnly bool `json:"-"`
}

// Default pages of the context tool's lists; a query's is
// DefaultContextQueryLimit.
const (
	DefaultContextSymbols = 500
	DefaultContextEntries = 100
	// MaxListedValueBytes cuts the values of a listing of the project
	// context; a key's own value is given whole.
	MaxListedValueBytes = 1000
)

// ContextOutput is the result of any action of the context tool: the
// fields of its action are set, the others left out.
type ContextOutput struct {
	Action string `json:"action"`
	// query
	Query   string            `json:"query,omitempty"`
	Matches []SymbolMatchJSON `json:"matches,omitempty"`
	// show: the file, with a page of its symbols (symbol_count has them
	// all)
	File *FileContextJSON `json:"file,omitempty"`
	// project without a key: a page of the entries, values cut at
	// MaxListedValueBytes
	Entries []ContextEntry `json:"entries,omitempty"`
	// project with a key, and set
	Key   string  `json:"key,omitempty"`
	Value *string `json:"value,omitempty"`
	// set
	Changed bool   `json:"changed,omitempty"`
	EventID string `json:"event_id,omitempty"`
	// Total counts what the action lists (matches, symbols, entries);
	// NextCursor, an offset, is where the next page starts.
	Total      int    `json:"total,omitempty"`
	HasMore    bool   `json:"has_more,omitempty"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// page sets the paging fields for a page of n from offset of total.
func (o *ContextOutput) page(offset, n, total int) {
	o.Total = total
	if end := offset + n; end < total {
		o.HasMore, o.NextCursor = true, strconv.Itoa(end)
	}
}

// window is the part [offset, offset+limit) of a list of n, clamped.
func window(offset, limit, n int) (int, int) {
	start := min(offset, n)
	return start, start + min(limit, n-start)
}

var Context = Op[ContextInput, ContextOutput]{
	Name: "context", Title: "Context store", Idempotent: true,
	Description: "The context store of the repository's code (indexed by 'grite context index') and of project facts. " +
		"action query: symbols whose name contains query, ranked exact, prefix, substring (case aside), with file and lines; " +
		"show: a file's language, summary and symbols; project: the project facts, or one key's value; set: set a key's value, for every clone.",
	Run: func(ctx context.Context, s *Session, in ContextInput) (ContextOutput, error) {
		out := ContextOutput{Action: in.Action}
		given := map[string]bool{"query": in.Query != "", "path": in.Path != "", "key": in.Key != "", "value": in.Value != "",
			"limit": in.Limit != 0, "cursor": in.Offset != 0}
		takes := map[string][]string{"query": {"query", "limit", "cursor"}, "show": {"path", "limit", "cursor"},
			"project": {"key", "limit", "cursor"}, "set": {"key", "value"}}
		args, ok := takes[in.Action]
		if !ok {
			return out, newErr(CodeInvalidArgs, "action must be query, show, project or set, got %q", in.Action)
		}
		if in.Action == "set" && in.ReadOnly {
			return out, newErr(CodeInvalidArgs, "action set writes, and this server offers reads only (read-only mode)").
				suggest("Run 'grite context set KEY VALUE', or use a grite-mcp without --read-only")
		}
		for _, name := range []string{"query", "path", "key", "value", "limit", "cursor"} {
			if given[name] && !slices.Contains(args, name) {
				return out, newErr(CodeInvalidArgs, "%s is not an argument of action %s (it takes %s)", name, in.Action, strings.Join(args, ", "))
			}
		}
		if in.Limit < 0 || in.Offset < 0 {
			return out, newErr(CodeInvalidArgs, "limit and the cursor must not be negative")
		}
		switch in.Action {
		case "query":
			r, err := ContextQuery.Run(ctx, s, ContextQueryInput{Query: in.Query, Limit: in.Limit, Offset: in.Offset})
			out.Query, out.Matches = r.Query, r.Matches
			out.page(in.Offset, len(r.Matches), r.Total)
			return out, err
		case "show":
			r, err := ContextShow.Run(ctx, s, ContextShowInput{Path: in.Path})
			if err != nil {
				return out, err
			}
			start, end := window(in.Offset, cmp.Or(in.Limit, DefaultContextSymbols), len(r.Symbols))
			r.Symbols = r.Symbols[start:end]
			out.File = &r
			out.page(start, len(r.Symbols), r.SymbolCount)
			return out, nil
		case "project":
			if in.Key != "" {
				if given["limit"] || given["cursor"] {
					return out, newErr(CodeInvalidArgs, "limit and cursor page the list of keys; a key's value comes whole")
				}
				r, err := ContextGet.Run(ctx, s, ContextGetInput{Key: in.Key})
				out.Key, out.Value = r.Key, &r.Value
				return out, err
			}
			r, err := ContextProject.Run(ctx, s, struct{}{})
			if err != nil {
				return out, err
			}
			start, end := window(in.Offset, cmp.Or(in.Limit, DefaultContextEntries), len(r.Entries))
			out.Entries = r.Entries[start:end]
			for i := range out.Entries {
				if v := out.Entries[i].Value; len(v) > MaxListedValueBytes {
					out.Entries[i].Value = oneLine(v, MaxListedValueBytes)
				}
			}
			out.page(start, len(out.Entries), r.Count)
			return out, nil
		}
		// set
		r, err := ContextSet.Run(ctx, s, ContextSetInput{Key: in.Key, Value: in.Value})
		out.Key, out.Value, out.Changed, out.EventID = r.Key, &r.Value, r.Changed, r.EventID
		return out, err
	},
}
