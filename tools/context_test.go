package tools_test

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"grite/event"
	"grite/internal/testrepo"
	"grite/tools"
	"grite/wal"
)

// writeFiles writes files (path from the top of the working tree:
// content) and commits them.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	testrepo.WriteFiles(t, dir, files)
	testrepo.Git(t, dir, "commit", "-q", "-m", "files")
}

func walCommits(t *testing.T, a *coordAgent) int {
	t.Helper()
	head, err := a.s.WAL.Head()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := a.s.WAL.Walk(t.Context(), head, wal.ReadOptions{}, func(wal.Commit) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func index(a *coordAgent, in tools.ContextIndexInput) tools.ContextIndexOutput {
	a.t.Helper()
	return coordMust(a, tools.ContextIndex, in)
}

func codeOf(err error) tools.Code {
	var e *tools.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// TestContextIndexWritesChangedFilesInOneCommit: the first index records
// every file of a known language in one WAL commit; the next records
// nothing; a changed file alone is recorded again; --force records all.
func TestContextIndexWritesChangedFilesInOneCommit(t *testing.T) {
	r := newCoordRepo(t)
	writeFiles(t, r.dir, map[string]string{
		"main.go":        "package main\n\nfunc main() {}\n",
		"lib/util.py":    "def helper():\n    pass\n\nclass Tool:\n    def run(self):\n        pass\n",
		"web/app.ts":     "export function start(): void {}\n",
		"docs/notes.txt": "notes\n",
	})
	a := r.agent("indexer")
	out := index(a, tools.ContextIndexInput{})
	// README (from testrepo) and notes.txt are of no known language.
	if out.Indexed != 3 || out.Skipped != 2 || out.TotalFiles != 5 || out.Unsupported != 2 || out.Events != 3 || out.Commits != 1 {
		t.Fatalf("first index: %+v", out)
	}
	if n := walCommits(t, a); n != 1 {
		t.Fatalf("%d WAL commits, want 1", n)
	}
	show := coordMust(a, tools.ContextShow, tools.ContextShowInput{Path: "lib/util.py"})
	if show.Language != "python" || show.Summary != "defines Tool; 2 functions" || show.SymbolCount != 3 ||
		fmt.Sprint(show.Symbols) != "[{Tool class 4 6} {helper function 1 2} {run function 5 6}]" {
		t.Fatalf("show: %+v", show)
	}

	again := index(a, tools.ContextIndexInput{})
	if again.Indexed != 0 || again.Unchanged != 3 || again.Events != 0 || again.Commits != 0 || again.WALHead != out.WALHead {
		t.Fatalf("unchanged index: %+v", again)
	}
	writeFiles(t, r.dir, map[string]string{"main.go": "package main\n\nfunc main() {}\n\nfunc other() {}\n"})
	one := index(a, tools.ContextIndexInput{})
	if one.Indexed != 1 || one.Unchanged != 2 || one.Events != 1 {
		t.Fatalf("one change: %+v", one)
	}
	if s := coordMust(a, tools.ContextShow, tools.ContextShowInput{Path: "main.go"}); s.SymbolCount != 2 {
		t.Fatalf("main.go after the change: %+v", s)
	}
	forced := index(a, tools.ContextIndexInput{Force: true})
	if forced.Indexed != 3 || forced.Unchanged != 0 || forced.Commits != 1 {
		t.Fatalf("--force: %+v", forced)
	}
	if n := walCommits(t, a); n != 3 {
		t.Fatalf("%d WAL commits, want 3 (first, one change, force)", n)
	}
}

func TestContextIndexPatternAndPaths(t *testing.T) {
	r := newCoordRepo(t)
	writeFiles(t, r.dir, map[string]string{
		"a.go": "package a\n\nfunc A() {}\n", "src/b.go": "package b\n\nfunc B() {}\n",
		"src/c.py": "def c():\n    pass\n", "src/deep/d.rs": "fn d() {}\n",
	})
	a := r.agent("indexer")
	if out := index(a, tools.ContextIndexInput{Pattern: "*.go"}); out.Indexed != 2 || out.TotalFiles != 2 {
		t.Fatalf("--pattern '*.go' (matches in subdirectories, as the original's glob): %+v", out)
	}
	if out := index(a, tools.ContextIndexInput{Paths: []string{"src"}, Pattern: "src/*.py"}); out.Indexed != 1 || out.TotalFiles != 1 {
		t.Fatalf("--path src --pattern src/*.py: %+v", out)
	}
	// Paths are relative to the caller's directory.
	if out := index(a, tools.ContextIndexInput{Paths: []string{"deep"}, Dir: filepath.Join(r.dir, "src")}); out.Indexed != 1 || out.TotalFiles != 1 {
		t.Fatalf("--path deep from src/: %+v", out)
	}
	if _, err := coordCall(a, tools.ContextShow, tools.ContextShowInput{Path: "d.rs", Dir: filepath.Join(r.dir, "src", "deep")}); err != nil {
		t.Fatalf("show d.rs from src/deep: %v", err)
	}
	_, err := coordCall(a, tools.ContextIndex, tools.ContextIndexInput{Pattern: "[unclosed"})
	if codeOf(err) != tools.CodeInvalidArgs {
		t.Fatalf("bad pattern: %v", err)
	}
	_, err = coordCall(a, tools.ContextIndex, tools.ContextIndexInput{Paths: []string{"no/such/dir"}})
	if codeOf(err) != tools.CodeNotFound || !strings.Contains(err.Error(), "no/such/dir") {
		t.Fatalf("unknown path: %v", err)
	}
	_, err = coordCall(a, tools.ContextIndex, tools.ContextIndexInput{Paths: []string{"../../elsewhere"}})
	if codeOf(err) != tools.CodeInvalidArgs {
		t.Fatalf("a path outside the working tree: %v", err)
	}
	if _, err := coordCall(a, tools.ContextShow, tools.ContextShowInput{Path: "never/indexed.go"}); codeOf(err) != tools.CodeNotFound {
		t.Fatalf("show of an unknown path: %v", err)
	}
}

// TestContextIndexRecordsDeletedFiles: a file removed from git, or from
// the working tree only, gets a deletion record: show says so, its
// symbols are no longer found, and indexing it again when it comes back
// records it anew. A --path naming only deleted files is not an error.
func TestContextIndexRecordsDeletedFiles(t *testing.T) {
	r := newCoordRepo(t)
	writeFiles(t, r.dir, map[string]string{
		"keep.go": "package x\n\nfunc Keep() {}\n", "gone.go": "package x\n\nfunc Gone() {}\n",
		"old/x.py": "def old_x():\n    pass\n", "wt.rs": "fn working_tree() {}\n",
	})
	a := r.agent("indexer")
	index(a, tools.ContextIndexInput{})
	testrepo.Git(t, r.dir, "rm", "-q", "gone.go")
	testrepo.Git(t, r.dir, "commit", "-q", "-m", "rm")
	if err := os.Remove(filepath.Join(r.dir, "wt.rs")); err != nil {
		t.Fatal(err)
	}
	out := index(a, tools.ContextIndexInput{})
	if !slices.Equal(out.Deleted, []string{"gone.go", "wt.rs"}) || out.Events != 2 || out.Indexed != 0 {
		t.Fatalf("index after deletions: %+v", out)
	}
	if _, err := coordCall(a, tools.ContextShow, tools.ContextShowInput{Path: "gone.go"}); codeOf(err) != tools.CodeNotFound || !strings.Contains(err.Error(), "deleted") {
		t.Fatalf("show of a deleted file: %v", err)
	}
	if q := coordMust(a, tools.ContextQuery, tools.ContextQueryInput{Query: "Gone"}); q.Total != 0 {
		t.Fatalf("a deleted file's symbols are still found: %+v", q)
	}
	if again := index(a, tools.ContextIndexInput{}); len(again.Deleted) != 0 || again.Events != 0 || len(again.Problems) != 0 {
		t.Fatalf("deletions recorded twice: %+v", again)
	}

	// --path old, after old/ is removed: the path matches no tracked file
	// but names an indexed one, which is recorded as deleted.
	testrepo.Git(t, r.dir, "rm", "-q", "-r", "old")
	testrepo.Git(t, r.dir, "commit", "-q", "-m", "rm old")
	if out := index(a, tools.ContextIndexInput{Paths: []string{"old"}}); !slices.Equal(out.Deleted, []string{"old/x.py"}) || out.TotalFiles != 0 {
		t.Fatalf("--path old after removing old/: %+v", out)
	}
	// A --path elsewhere leaves the other records alone.
	writeFiles(t, r.dir, map[string]string{"gone.go": "package x\n\nfunc Back() {}\n"})
	if out := index(a, tools.ContextIndexInput{Paths: []string{"keep.go"}}); out.Events != 0 {
		t.Fatalf("--path keep.go wrote %+v", out)
	}
	if out := index(a, tools.ContextIndexInput{}); out.Indexed != 1 {
		t.Fatalf("gone.go back: %+v", out)
	}
	if s := coordMust(a, tools.ContextShow, tools.ContextShowInput{Path: "gone.go"}); s.Symbols[0].Name != "Back" {
		t.Fatalf("gone.go back: %+v", s)
	}
}

// TestContextIndexBadInput: a binary file, a file too large, a symbolic
// link and a file of invalid UTF-8 give a clear result each, the other
// files are indexed, and the record an earlier index made of the file
// now too large is kept.
func TestContextIndexBadInput(t *testing.T) {
	r := newCoordRepo(t)
	writeFiles(t, r.dir, map[string]string{
		"big.go":    "package big\n\nfunc Small() {}\n",
		"bin.go":    "package x\x00\x01\x02",
		"latin1.py": "def caf\xe9():\n    pass\n\ndef ok():\n    pass\n",
		"fine.rs":   "fn fine() {}\n",
	})
	if err := os.Symlink("fine.rs", filepath.Join(r.dir, "link.rs")); err != nil {
		t.Fatal(err)
	}
	testrepo.Git(t, r.dir, "add", "link.rs")
	testrepo.Git(t, r.dir, "commit", "-q", "-m", "link")
	a := r.agent("indexer")
	first := index(a, tools.ContextIndexInput{})
	if first.Indexed != 3 {
		t.Fatalf("first index: %+v", first)
	}
	huge := "package big\n\n" + strings.Repeat("// padding\n", tools.MaxIndexFileBytes/10)
	writeFiles(t, r.dir, map[string]string{"big.go": huge})
	out := index(a, tools.ContextIndexInput{})
	reasons := map[string]string{}
	for _, p := range out.Problems {
		reasons[p.Path] = p.Reason
	}
	if !strings.HasPrefix(reasons["bin.go"], "binary") || !strings.HasPrefix(reasons["big.go"], "too large") ||
		!strings.Contains(reasons["link.rs"], "not a regular file") || len(reasons) != 3 {
		t.Fatalf("problems: %+v", out.Problems)
	}
	if s := coordMust(a, tools.ContextShow, tools.ContextShowInput{Path: "big.go"}); s.Symbols[0].Name != "Small" {
		t.Fatalf("big.go's earlier record was lost: %+v", s)
	}
	s := coordMust(a, tools.ContextShow, tools.ContextShowInput{Path: "latin1.py"})
	if fmt.Sprint(s.Symbols) != "[{caf function 1 2} {ok function 4 5}]" {
		t.Fatalf("invalid UTF-8: %+v", s)
	}
}

func TestContextQueryRanksAndPages(t *testing.T) {
	r := newCoordRepo(t)
	writeFiles(t, r.dir, map[string]string{
		"a.go": "package a\n\ntype Config struct{}\n\nfunc config() {}\n\nfunc ConfigLoad() {}\n\nfunc LoadConfig() {}\n\nfunc unrelated() {}\n",
		"b.py": "class Config:\n    pass\n\ndef configure():\n    pass\n",
	})
	a := r.agent("indexer")
	index(a, tools.ContextIndexInput{})
	q := coordMust(a, tools.ContextQuery, tools.ContextQueryInput{Query: "Config"})
	var got []string
	for _, m := range q.Matches {
		got = append(got, fmt.Sprintf("%s:%s:%s", m.Match, m.Symbol, m.Path))
	}
	want := []string{"exact:Config:a.go", "exact:Config:b.py", "exact:config:a.go", "prefix:ConfigLoad:a.go", "prefix:configure:b.py", "substring:LoadConfig:a.go"}
	if !slices.Equal(got, want) || q.Total != 6 || q.Count != 6 || q.NextOffset != 0 {
		t.Fatalf("query Config: %v (total %d, next %d)\nwant %v", got, q.Total, q.NextOffset, want)
	}
	// Pages join up to the whole list.
	var paged []string
	for off := 0; ; {
		p := coordMust(a, tools.ContextQuery, tools.ContextQueryInput{Query: "config", Limit: 4, Offset: off})
		for _, m := range p.Matches {
			paged = append(paged, m.Symbol+":"+m.Path)
		}
		if p.NextOffset == 0 {
			break
		}
		off = p.NextOffset
	}
	if len(paged) != 6 || paged[0] != "config:a.go" {
		t.Fatalf("paged: %v (the same case first among exact matches)", paged)
	}
	for _, bad := range []tools.ContextQueryInput{{Query: ""}, {Query: "x", Limit: -1}, {Query: "x", Limit: tools.MaxContextQueryLimit + 1}, {Query: "x", Offset: -2}} {
		if _, err := coordCall(a, tools.ContextQuery, bad); codeOf(err) != tools.CodeInvalidArgs {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	if q := coordMust(a, tools.ContextQuery, tools.ContextQueryInput{Query: "zzz"}); q.Total != 0 || len(q.Matches) != 0 {
		t.Fatalf("no match: %+v", q)
	}
}

// TestProjectContextRoundTrip: set, read one key, list; setting the same
// value writes nothing; a later set wins even when the clock is behind.
func TestProjectContextRoundTrip(t *testing.T) {
	r := newCoordRepo(t)
	a := r.agent("writer")
	set := coordMust(a, tools.ContextSet, tools.ContextSetInput{Key: "test command", Value: "go test ./...\nthen lint"})
	if !set.Changed || set.EventID == "" || set.Action != "set" {
		t.Fatalf("set: %+v", set)
	}
	coordMust(a, tools.ContextSet, tools.ContextSetInput{Key: "arch", Value: "one-way data flow"})
	if again := coordMust(a, tools.ContextSet, tools.ContextSetInput{Key: "arch", Value: "one-way data flow"}); again.Changed || again.EventID != "" {
		t.Fatalf("same value again: %+v", again)
	}
	if v := coordMust(a, tools.ContextGet, tools.ContextGetInput{Key: "test command"}); v.Value != "go test ./...\nthen lint" {
		t.Fatalf("get: %+v", v)
	}
	list := coordMust(a, tools.ContextProject, struct{}{})
	if list.Count != 2 || list.Entries[0].Key != "arch" || list.Entries[1].Key != "test command" {
		t.Fatalf("list: %+v", list)
	}
	r.clock.now = r.clock.now.Add(-24 * time.Hour)
	coordMust(a, tools.ContextSet, tools.ContextSetInput{Key: "arch", Value: "layered"})
	if v := coordMust(a, tools.ContextGet, tools.ContextGetInput{Key: "arch"}); v.Value != "layered" {
		t.Fatalf("a set with the clock behind lost: %+v", v)
	}
	if _, err := coordCall(a, tools.ContextGet, tools.ContextGetInput{Key: "nope"}); codeOf(err) != tools.CodeNotFound {
		t.Fatalf("get of an unknown key: %v", err)
	}
	for _, bad := range []tools.ContextSetInput{{Key: "", Value: "x"}, {Key: " ", Value: "x"}, {Key: "a\nb", Value: "x"}, {Key: strings.Repeat("k", tools.MaxContextKeyBytes+1), Value: "x"}, {Key: "k", Value: "\xff"}} {
		if _, err := coordCall(a, tools.ContextSet, bad); codeOf(err) != tools.CodeInvalidArgs {
			t.Errorf("set %q: %v", bad.Key, err)
		}
	}
	who := coordMust(a, tools.WhoAmI, tools.WhoAmIInput{})
	if len(who.Context) != 2 || who.Context[0] != (tools.ContextEntry{Key: "arch", Value: "layered"}) || !strings.Contains(who.Text(), "- arch: layered") {
		t.Fatalf("whoami: %+v\n%s", who.Context, who.Text())
	}
}

// TestContextToolDispatchesAndRefusesWritesWhenReadOnly: the MCP face of
// the context store runs each action, refuses arguments of another
// action, and refuses set in read-only mode.
func TestContextToolDispatchesAndRefusesWritesWhenReadOnly(t *testing.T) {
	r := newCoordRepo(t)
	writeFiles(t, r.dir, map[string]string{"a.go": "package a\n\nfunc Alpha() {}\n"})
	a := r.agent("agent")
	index(a, tools.ContextIndexInput{})
	q := coordMust(a, tools.Context, tools.ContextInput{Action: "query", Query: "alp"})
	if q.Action != "query" || len(q.Matches) != 1 || q.Matches[0].Match != "prefix" {
		t.Fatalf("query: %+v", q)
	}
	if s := coordMust(a, tools.Context, tools.ContextInput{Action: "show", Path: "a.go"}); s.File == nil || s.File.SymbolCount != 1 {
		t.Fatalf("show: %+v", s)
	}
	if s := coordMust(a, tools.Context, tools.ContextInput{Action: "set", Key: "k", Value: "v"}); !s.Changed || *s.Value != "v" {
		t.Fatalf("set: %+v", s)
	}
	if p := coordMust(a, tools.Context, tools.ContextInput{Action: "project"}); len(p.Entries) != 1 {
		t.Fatalf("project: %+v", p)
	}
	if p := coordMust(a, tools.Context, tools.ContextInput{Action: "project", Key: "k"}); p.Key != "k" || *p.Value != "v" {
		t.Fatalf("project k: %+v", p)
	}
	for _, bad := range []tools.ContextInput{
		{Action: "nope"}, {Action: "query", Query: "x", Path: "a.go"}, {Action: "show", Path: "a.go", Query: "x"}, {Action: "project", Key: "k", Limit: 2},
		{Action: "set", Key: "k", Value: "w", ReadOnly: true}, {Action: "project", Value: "v"},
	} {
		_, err := coordCall(a, tools.Context, bad)
		if codeOf(err) != tools.CodeInvalidArgs {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	if v := coordMust(a, tools.ContextGet, tools.ContextGetInput{Key: "k"}); v.Value != "v" {
		t.Fatalf("a refused set wrote: %+v", v)
	}
}

// TestContextEventsAreTheOriginalsEncoding: an index and a set write
// events on the derived issues of docs/format.md §1 (BLAKE2b-16 of the
// path; ff×16), with symbols in the canonical order of §3.3, and their IDs
// are the BLAKE2b-256 of their canonical preimage.
func TestContextEventsAreTheOriginalsEncoding(t *testing.T) {
	r := newCoordRepo(t)
	writeFiles(t, r.dir, map[string]string{"src/main.rs": "fn zeta() {}\n\nstruct Alpha;\n\nfn alpha() {}\n"})
	a := r.agent("indexer")
	index(a, tools.ContextIndexInput{})
	coordMust(a, tools.ContextSet, tools.ContextSetInput{Key: "k", Value: "v"})
	events, _, err := a.s.WAL.ReadAll(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 {
		t.Fatalf("%d events", len(events))
	}
	file, proj := events[0], events[1]
	// vectors.json, context_issue_id_src/main.rs.
	if file.IssueID.String() != "e4033aa4f24d201bea69fdc78c8c3c1f" {
		t.Errorf("file context issue %s", file.IssueID)
	}
	if proj.IssueID != event.ProjectContextIssueID {
		t.Errorf("project context issue %s", proj.IssueID)
	}
	k := file.Kind.(event.ContextUpdated)
	if fmt.Sprint(k.Symbols) != "[{Alpha struct 3 3} {alpha function 5 5} {zeta function 1 1}]" {
		t.Errorf("symbols not in canonical order: %v", k.Symbols)
	}
	for _, e := range events {
		if err := e.VerifyID(); err != nil {
			t.Errorf("event %s: %v", e.ID, err)
		}
	}
	if want := sha256.Sum256([]byte("fn zeta() {}\n\nstruct Alpha;\n\nfn alpha() {}\n")); k.ContentHash != want {
		t.Errorf("content hash %x, want the file's SHA-256 %x", k.ContentHash, want)
	}
}

// TestPrimerListsAtMostTwentyProjectKeys: the primer lists the project
// context by key, twenty at most, and counts the rest as left out.
func TestPrimerListsAtMostTwentyProjectKeys(t *testing.T) {
	r := newCoordRepo(t)
	a := r.agent("writer")
	for i := range 25 {
		coordMust(a, tools.ContextSet, tools.ContextSetInput{Key: fmt.Sprintf("key%02d", i), Value: "v"})
	}
	who := coordMust(a, tools.WhoAmI, tools.WhoAmIInput{MaxChars: tools.MaxPrimerChars})
	if len(who.Context) != 20 || who.Context[0].Key != "key00" || who.Context[19].Key != "key19" || who.Omitted["context"] != 5 {
		t.Fatalf("context %d entries (first %v), omitted %v", len(who.Context), who.Context[0], who.Omitted)
	}
	if !strings.Contains(who.Text(), "5 context") {
		t.Fatalf("the text does not say what was left out:\n%s", who.Text())
	}
}
