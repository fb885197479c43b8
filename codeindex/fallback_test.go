package codeindex_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"grite/codeindex"
)

// TestFallbackExtractsWhereTreeSitterDoesNot: a file nested too deep for
// tree-sitter's queries (see maxNesting) gets the original's regular
// expressions, with their estimated line ranges; a language they do not
// cover gets no symbols.
func TestFallbackExtractsWhereTreeSitterDoesNot(t *testing.T) {
	deep := "\n// " + strings.Repeat("(", 600) + "\n"
	cases := []struct {
		lang, src, want string
	}{
		{"go", "package x\n\nfunc main() {\n}\n\ntype Config struct {\n}\n" + deep, "[{main function 3 4} {Config struct 6 7}]"},
		{"rust", "pub struct A {}\n\nimpl A {\n    pub fn new() -> Self { A {} }\n}\n" + deep, "[{A struct 1 1} {A impl 3 5} {new function 4 5}]"},
		{"python", "class A:\n    def m(self):\n        pass\n" + deep, "[{A class 1 3} {m function 2 3}]"},
		{"typescript", "export class A {}\nexport const f = async (x) => x;\n" + deep, "[{A class 1 2} {f const 2 2}]"},
		{"ruby", "class A\nend\n" + deep, "[]"},
	}
	p := codeindex.New().NewParser()
	defer p.Close()
	for _, c := range cases {
		got, err := p.Symbols(context.Background(), []byte(c.src), c.lang)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != c.want {
			t.Errorf("%s: %v, want %s", c.lang, got, c.want)
		}
	}
}

func TestPatternMatchesAsTheGlobCrate(t *testing.T) {
	cases := []struct {
		glob  string
		match []string
		not   []string
	}{
		{"*.rs", []string{"a.rs", "src/a/b.rs"}, []string{"a.rsx", "a.RS"}},
		{"src/*.go", []string{"src/a.go", "src/x/y.go"}, []string{"a.go", "lib/src/a.go"}},
		{"src/**/*.go", []string{"src/a.go", "src/x/y.go"}, []string{"srcx/a.go"}},
		{"**/test_*.py", []string{"test_a.py", "x/y/test_b.py"}, []string{"x/atest_b.py/"}},
		{"?.c", []string{"a.c"}, []string{"ab.c"}},
		{"[abc].go", []string{"a.go", "c.go"}, []string{"d.go"}},
		{"[!abc].go", []string{"d.go"}, []string{"a.go"}},
		{"[a-c]x", []string{"bx"}, []string{"dx"}},
		{"[]]", []string{"]"}, []string{"a"}},
		{"a.(go)+", []string{"a.(go)+"}, []string{"a.gogo"}},
		{"docs/cli.md", []string{"docs/cli.md"}, []string{"docs/cli.mdx"}},
	}
	for _, c := range cases {
		p, err := codeindex.CompilePattern(c.glob)
		if err != nil {
			t.Errorf("%q: %v", c.glob, err)
			continue
		}
		for _, m := range c.match {
			if !p.Match(m) {
				t.Errorf("%q does not match %q", c.glob, m)
			}
		}
		for _, m := range c.not {
			if p.Match(m) {
				t.Errorf("%q matches %q", c.glob, m)
			}
		}
	}
	for _, bad := range []string{"[abc", "a**b", "**a", "[z-a]"} {
		if _, err := codeindex.CompilePattern(bad); err == nil {
			t.Errorf("%q compiled", bad)
		}
	}
}
