package board_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"grite/board"
	"grite/internal/testrepo"
	"grite/tools"
)

// BenchmarkBoardPage5k is the board's server time over a 5,000-issue
// repository: 1,000 dependency edges, 50 live claims, 1,000 closed
// issues. One op is one GET / through the whole handler (guard, the Board
// operation, the template), with the default column limits.
func BenchmarkBoardPage5k(b *testing.B) {
	ctx := context.Background()
	dir := testrepo.NewForBench(b)
	s, err := tools.Open(ctx, tools.OpenOptions{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ids := make([]string, 5000)
	labels := []string{"sync", "perf", "docs", "bug", "ui"}
	for i := range ids {
		out, err := tools.IssueCreate.Call(ctx, s, tools.IssueCreateInput{Title: fmt.Sprintf("issue %d of the backlog", i), Labels: []string{labels[i%len(labels)]}})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = out.IssueID
	}
	for i := 0; i < 1000; i++ {
		if _, err := tools.IssueDep.Call(ctx, s, tools.DepInput{ID: ids[i*5+1], Target: ids[i*5], Type: "depends_on", Action: "add"}); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < 1000; i++ {
		if _, err := tools.IssueUpdate.Call(ctx, s, tools.IssueUpdateInput{ID: ids[i*5+2], State: "closed"}); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < 50; i++ {
		if _, err := tools.IssueClaim.Call(ctx, s, tools.ClaimInput{ID: ids[i*5+3]}); err != nil {
			b.Fatal(err)
		}
	}
	srv, err := board.New(ctx, s, board.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	h := srv.Handler()
	get := func() int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("GET /: %d %s", rec.Code, rec.Body.String())
		}
		return rec.Body.Len()
	}
	size := get()
	var ms []float64
	for b.Loop() {
		t0 := time.Now()
		get()
		ms = append(ms, float64(time.Since(t0).Microseconds())/1000)
	}
	slices.Sort(ms)
	b.ReportMetric(ms[len(ms)/2], "ms-median")
	b.ReportMetric(float64(size)/1024, "KiB/page")
}
