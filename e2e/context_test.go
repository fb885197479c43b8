package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"grite/internal/testrepo"
)

type contextIndexOut struct {
	Indexed    int      `json:"indexed"`
	Skipped    int      `json:"skipped"`
	TotalFiles int      `json:"total_files"`
	Unchanged  int      `json:"unchanged"`
	Deleted    []string `json:"deleted"`
	Events     int      `json:"events"`
	Commits    int      `json:"commits"`
}

type contextShowOut struct {
	Path        string `json:"path"`
	Language    string `json:"language"`
	Summary     string `json:"summary"`
	ContentHash string `json:"content_hash"`
	Symbols     []struct {
		Name      string `json:"name"`
		Kind      string `json:"kind"`
		LineStart int    `json:"line_start"`
		LineEnd   int    `json:"line_end"`
	} `json:"symbols"`
	SymbolCount int `json:"symbol_count"`
}

type contextQueryOut struct {
	Query   string `json:"query"`
	Matches []struct {
		Symbol string `json:"symbol"`
		Kind   string `json:"kind"`
		Path   string `json:"path"`
		Match  string `json:"match"`
	} `json:"matches"`
	Count      int `json:"count"`
	Total      int `json:"total"`
	NextOffset int `json:"next_offset"`
}

type contextProjectOut struct {
	Entries []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"entries"`
	Count int `json:"count"`
}

// TestContextCommandsWithJSONEnvelopes drives every context command through
// the binary: envelopes, human output, error codes and exit codes.
func TestContextCommandsWithJSONEnvelopes(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	testrepo.WriteFiles(t, dir, map[string]string{
		"src/server.go": "package src\n\n// Server serves.\ntype Server struct{}\n\nfunc (s *Server) Start() error { return nil }\n\nfunc NewServer() *Server { return &Server{} }\n",
		"tools/run.py":  "class Runner:\n    def run(self):\n        pass\n",
	})
	var idx contextIndexOut
	r := mustJSON(t, dir, &idx, "context", "index")
	if idx.Indexed != 2 || idx.TotalFiles != 3 || idx.Commits != 1 || r.stderr != "" {
		t.Fatalf("index: %+v (no progress bar off a terminal)\n%s", idx, r)
	}
	if r := grite(t, dir, "context", "index"); r.code != 0 || !strings.HasPrefix(r.stdout, "indexed 0, skipped 3 of 3 files (2 unchanged, 1 of no known language)\n") {
		t.Fatalf("human index output\n%s", r)
	}
	var show contextShowOut
	mustJSON(t, dir, &show, "context", "show", "src/server.go")
	if show.Language != "go" || show.Summary != "defines Server; 2 functions" || show.SymbolCount != 3 || len(show.ContentHash) != 64 {
		t.Fatalf("show: %+v", show)
	}
	// A path relative to the working directory.
	if r := grite(t, filepath.Join(dir, "src"), "context", "show", "server.go"); r.code != 0 || !strings.Contains(r.stdout, "  6-6  function  Start\n") {
		t.Fatalf("show from src/\n%s", r)
	}
	var q contextQueryOut
	mustJSON(t, dir, &q, "context", "query", "server", "--limit", "1")
	if q.Total != 2 || q.Count != 1 || q.NextOffset != 1 || q.Matches[0].Symbol != "Server" || q.Matches[0].Match != "exact" {
		t.Fatalf("query: %+v", q)
	}
	mustJSON(t, dir, nil, "context", "set", "test", "go test ./...")
	var proj contextProjectOut
	mustJSON(t, dir, &proj, "context", "project")
	if proj.Count != 1 || proj.Entries[0].Key != "test" || proj.Entries[0].Value != "go test ./..." {
		t.Fatalf("project: %+v", proj)
	}
	if r := grite(t, dir, "context", "project", "test"); r.code != 0 || r.stdout != "go test ./...\n" {
		t.Fatalf("project test\n%s", r)
	}
	if r := grite(t, dir, "prime"); !strings.Contains(r.stdout, "Project context:\n- test: go test ./...") {
		t.Fatalf("prime does not list the project context\n%s", r)
	}

	mustFail(t, dir, "not_found", 3, "context", "show", "src/nope.go")
	mustFail(t, dir, "not_found", 3, "context", "project", "nope")
	mustFail(t, dir, "not_found", 3, "context", "index", "--path", "nope/")
	mustFail(t, dir, "invalid_args", 2, "context", "index", "--pattern", "[")
	mustFail(t, dir, "invalid_args", 2, "context", "query")
	mustFail(t, dir, "invalid_args", 2, "context", "set", "only-a-key")
	mustFail(t, dir, "invalid_args", 2, "context", "show", "../outside.go")
}

// TestContextLastWriterWinsAcrossClones: two clones index the same path
// with different content and set the same key, without seeing each
// other; after syncing both ways they show the same record and value (the
// newer write), and a write made after seeing the other's wins.
func TestContextLastWriterWinsAcrossClones(t *testing.T) {
	t.Parallel()
	_, clones := syncRemoteAndClones(t, 2)
	a, b := clones[0], clones[1]
	testrepo.WriteFiles(t, a, map[string]string{"lib.go": "package lib\n\nfunc FromA() {}\n"})
	testrepo.WriteFiles(t, b, map[string]string{"lib.go": "package lib\n\nfunc FromB() {}\n\nfunc AlsoB() {}\n"})
	mustJSON(t, a, nil, "context", "index")
	mustJSON(t, a, nil, "context", "set", "owner", "a")
	mustJSON(t, b, nil, "context", "index")
	mustJSON(t, b, nil, "context", "set", "owner", "b")
	mustSync(t, a)
	mustSync(t, b)
	mustSync(t, a)
	state := func(dir string) string {
		t.Helper()
		show := grite(t, dir, "context", "show", "lib.go", "--json")
		owner := grite(t, dir, "context", "project", "owner")
		query := grite(t, dir, "context", "query", "From", "--json")
		return show.stdout + owner.stdout + query.stdout
	}
	sa, sb := state(a), state(b)
	if sa != sb {
		t.Fatalf("clones disagree after sync:\n%s\n---\n%s", sa, sb)
	}
	if !strings.Contains(sa, "FromA") == !strings.Contains(sa, "FromB") {
		t.Fatalf("not exactly one clone's record won:\n%s", sa)
	}

	// b writes after seeing a's: b's wins everywhere.
	testrepo.WriteFiles(t, b, map[string]string{"lib.go": "package lib\n\nfunc Final() {}\n"})
	mustJSON(t, b, nil, "context", "index")
	mustJSON(t, b, nil, "context", "set", "owner", "b, last")
	mustSync(t, b)
	mustSync(t, a)
	var show contextShowOut
	mustJSON(t, a, &show, "context", "show", "lib.go")
	if len(show.Symbols) != 1 || show.Symbols[0].Name != "Final" {
		t.Fatalf("a after b's later index: %+v", show)
	}
	if r := grite(t, a, "context", "project", "owner"); r.stdout != "b, last\n" {
		t.Fatalf("a after b's later set\n%s", r)
	}
}
