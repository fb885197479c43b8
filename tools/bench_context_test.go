package tools_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"grite/actor"
	"grite/internal/testrepo"
	"grite/tools"
)

// The context store's targets (docs/performance.md): over 2,000 source
// files, the first index ≤ 10 s, an index with nothing changed ≤ 1 s, one
// changed file ≤ 200 ms above that; a query over 50,000 symbols ≤ 20 ms.
//
//	go test ./tools -run '^$' -bench 'Context' -benchtime 5x

const benchSources = 2000

// contextBenchRepo is a repository of the generated sources, and a
// session on it.
func contextBenchRepo(b *testing.B) (string, *tools.Session) {
	b.Helper()
	dir := testrepo.NewForBench(b)
	testrepo.GenerateSources(b, dir, benchSources)
	return dir, openBench(b, dir)
}

func openBench(b *testing.B, dir string) *tools.Session {
	b.Helper()
	s, err := tools.Open(context.Background(), tools.OpenOptions{Dir: dir, Selection: actor.Selection{}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func benchIndex(b *testing.B, s *tools.Session, in tools.ContextIndexInput) tools.ContextIndexOutput {
	b.Helper()
	out, err := tools.ContextIndex.Call(context.Background(), s, in)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// forgetContext empties grite's state of the repository (the WAL and
// every actor's view), so that the next index is a first one.
func forgetContext(b *testing.B, dir string) {
	b.Helper()
	testrepo.Git(b, dir, "update-ref", "-d", "refs/grite/wal")
	if err := os.RemoveAll(filepath.Join(dir, ".git", "grite")); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkContextIndex2000 indexes the 2,000 generated files: first (an
// empty context store), with nothing changed, and with one file changed.
func BenchmarkContextIndex2000(b *testing.B) {
	dir, _ := contextBenchRepo(b)
	b.Run("first", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			forgetContext(b, dir)
			s := openBench(b, dir)
			b.StartTimer()
			if out := benchIndex(b, s, tools.ContextIndexInput{}); out.Indexed != benchSources {
				b.Fatalf("indexed %d", out.Indexed)
			}
		}
	})
	s := openBench(b, dir)
	benchIndex(b, s, tools.ContextIndexInput{})
	b.Run("unchanged", func(b *testing.B) {
		for range b.N {
			if out := benchIndex(b, s, tools.ContextIndexInput{}); out.Indexed != 0 || out.Unchanged != benchSources {
				b.Fatalf("%+v", out)
			}
		}
	})
	version := 0 // across the runs of the sub-benchmark
	b.Run("one-changed", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			version++
			p, content := testrepo.SourceFile(7, version)
			if err := os.WriteFile(filepath.Join(dir, p), []byte(content), 0o644); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if out := benchIndex(b, s, tools.ContextIndexInput{}); out.Indexed != 1 {
				b.Fatalf("%+v", out)
			}
		}
	})
}

// BenchmarkContextIndexThisRepository indexes grite's own tracked files
// (when the module is a git working tree): first, and unchanged.
func BenchmarkContextIndexThisRepository(b *testing.B) {
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		b.Skip("the module is not in a git working tree")
	}
	dir := testrepo.NewForBench(b)
	files, err := exec.Command("git", "-C", strings.TrimSpace(string(top)), "ls-files", "-z").Output()
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range strings.Split(strings.TrimRight(string(files), "\x00"), "\x00") {
		content, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(top)), f))
		if err != nil {
			continue // a file deleted in the working tree
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), content, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	testrepo.Git(b, dir, "add", "-A")
	testrepo.Git(b, dir, "commit", "-q", "-m", "grite's sources")
	b.Run("first", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			forgetContext(b, dir)
			s := openBench(b, dir)
			b.StartTimer()
			benchIndex(b, s, tools.ContextIndexInput{})
		}
	})
	s := openBench(b, dir)
	benchIndex(b, s, tools.ContextIndexInput{})
	b.Run("unchanged", func(b *testing.B) {
		for range b.N {
			if out := benchIndex(b, s, tools.ContextIndexInput{}); out.Indexed != 0 {
				b.Fatalf("%+v", out)
			}
		}
	})
}

// BenchmarkContextQuery50k queries the 50,000 symbols of the generated
// files: an exact name, a prefix shared by many, a substring in most.
func BenchmarkContextQuery50k(b *testing.B) {
	_, s := contextBenchRepo(b)
	benchIndex(b, s, tools.ContextIndexInput{})
	counts, err := s.Store().ContextCounts(context.Background())
	if err != nil || counts.Symbols != benchSources*testrepo.SymbolsPerSource {
		b.Fatalf("%d symbols, %v", counts.Symbols, err)
	}
	for _, q := range []string{"ParseParse0", "parse", "er", "nothing_matches"} {
		b.Run(q, func(b *testing.B) {
			for range b.N {
				if _, err := tools.ContextQuery.Call(context.Background(), s, tools.ContextQueryInput{Query: q}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
