package codeindex_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"grite/codeindex"
	"grite/event"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// render lists symbols one a line, "first-last kind name", after the
// file's language and summary.
func render(r event.ContextUpdated, symbols []event.Symbol) string {
	var b strings.Builder
	fmt.Fprintf(&b, "language: %s\nsummary: %s\n", r.Language, r.Summary)
	for _, s := range symbols {
		fmt.Fprintf(&b, "%d-%d %s %s\n", s.LineStart, s.LineEnd, s.Kind, s.Name)
	}
	return b.String()
}

// TestFixturesExtractGoldenSymbols extracts every fixture under
// testdata/fixtures and compares its symbols, in line order with their
// line ranges, its language and its summary with the fixture's .golden
// file (go test ./codeindex -update rewrites them; review the diff).
func TestFixturesExtractGoldenSymbols(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "fixtures", "*"))
	if err != nil {
		t.Fatal(err)
	}
	x := codeindex.New()
	p := x.NewParser()
	defer p.Close()
	seen := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, ".golden") {
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			content, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			rec, err := p.Record(context.Background(), filepath.Base(f), content)
			if err != nil {
				t.Fatal(err)
			}
			seen[rec.Language] = true
			symbols, err := p.Symbols(context.Background(), content, rec.Language)
			if err != nil {
				t.Fatal(err)
			}
			if len(symbols) == 0 {
				t.Fatalf("no symbols in %s", f)
			}
			if got, want := rec.Symbols, event.SortedSymbols(symbols); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("record's symbols are not the extracted ones in canonical order:\n%v\n%v", got, want)
			}
			if rec.ContentHash != sha256.Sum256(content) {
				t.Errorf("content hash is not the SHA-256 of the content")
			}
			got := render(rec, symbols)
			golden := f + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./codeindex -update)", err)
			}
			if got != string(want) {
				t.Errorf("%s:\ngot\n%s\nwant\n%s", f, got, want)
			}
		})
	}
	for _, lang := range []string{"go", "python", "typescript", "typescriptreact", "javascript", "rust", "java", "c", "cpp", "ruby", "elixir"} {
		if !seen[lang] {
			t.Errorf("no fixture of %s", lang)
		}
	}
}

