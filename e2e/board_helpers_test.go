package e2e

import (
	"bufio"
	"context"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"grite/internal/testrepo"
)

// boardServer is a running `grite serve` process.
type boardServer struct {
	URL string
	cmd *exec.Cmd
}

// startBoard runs `grite serve` on a free loopback port in dir and waits
// for the URL it prints; the process is stopped when the test ends.
func startBoard(t testing.TB, dir string, args ...string) *boardServer {
	t.Helper()
	bin := testrepo.BuildBinaries(t).Grite
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Dir = dir
	cmd.Env = testrepo.Env()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Errorf("grite serve did not stop on an interrupt\nstderr: %s", stderr.String())
		}
	})
	lines := bufio.NewScanner(out)
	urls := make(chan string, 1)
	go func() {
		for lines.Scan() {
			if u, ok := strings.CutPrefix(lines.Text(), "grite board: "); ok {
				urls <- u
			}
		}
	}()
	select {
	case u := <-urls:
		return &boardServer{URL: u, cmd: cmd}
	case <-time.After(60 * time.Second):
		t.Fatalf("grite serve printed no URL\nstderr: %s", stderr.String())
	}
	return nil
}

// newBrowser starts headless Chromium (Debian's chromium package, which
// .ci/run installs) and opens a tab. Its absence fails the test: these
// tests are the board's proof that pages work and hostile content runs
// nothing.
func newBrowser(t testing.TB) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not installed (apt-get install chromium; .ci/run does it): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.WindowSize(1440, 960),
		chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// countDialogs counts the JavaScript dialogs (alert, confirm, prompt) the
// tab opens, dismissing each so the page goes on.
func countDialogs(t testing.TB, ctx context.Context) *atomic.Int32 {
	t.Helper()
	var n atomic.Int32
	err := chromedp.Listen(ctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			n.Add(1)
			go chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return &n
}

// within runs steps with a deadline.
func within(ctx context.Context, d time.Duration, steps ...chromedp.Action[chromedp.Void]) error {
	c, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return chromedp.Do(c, steps...)
}

// eval evaluates a JavaScript expression in the tab.
func eval[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// liveHas waits until the page's live region holds text.
func liveHas(text string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](`(document.getElementById('live')||{textContent:''}).textContent.includes(`+jsString(text)+`)`, chromedp.WithPollingInterval(20*time.Millisecond))
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "<", `\x3c`)
	return "'" + r.Replace(s) + "'"
}
