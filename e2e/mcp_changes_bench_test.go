package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"grite/internal/testrepo"
	"grite/tools"
)

// Benchmarks of the change feed's waiting, across processes. Targets
// (issue tracker, not asserted here): a write in one process wakes a
// waiting changes call in another in p50 ≤ 30 ms, max ≤ 200 ms; an idle
// wait costs under 1 % of one core over 60 s.

// waitSettle is how long each iteration lets a wait sit after the server
// logged its start, before writing: the log line comes just before the
// wait sets up its watch and reads its first page, and a write that
// landed before that read would be answered by the read, not by a wake.
const waitSettle = 50 * time.Millisecond

// BenchmarkMCPChangesWake is the latency of a wake-up: grite-mcp runs a
// changes call with wait_seconds 60 after the latest cursor, and this
// process (another actor, in process through tools/) comments on an
// issue. Reported: the time from the comment's return (its WAL commit is
// in git: the view update is deferred, as grite-mcp defers its own) to
// the waiting call's return as the client sees it, p50/p90/max; the
// comment itself (write-p50-ms); and the time from the comment's start.
//
//	go test ./e2e -run '^$' -bench MCPChangesWake -benchtime 50x
func BenchmarkMCPChangesWake(b *testing.B) {
	dir, ids := benchRepo(b, 10)
	s := mustStartMCP(b, mcpOptions{dir: dir, client: "bench", args: []string{"--log-level", "debug"}})
	ctx := context.Background()
	w, err := tools.Open(ctx, tools.OpenOptions{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	w.DeferViewUpdates(true)

	var page struct {
		Events []struct {
			Summary string `json:"summary"`
		} `json:"events"`
		NextCursor string `json:"next_cursor"`
	}
	s.ok(b, "changes", map[string]any{"since": "now"}, &page)
	cursor := page.NextCursor
	calls := 1 // changes calls sent: every one logs as it starts
	untilWaits(b, s, calls)

	type woken struct {
		at  time.Time
		r   toolResult
		err error
	}
	var afterWrite, fromStart, writes []time.Duration
	for i := 0; b.Loop(); i++ {
		done := make(chan woken, 1)
		go func() {
			r, err := s.tryOK("changes", map[string]any{"since": cursor, "wait_seconds": 60}, nil)
			done <- woken{time.Now(), r, err}
		}()
		calls++
		untilWaits(b, s, calls)
		time.Sleep(waitSettle)
		body := fmt.Sprintf("wake %d", i)
		t0 := time.Now()
		if _, err := tools.IssueComment.Call(ctx, w, tools.IssueCommentInput{ID: ids[i%len(ids)], Body: body}); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		var got woken
		select {
		case got = <-done:
		case <-time.After(70 * time.Second):
			b.Fatalf("iteration %d: the wait did not return\nstderr: %s", i, clip(s.stderr.String()))
		}
		if got.err != nil {
			b.Fatal(got.err)
		}
		if err := json.Unmarshal(got.r.data, &page); err != nil || len(page.Events) != 1 || page.Events[0].Summary != body {
			b.Fatalf("iteration %d: woken with %s (%v)", i, got.r, err)
		}
		cursor = page.NextCursor
		afterWrite = append(afterWrite, got.at.Sub(t1))
		fromStart = append(fromStart, got.at.Sub(t0))
		writes = append(writes, t1.Sub(t0))
		if err := w.FlushView(ctx); err != nil {
			b.Fatal(err)
		}
	}
	reportQuantiles(b, afterWrite, "")
	b.ReportMetric(msQuantile(fromStart, 0.5), "from-write-start-p50-ms")
	b.ReportMetric(msQuantile(writes, 0.5), "write-p50-ms")
}

// BenchmarkChangesIdleWait60s is the CPU an idle wait costs: on a quiet
// repository, grite-mcp runs a changes call with wait_seconds 60 and, at
// the same time, `grite events --since now --wait 60s` runs as a process
// of its own; nothing is written, so both return empty after 60 s.
// Reported, as a percentage of one core over the wait: grite-mcp's CPU
// time during the call (/proc/PID/stat), and the whole events process's
// (its start and exit included); and the CPU of an events process that
// does not wait, for its start alone. Each iteration takes 60 s.
//
//	go test ./e2e -run '^$' -bench ChangesIdleWait60s -benchtime 3x
func BenchmarkChangesIdleWait60s(b *testing.B) {
	const wait = 60 * time.Second
	dir, _ := benchRepo(b, 10)
	bin := testrepo.BuildBinaries(b).Grite
	s := mustStartMCP(b, mcpOptions{dir: dir, client: "bench"})
	s.ok(b, "changes", map[string]any{"since": "now"}, nil) // session open, view current
	events := func(args ...string) (cpu time.Duration, out string) {
		cmd := exec.Command(bin, append([]string{"events", "--since", "now", "-q"}, args...)...)
		cmd.Dir, cmd.Env = dir, testrepo.Env()
		o, err := cmd.Output()
		if err != nil {
			b.Fatalf("grite events %v: %v", args, err)
		}
		return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), string(o)
	}
	events() // the CLI's view is current too
	var mcpPct, cliPct, startMS []float64
	for b.Loop() {
		before := procCPU(b, s.cmd.Process.Pid)
		done := make(chan toolResult, 1)
		go func() {
			r, err := s.tryOK("changes", map[string]any{"since": "now", "wait_seconds": wait.Seconds()}, nil)
			if err != nil {
				b.Error(err)
			}
			done <- r
		}()
		start := time.Now()
		cpu, _ := events("--wait", wait.String())
		cliWall := time.Since(start)
		r := <-done
		mcpCPU := procCPU(b, s.cmd.Process.Pid) - before
		var out struct {
			Events []json.RawMessage `json:"events"`
		}
		if err := json.Unmarshal(r.data, &out); err != nil || out.Events == nil || len(out.Events) != 0 {
			b.Fatalf("the idle wait returned %s (%v)", r, err)
		}
		if cliWall < wait {
			b.Fatalf("grite events --wait %s returned after %s", wait, cliWall)
		}
		mcpPct = append(mcpPct, 100*mcpCPU.Seconds()/wait.Seconds())
		cliPct = append(cliPct, 100*cpu.Seconds()/wait.Seconds())
		nowait, _ := events()
		startMS = append(startMS, float64(nowait)/float64(time.Millisecond))
	}
	b.ReportMetric(median(mcpPct), "mcp-cpu-%")
	b.ReportMetric(slices.Max(mcpPct), "mcp-max-cpu-%")
	b.ReportMetric(median(cliPct), "cli-cpu-%")
	b.ReportMetric(slices.Max(cliPct), "cli-max-cpu-%")
	b.ReportMetric(median(startMS), "cli-nowait-cpu-ms")
}

// procCPU is the user+system CPU time of process pid, all its threads
// (/proc/PID/stat, in clock ticks of 10 ms on Linux).
func procCPU(b *testing.B, pid int) time.Duration {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The command name, in parentheses, may hold spaces: fields count
	// from after its closing parenthesis (utime and stime are fields 14
	// and 15 of the line, 12 and 13 after the name).
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("/proc/%d/stat: %q", pid, raw)
	}
	const tick = 10 * time.Millisecond // USER_HZ: 100 on every Linux Go runs on
	return time.Duration(utime+stime) * tick
}

// reportQuantiles reports the p50, p90 and maximum of ds in milliseconds.
func reportQuantiles(b *testing.B, ds []time.Duration, prefix string) {
	b.ReportMetric(msQuantile(ds, 0.5), prefix+"p50-ms")
	b.ReportMetric(msQuantile(ds, 0.9), prefix+"p90-ms")
	b.ReportMetric(msQuantile(ds, 1), prefix+"max-ms")
}

// msQuantile is the q-quantile of ds (nearest rank) in milliseconds.
func msQuantile(ds []time.Duration, q float64) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s)+1)) - 1
	i = max(0, min(i, len(s)-1))
	return float64(s[i]) / float64(time.Millisecond)
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
