package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"grite/internal/testrepo"
	"grite/tools"
)

// benchMCPServer is a warm grite-mcp (actor chosen, view caught up) on a
// repository holding n issues written in process through tools/.
func benchMCPServer(b *testing.B, n int) (*mcpServer, []string) {
	b.Helper()
	dir, ids := benchRepo(b, n)
	s := mustStartMCP(b, mcpOptions{dir: dir, client: "bench"})
	for range 3 {
		s.ok(b, "whoami", nil, nil)
	}
	return s, ids
}

// benchRepo is a repository holding n issues written in process through
// tools/, by its default actor, whose view is then current.
func benchRepo(b *testing.B, n int) (string, []string) {
	b.Helper()
	dir := testrepo.NewForBench(b)
	ctx := context.Background()
	sess, err := tools.Open(ctx, tools.OpenOptions{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, 0, n)
	for i := range n {
		w, err := tools.IssueCreate.Call(ctx, sess, tools.IssueCreateInput{Title: fmt.Sprintf("issue %d", i), Body: "body of the issue", Labels: []string{"bench"}})
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, w.IssueID)
	}
	sess.Close()
	return dir, ids
}

// measureCalls runs call once per b.Loop iteration and reports the median
// and 99th percentile latency of one tool call as seen by the client.
func measureCalls(b *testing.B, call func(i int) error) { measurePacedCalls(b, 0, call) }

// measurePacedCalls is measureCalls with the client idle for pause before
// each call (not timed), as an agent is while its model thinks: work the
// server does after answering then overlaps the pause instead of delaying
// the next call.
func measurePacedCalls(b *testing.B, pause time.Duration, call func(i int) error) {
	b.Helper()
	var durations []time.Duration
	for i := 0; b.Loop(); i++ {
		if pause > 0 {
			time.Sleep(pause)
		}
		start := time.Now()
		err := call(i)
		durations = append(durations, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(durations)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(durations[len(durations)/2]), "p50-ms")
	b.ReportMetric(ms(durations[len(durations)*99/100]), "p99-ms")
}

func BenchmarkMCPToolCallShow(b *testing.B) {
	s, ids := benchMCPServer(b, 1000)
	measureCalls(b, func(i int) error {
		_, err := s.tryOK("issue_show", map[string]any{"id": ids[i%len(ids)]}, nil)
		return err
	})
}

func BenchmarkMCPToolCallList1k(b *testing.B) {
	s, _ := benchMCPServer(b, 1000)
	measureCalls(b, func(i int) error {
		var out mcpList
		_, err := s.tryOK("issue_list", map[string]any{"cursor": fmt.Sprint((i * 50) % 1000)}, &out)
		if err == nil && (out.Total != 1000 || len(out.Issues) != 50) {
			err = fmt.Errorf("list: total %d, %d issues", out.Total, len(out.Issues))
		}
		return err
	})
}

func BenchmarkMCPToolCallCreate(b *testing.B) {
	s, _ := benchMCPServer(b, 1000)
	measureCalls(b, func(i int) error {
		_, err := s.tryOK("issue_create", map[string]any{"title": fmt.Sprintf("created %d", i)}, nil)
		return err
	})
}

// BenchmarkMCPToolCallCreatePaced is the create an agent sees: 2 ms idle
// before each call (a model thinks for seconds). The back-to-back
// benchmark above makes each call wait for the previous one's view update.
func BenchmarkMCPToolCallCreatePaced(b *testing.B) {
	s, _ := benchMCPServer(b, 1000)
	measurePacedCalls(b, 2*time.Millisecond, func(i int) error {
		_, err := s.tryOK("issue_create", map[string]any{"title": fmt.Sprintf("created %d", i)}, nil)
		return err
	})
}

// BenchmarkMCPNewSessionFirstCall is what an orchestrator pays per agent
// it starts on a repository of 10,000 issues: a new grite-mcp session is a
// new actor, whose view starts as a copy of the clone's freshest view
// (tools.openView). Reported: the first tool call (issue_list) after
// initialize, and the whole start (spawn, initialize, first call).
func BenchmarkMCPNewSessionFirstCall(b *testing.B) {
	dir, _ := benchRepo(b, 10000)
	var first, whole []time.Duration
	for b.Loop() {
		start := time.Now()
		n := mustStartMCP(b, mcpOptions{dir: dir, client: "bench"})
		called := time.Now()
		var out mcpList
		if _, err := n.tryOK("issue_list", map[string]any{"limit": 1}, &out); err != nil {
			b.Fatal(err)
		}
		first, whole = append(first, time.Since(called)), append(whole, time.Since(start))
		if out.Total != 10000 {
			b.Fatalf("new session lists %d issues, want 10000", out.Total)
		}
		n.close(b)
	}
	b.ReportMetric(msMedian(first), "first-call-p50-ms")
	b.ReportMetric(msMedian(whole), "start-p50-ms")
}

func msMedian(d []time.Duration) float64 {
	slices.Sort(d)
	return float64(d[len(d)/2]) / float64(time.Millisecond)
}
