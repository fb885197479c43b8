package tools_test

import (
	"context"
	"testing"

	"grite/internal/testrepo"
	"grite/tools"
)

// BenchmarkImportBeads5000 loads 5,000 beads issues with a comment each
// into a fresh repository (the target: ≤ 5 s, docs/performance.md):
//
//	go test ./tools -run '^$' -bench ImportBeads5000 -benchtime 5x
func BenchmarkImportBeads5000(b *testing.B) {
	data := syntheticBeads(5000, 1)
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		s := importSession(b, testrepo.NewForBench(b))
		b.StartTimer()
		out, err := tools.Import.Call(ctx, s, tools.ImportInput{Source: "beads", Data: data})
		if err != nil || out.Created != 5000 {
			b.Fatalf("created %d: %v", out.Created, err)
		}
	}
}