// The original grite's own extractor tests, as cases: each name must be
// found with its kind and, where the original checks them, its lines.
func TestOriginalExtractorCases(t *testing.T) {
	type want struct {
		name, kind string
		start, end uint32 // 0: not checked
	}
	cases := []struct {
		lang, src string
		want      []want
	}{
		{"rust", "pub struct Config {\n    pub name: String,\n    pub value: u32,\n}\n\npub fn process(config: &Config) -> String {\n    format!(\"{}: {}\", config.name, config.value)\n}\n",
			[]want{{"Config", "struct", 1, 4}, {"process", "function", 6, 8}}},
		{"python", "class MyClass:\n    def __init__(self):\n        self.x = 0\n\n    def method(self):\n        return self.x\n\ndef standalone():\n    pass\n",
			[]want{{"MyClass", "class", 1, 6}, {"__init__", "function", 2, 3}, {"method", "function", 5, 6}, {"standalone", "function", 8, 9}}},
		{"go", "package main\n\ntype Config struct {\n    Name string\n}\n\ntype Handler interface {\n    Handle()\n}\n",
			[]want{{"Config", "struct", 3, 5}, {"Handler", "interface", 7, 9}}},
		{"typescript", "type UserId = string;\nconst fetchData = async (url: string) => {\n    return fetch(url);\n};\n",
			[]want{{"UserId", "type", 1, 1}, {"fetchData", "function", 2, 4}}},
	}
	p := codeindex.New().NewParser()
	defer p.Close()
	for _, c := range cases {
		symbols, err := p.Symbols(context.Background(), []byte(c.src), c.lang)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range c.want {
			found := false
			for _, s := range symbols {
				if s.Name == w.name && s.Kind == w.kind && (w.start == 0 || s.LineStart == w.start && s.LineEnd == w.end) {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: no %s %s at %d-%d in %v", c.lang, w.kind, w.name, w.start, w.end, symbols)
			}
		}
	}
}

func TestDetectLanguageAsTheOriginal(t *testing.T) {
	cases := map[string]string{
		"src/main.rs": "rust", "app.py": "python", "index.ts": "typescript", "component.tsx": "typescriptreact",
		"a.js": "javascript", "a.jsx": "javascript", "main.go": "go", "Main.java": "java", "main.c": "c", "x.h": "c",
		"main.cpp": "cpp", "x.hpp": "cpp", "x.cc": "cpp", "x.cxx": "cpp", "app.rb": "ruby", "lib.ex": "elixir", "t.exs": "elixir",
		"README.md": "unknown", "Makefile": "unknown", ".rs": "unknown", "dir.go/file": "unknown", "MAIN.GO": "unknown", "a.tar.go": "go",
	}
	for path, want := range cases {
		if got := codeindex.DetectLanguage(path); got != want {
			t.Errorf("DetectLanguage(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestSummaryAsTheOriginal(t *testing.T) {
	sym := func(name, kind string) event.Symbol { return event.Symbol{Name: name, Kind: kind} }
	cases := []struct {
		path, lang string
		symbols    []event.Symbol
		want       string
	}{
		{"src/config.rs", "rust", []event.Symbol{sym("Config", "struct"), sym("new", "function"), sym("load", "function")}, "defines Config; 2 functions"},
		{"src/App.tsx", "typescriptreact", []event.Symbol{sym("App", "function")}, "1 functions"},
		{"src/App.tsx", "typescriptreact", nil, "typescript file"},
		{"a/b.rs", "rust", []event.Symbol{sym("MAX", "const")}, "b.rs (rust)"},
		{"m.py", "python", []event.Symbol{sym("A", "class"), sym("B", "class"), sym("C", "interface"), sym("D", "struct"), sym("E", "class"), sym("f", "method")}, "defines A, B, C (+2 more); 1 functions"},
	}
	for _, c := range cases {
		if got := codeindex.Summary(c.path, c.symbols, c.lang); got != c.want {
			t.Errorf("Summary(%s, %v) = %q, want %q", c.path, c.symbols, got, c.want)
		}
	}
}

// TestHostileContentGivesSymbolsOrNone: binary bytes, invalid UTF-8 in a
// name, an unterminated construct and empty input parse without a panic,
// and every name that comes out is valid UTF-8.
func TestHostileContentGivesSymbolsOrNone(t *testing.T) {
	p := codeindex.New().NewParser()
	defer p.Close()
	inputs := map[string][]byte{
		"binary":         {0, 1, 2, 0xff, 0xfe, 0, 'f', 'n', ' ', 'x', '(', ')', '{', '}'},
		"invalid utf-8":  []byte("def caf\xe9():\n    pass\n\nclass \xff\xfeThing:\n    pass\n"),
		"unterminated":   []byte("func broken( {\n\ntype T struct {\n"),
		"empty":          nil,
		"deeply nested":  bytes.Repeat([]byte("("), 100000),
		"nul in a name":  []byte("function a\x00b() {}\n"),
		"one long line":  bytes.Repeat([]byte("x = 1; "), 5000),
		"only a comment": []byte("// nothing here\n"),
	}
	for _, lang := range []string{"go", "python", "typescript", "typescriptreact", "javascript", "rust", "java", "c", "cpp", "ruby", "elixir", "unknown"} {
		for what, in := range inputs {
			symbols, err := p.Symbols(context.Background(), in, lang)
			if err != nil {
				t.Fatalf("%s %s: %v", lang, what, err)
			}
			for _, s := range symbols {
				if s.Name != strings.ToValidUTF8(s.Name, "\uFFFD") || s.LineStart == 0 || s.LineEnd < s.LineStart {
					t.Errorf("%s %s: bad symbol %+v", lang, what, s)
				}
			}
		}
	}
	// tree-sitter reads an invalid byte as the end of a name; the
	// symbols around it are still found.
	symbols, _ := p.Symbols(context.Background(), inputs["invalid utf-8"], "python")
	if fmt.Sprint(symbols) != "[{caf function 1 2} {Thing class 4 5}]" {
		t.Errorf("invalid UTF-8 in names: %v", symbols)
	}
}

// TestParsersRunConcurrently: one Extractor shared by parsers on several
// goroutines (the index's workers) gives each the same symbols (run with
// -race).
func TestParsersRunConcurrently(t *testing.T) {
	x := codeindex.New()
	content, err := os.ReadFile(filepath.Join("testdata", "fixtures", "sample.ts"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make([]string, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := x.NewParser()
			defer p.Close()
			for range 20 {
				s, err := p.Symbols(context.Background(), content, "typescript")
				if err != nil {
					t.Error(err)
					return
				}
				results[i] = fmt.Sprint(s)
			}
		}()
	}
	wg.Wait()
	for _, r := range results[1:] {
		if r != results[0] {
			t.Fatalf("goroutines disagree:\n%s\n%s", r, results[0])
		}
	}
}

func TestSymbolsStopWithTheContext(t *testing.T) {
	p := codeindex.New().NewParser()
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Symbols(ctx, bytes.Repeat([]byte("fn a() {}\n"), 100000), "rust"); err == nil {
		t.Fatal("a cancelled context gave no error")
	}
	// The parser is usable again afterwards.
	s, err := p.Symbols(context.Background(), []byte("fn a() {}\n"), "rust")
	if err != nil || len(s) != 1 {
		t.Fatalf("after a cancelled parse: %v, %v", s, err)
	}
}

// TestEveryQueryCompiles: each language's query compiles against the
// bundled grammar, with a pattern per kind (a refused query would fall
// back to regular expressions without a word).
func TestEveryQueryCompiles(t *testing.T) {
	errs := codeindex.CompileQueries(codeindex.New())
	if len(errs) != 11 {
		t.Fatalf("%d languages, want 11", len(errs))
	}
	for lang, err := range errs {
		if err != nil {
			t.Errorf("%s: %v", lang, err)
		}
	}
}
