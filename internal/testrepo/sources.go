package testrepo

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// SymbolsPerSource is how many symbols each file of GenerateSources
// defines (as the context store's extractor finds them).
const SymbolsPerSource = 25

// GenerateSources writes n source files into the working tree at dir,
// Go, Python, TypeScript, Rust and JavaScript in turn, 40 to a directory,
// each defining SymbolsPerSource symbols with varied names over about 150
// lines, and commits them. It returns their paths, from the top of the
// working tree.
func GenerateSources(t testing.TB, dir string, n int) []string {
	t.Helper()
	paths := make([]string, n)
	files := make(map[string]string, n)
	for i := range n {
		p, content := SourceFile(i, 0)
		paths[i], files[p] = p, content
	}
	WriteFiles(t, dir, files)
	Git(t, dir, "commit", "-q", "-m", "generated sources")
	return paths
}

var sourceWords = []string{"parse", "load", "config", "server", "handle", "index", "query", "render", "build", "store",
	"token", "cache", "event", "session", "client", "stream", "buffer", "router", "schema", "worker"}

// name is the k-th name of file i: two words and a number, in the
// language's case.
func name(i, k int, upper bool) string {
	a, b := sourceWords[(i+k)%len(sourceWords)], sourceWords[(i*7+k*3)%len(sourceWords)]
	if upper {
		return strings.ToUpper(a[:1]) + a[1:] + strings.ToUpper(b[:1]) + b[1:] + fmt.Sprint(i)
	}
	return a + "_" + b + fmt.Sprint(i)
}

// SourceFile is the path and content of the i-th generated file; a
// different version gives the same symbols in other content.
func SourceFile(i, version int) (string, string) {
	dir := fmt.Sprintf("pkg%03d", i/40)
	var b strings.Builder
	body := func(indent string) {
		for l := range 4 {
			fmt.Fprintf(&b, "%s// step %d of version %d\n", indent, l, version)
		}
	}
	switch i % 5 {
	case 0: // Go: 5 structs, each with 4 methods
		fmt.Fprintf(&b, "package pkg%d\n\n", i/40)
		for k := range 5 {
			typ := name(i, k, true)
			fmt.Fprintf(&b, "// %s holds state.\ntype %s struct {\n\tn int\n}\n\n", typ, typ)
			for m := range 4 {
				fmt.Fprintf(&b, "func (x *%s) %s() int {\n", typ, name(i, 10+k*4+m, true))
				body("\t")
				b.WriteString("\treturn x.n\n}\n\n")
			}
		}
		return fmt.Sprintf("%s/file%04d.go", dir, i), b.String()
	case 1: // Python: 5 classes, each with 4 methods
		for k := range 5 {
			fmt.Fprintf(&b, "class %s:\n", name(i, k, true))
			for m := range 4 {
				fmt.Fprintf(&b, "    def %s(self):\n", name(i, 10+k*4+m, false))
				body("        ")
				b.WriteString("        return None\n\n")
			}
		}
		return fmt.Sprintf("%s/file%04d.py", dir, i), b.String()
	case 2: // TypeScript: 5 classes, each with 4 methods
		for k := range 5 {
			fmt.Fprintf(&b, "export class %s {\n", name(i, k, true))
			for m := range 4 {
				fmt.Fprintf(&b, "    %s(): number {\n", name(i, 10+k*4+m, false))
				body("        ")
				b.WriteString("        return 0;\n    }\n\n")
			}
			b.WriteString("}\n\n")
		}
		return fmt.Sprintf("%s/file%04d.ts", dir, i), b.String()
	case 3: // Rust: 5 structs, each with an impl of 3 functions
		for k := range 5 {
			typ := name(i, k, true)
			fmt.Fprintf(&b, "pub struct %s {\n    n: u32,\n}\n\nimpl %s {\n", typ, typ)
			for m := range 3 {
				fmt.Fprintf(&b, "    pub fn %s(&self) -> u32 {\n", name(i, 10+k*4+m, false))
				body("        ")
				b.WriteString("        self.n\n    }\n\n")
			}
			b.WriteString("}\n\n")
		}
		return fmt.Sprintf("%s/file%04d.rs", dir, i), b.String()
	}
	// JavaScript: 5 classes, each with 4 methods
	for k := range 5 {
		fmt.Fprintf(&b, "class %s {\n", name(i, k, true))
		for m := range 4 {
			fmt.Fprintf(&b, "    %s() {\n", name(i, 10+k*4+m, false))
			body("        ")
			b.WriteString("        return 0;\n    }\n\n")
		}
		b.WriteString("}\n\n")
	}
	return fmt.Sprintf("%s/file%04d.js", dir, i), b.String()
}

// WriteFiles writes files (path from the top of the working tree at dir:
// content) and stages them.
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	Git(t, dir, "add", "-A")
}
