package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"grite/internal/testrepo"
)

// BenchmarkContextIndexCLI times whole 'grite context index' processes
// over 2,000 generated source files: the first index, an index with
// nothing changed, and one with one file changed (docs/performance.md).
//
//	go test ./e2e -run '^$' -bench ContextIndexCLI -benchtime 5x
func BenchmarkContextIndexCLI(b *testing.B) {
	dir := testrepo.NewForBench(b)
	testrepo.GenerateSources(b, dir, 2000)
	index := func(b *testing.B) {
		if r := grite(b, dir, "context", "index", "--quiet"); r.code != 0 {
			b.Fatalf("%s", r)
		}
	}
	b.Run("first", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			testrepo.Git(b, dir, "update-ref", "-d", "refs/grite/wal")
			if err := os.RemoveAll(filepath.Join(dir, ".git", "grite")); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			index(b)
		}
	})
	b.Run("unchanged", func(b *testing.B) {
		for range b.N {
			index(b)
		}
	})
	version := 0
	b.Run("one-changed", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			version++
			p, content := testrepo.SourceFile(7, version)
			if err := os.WriteFile(filepath.Join(dir, p), []byte(content), 0o644); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			index(b)
		}
	})
}
