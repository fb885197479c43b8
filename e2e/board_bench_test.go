package e2e

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// BenchmarkBoardEventToPage measures how long an event takes to reach an
// open board: from the moment a `grite issue create` in another process
// has written it (the process exited) to the moment the page's live region
// shows it, as the page's own clock records it. Reports the median and
// the 90th percentile over the iterations (-benchtime 20x).
func BenchmarkBoardEventToPage(b *testing.B) {
	dir, _ := newRepo(b)
	srv := startBoard(b, dir)
	ctx := newBrowser(b)
	if err := within(ctx, 30*time.Second, chromedp.Navigate(srv.URL), chromedp.WaitVisible("#col-ready")); err != nil {
		b.Fatal(err)
	}
	var lat []float64
	i := 0
	for b.Loop() {
		i++
		title := fmt.Sprintf("bench event %d", i)
		eval[bool](b, ctx, `(function(){ window.__seen = 0; var live = document.getElementById('live');
			var o = new MutationObserver(function(){ if (!window.__seen && live.textContent.includes(`+jsString(title)+`)) { window.__seen = Date.now(); o.disconnect(); } });
			o.observe(live, {childList: true, subtree: true, characterData: true}); return true; })()`)
		create(b, dir, title)
		written := time.Now()
		if err := within(ctx, 10*time.Second, chromedp.Poll[chromedp.Void](`window.__seen > 0`, chromedp.WithPollingInterval(5*time.Millisecond))); err != nil {
			b.Fatalf("event %d never reached the page: %v", i, err)
		}
		seen := eval[float64](b, ctx, `window.__seen`)
		lat = append(lat, seen-float64(written.UnixMilli()))
	}
	slices.Sort(lat)
	b.ReportMetric(lat[len(lat)/2], "ms-median")
	b.ReportMetric(lat[len(lat)*9/10], "ms-p90")
}

// BenchmarkBoardIdleCPU measures the CPU the server uses while nothing
// changes and three pages (board, activity, an issue) stay open on their
// event streams: user plus system time of the grite serve process over 30
// seconds, as a percentage of one core. Run it with -benchtime 1x.
func BenchmarkBoardIdleCPU(b *testing.B) {
	dir, _ := newRepo(b)
	id := create(b, dir, "an issue to look at")
	srv := startBoard(b, dir)
	ctx := newBrowser(b)
	for _, p := range []string{"", "activity", "issue/" + id} {
		tab, cancel := chromedp.NewContext(ctx)
		defer cancel()
		if err := within(tab, 30*time.Second, chromedp.Navigate(srv.URL+p), chromedp.WaitVisible("#live")); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		time.Sleep(2 * time.Second) // let the pages settle
		t0, c0 := time.Now(), cpuTicks(b, srv.cmd.Process.Pid)
		time.Sleep(30 * time.Second)
		t1, c1 := time.Now(), cpuTicks(b, srv.cmd.Process.Pid)
		b.ReportMetric(float64(c1-c0)/100/t1.Sub(t0).Seconds()*100, "cpu-%")
	}
}

// cpuTicks is a process's user plus system time in clock ticks (100 a
// second on Linux), from /proc/PID/stat.
func cpuTicks(b *testing.B, pid int) int {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.Atoi(fields[11])
	stime, _ := strconv.Atoi(fields[12])
	return utime + stime
}
