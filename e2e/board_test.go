package e2e

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var boardScreenshot = flag.Bool("board-screenshot", false, "write docs/board.png from TestBoardScreenshot")

// agent creates an actor with a label and returns its ID.
func agent(t testing.TB, dir, label string) string {
	t.Helper()
	var out struct {
		ActorID string `json:"actor_id"`
	}
	mustJSON(t, dir, &out, "actor", "init", "--label", label)
	return out.ActorID
}

func TestBoardInBrowserCreatesAnIssueAndFollowsOtherWriters(t *testing.T) {
	dir, _ := newRepo(t)
	worker := agent(t, dir, "worker-1")
	base := create(t, dir, "Lay the foundation", "--label", "infra")
	srv := startBoard(t, dir)
	ctx := newBrowser(t)

	// The form: create an issue, land on its page.
	err := within(ctx, 30*time.Second,
		chromedp.Navigate(srv.URL),
		chromedp.WaitVisible("#col-ready"),
		chromedp.Click("details.create summary"),
		chromedp.SendKeys(`#create input[name="title"]`, "Made in the browser"),
		chromedp.SendKeys(`#create textarea[name="body"]`, "with **Markdown**"),
		chromedp.SendKeys(`#create input[name="labels"]`, "ui, web"),
		chromedp.Click(`#create button`),
		chromedp.WaitVisible("article.issue"),
	)
	if err != nil {
		t.Fatalf("create through the form: %v", err)
	}
	if h1 := eval[string](t, ctx, `document.querySelector('article.issue h1').textContent`); !strings.Contains(h1, "Made in the browser") {
		t.Fatalf("issue page title %q", h1)
	}
	if b := eval[string](t, ctx, `document.querySelector('.body strong').textContent`); b != "Markdown" {
		t.Errorf("body rendered as %q", b)
	}
	var made []string
	for _, i := range list(t, dir).Issues {
		if i.Title == "Made in the browser" && strings.Join(i.Labels, ",") == "ui,web" {
			made = append(made, i.IssueID)
		}
	}
	if len(made) != 1 {
		t.Fatalf("the CLI sees %d issues made in the browser, want 1", len(made))
	}

	// Another process writes: the open board follows without a reload.
	if err := within(ctx, 30*time.Second, chromedp.Navigate(srv.URL), chromedp.WaitVisible("#col-ready")); err != nil {
		t.Fatal(err)
	}
	eval[bool](t, ctx, `window.__sameDocument = true`)
	create(t, dir, "Written by the CLI")
	if err := within(ctx, 10*time.Second, liveHas("Written by the CLI")); err != nil {
		t.Fatalf("the board did not show the CLI's issue: %v", err)
	}
	mustJSON(t, dir, nil, "--actor", worker, "issue", "claim", base)
	if err := within(ctx, 10*time.Second, chromedp.Poll[chromedp.Void](`document.querySelector('#col-claimed').textContent.includes('worker-1')`)); err != nil {
		t.Fatalf("the board did not show the claim: %v", err)
	}
	if !eval[bool](t, ctx, `window.__sameDocument === true`) {
		t.Error("the page was reloaded, not updated")
	}

	// The issue page follows its own issue.
	if err := within(ctx, 30*time.Second, chromedp.Navigate(srv.URL+"issue/"+made[0]), chromedp.WaitVisible("article.issue")); err != nil {
		t.Fatal(err)
	}
	mustJSON(t, dir, nil, "--actor", worker, "issue", "comment", made[0], "--body", "Seen from the worker")
	if err := within(ctx, 10*time.Second, liveHas("Seen from the worker")); err != nil {
		t.Fatalf("the issue page did not show the comment: %v", err)
	}
}

// hostileValues would run script if a page wrote them as markup.
var hostileValues = []string{
	`<script>alert(1);window.__xss=1</script>`,
	`<img src=x onerror="alert(1);window.__xss=1">`,
	`"><svg/onload=alert(1)>`,
	`</textarea><iframe src=javascript:alert(1)>`,
}

func TestBoardInBrowserRunsNoHostileContent(t *testing.T) {
	dir, _ := newRepo(t)
	var ids []string
	for i, h := range hostileValues {
		who := agent(t, dir, fmt.Sprintf("x%d%s", i, h))
		id := create(t, dir, h, "--body", h+"\n\n[click]("+"javascript:alert(1)"+")\n\n"+h, "--label", strings.ReplaceAll(h, ",", ""))
		mustJSON(t, dir, nil, "--actor", who, "issue", "comment", id, "--body", h)
		mustJSON(t, dir, nil, "--actor", who, "issue", "claim", id)
		ids = append(ids, id)
	}
	srv := startBoard(t, dir)
	ctx := newBrowser(t)
	opened := countDialogs(t, ctx)
	check := func(where string) {
		t.Helper()
		if n := eval[int](t, ctx, `document.querySelectorAll('script:not([src]), svg, iframe, object, embed, [onerror], [onload], a[href^="javascript:" i]').length`); n != 0 {
			t.Errorf("%s: %d injected elements", where, n)
		}
		if eval[bool](t, ctx, `window.__xss !== undefined`) {
			t.Errorf("%s: injected script ran", where)
		}
	}
	pages := []string{"", "activity", "actors", "?label=" + strings.ReplaceAll(hostileValues[1], " ", "%20")}
	for _, id := range ids {
		pages = append(pages, "issue/"+id)
	}
	for _, p := range pages {
		if err := within(ctx, 30*time.Second, chromedp.Navigate(srv.URL+p), chromedp.WaitReady("body")); err != nil {
			t.Fatal(err)
		}
		// The hostile text is on the page, as text.
		if !eval[bool](t, ctx, `document.body.textContent.includes('alert(1)')`) {
			t.Errorf("/%s does not show the hostile text at all", p)
		}
		check("/" + p)
	}
	// A live update inserts hostile markup through the script's path.
	if err := within(ctx, 30*time.Second, chromedp.Navigate(srv.URL+"issue/"+ids[0]), chromedp.WaitVisible("article.issue")); err != nil {
		t.Fatal(err)
	}
	mustJSON(t, dir, nil, "issue", "comment", ids[0], "--body", "live "+hostileValues[1])
	if err := within(ctx, 10*time.Second, liveHas("live "+hostileValues[1])); err != nil {
		t.Fatalf("the live update did not come: %v", err)
	}
	check("issue page after a live update")
	if n := opened.Load(); n != 0 {
		t.Errorf("%d dialogs opened", n)
	}
}

// TestBoardScreenshot builds a realistic repository (40 issues, 5 agents,
// dependencies, claims, handoffs, closed work) and photographs its board;
// with -board-screenshot it writes docs/board.png, the README's picture.
func TestBoardScreenshot(t *testing.T) {
	dir, _ := newRepo(t)
	mustJSON(t, dir, nil, "actor", "init", "--label", "alex", "--default") // the person at the board
	agents := []string{"claude-1", "claude-2", "codex-1", "gemini-1", "aider-1"}
	var agentIDs []string
	for _, a := range agents {
		agentIDs = append(agentIDs, agent(t, dir, a))
	}
	titles := []string{
		"Parse config files with TOML v1.1", "Retry sync pushes on a moved remote", "Cache lock refs between reads",
		"Add --since to grite events", "Document the board in the README", "Speed up issue list on 10k issues",
		"Fuzz the chunk decoder", "Fix flaky claim expiry test", "Show handoffs in issue show",
		"Refuse labels with commas", "Pack objects after 1,000 appends", "Add MCP prompt for triage",
		"Sign events with ed25519 keys", "Verify signatures on pull", "Rebuild the view after a schema change",
		"Export issues as JSON lines", "Import from a GitHub export", "Colour states on terminals",
		"Make the ready queue oldest first", "Add dep topo --state", "Limit comment size to 1 MiB",
		"Warn when the view is behind", "Explain partial clones in errors", "Add grite doctor --fix",
		"Garbage-collect idle actors", "Bound MCP list results", "Add pagination cursors to changes",
		"Write the format spec for locks", "Test sync over git daemon", "Handle packed-refs updates",
		"Detect clock skew between clones", "Add a swarm benchmark", "Trim the session primer",
		"Keep worktrees on one view", "Add grite serve", "Escape hostile labels everywhere",
		"Measure idle CPU of the board", "Release claims on exit", "Show blockers on the board", "Ship v1.0",
	}
	labelSets := [][]string{{"sync"}, {"perf"}, {"docs"}, {"bug"}, {"security"}, {"mcp"}, {"cli"}, {"ui"}}
	ids := make([]string, len(titles))
	for i, title := range titles {
		args := []string{"--actor", agentIDs[i%len(agentIDs)], "issue", "create", "--title", title,
			"--body", "Part of the v1.0 milestone.\n\n- [ ] code\n- [ ] tests\n- [ ] docs"}
		for _, l := range labelSets[i%len(labelSets)] {
			args = append(args, "--label", l)
		}
		if i%5 == 0 {
			args = append(args, "--label", "p1")
		}
		var w writeResult
		mustJSON(t, dir, &w, args...)
		ids[i] = w.IssueID
	}
	// Dependencies: later work waits for earlier work.
	for _, d := range [][2]int{{39, 34}, {39, 35}, {38, 36}, {14, 13}, {16, 15}, {27, 26}, {30, 28}, {25, 24}, {21, 20}} {
		mustJSON(t, dir, nil, "issue", "dep", "add", ids[d[0]], "--target", ids[d[1]], "--type", "depends_on")
	}
	// Finished work.
	for _, i := range []int{0, 3, 6, 9, 12, 18, 33} {
		mustJSON(t, dir, nil, "--actor", agentIDs[i%len(agentIDs)], "issue", "close", ids[i])
	}
	// Claims, with handoffs and comments.
	for n, i := range []int{34, 13, 15, 20, 26} {
		who := agentIDs[n%len(agentIDs)]
		mustJSON(t, dir, nil, "--actor", who, "issue", "claim", ids[i], "--ttl", []string{"30m", "12m", "45m", "5m", "2h"}[n])
		mustJSON(t, dir, nil, "--actor", who, "issue", "handoff", ids[i], "--done", "Read the code and wrote a failing test", "--next", "Make the test pass")
	}
	srv := startBoard(t, dir)
	ctx := newBrowser(t)
	var png []byte
	err := within(ctx, 60*time.Second,
		chromedp.Navigate(srv.URL),
		chromedp.WaitVisible("#col-claimed article"),
		chromedp.Func(func(c context.Context, tg *chromedp.Target) error {
			var err error
			png, err = chromedp.CaptureScreenshot()(c, tg)
			return err
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("the screenshot is not a PNG (%d bytes)", len(png))
	}
	for _, col := range []string{"ready", "claimed", "blocked", "closed"} {
		if n := eval[int](t, ctx, `document.querySelectorAll('#col-`+col+` article').length`); n == 0 {
			t.Errorf("column %s is empty", col)
		}
	}
	if *boardScreenshot {
		if err := os.WriteFile(filepath.Join("..", "docs", "board.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestServeOffLoopbackNeedsAToken(t *testing.T) {
	dir, _ := newRepo(t)
	e := mustFail(t, dir, "invalid_args", 2, "serve", "--addr", "0.0.0.0:0")
	if !strings.Contains(e.Message, "needs --token") {
		t.Errorf("message %q", e.Message)
	}
	mustFail(t, dir, "invalid_args", 2, "serve", "--addr", "nonsense")

	srv := startBoard(t, dir, "--token", "auto")
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	token := u.Query().Get("token")
	if len(token) != 32 {
		t.Fatalf("printed URL %s carries no generated token", srv.URL)
	}
	bare := strings.TrimSuffix(strings.SplitN(srv.URL, "?", 2)[0], "/")
	for _, tc := range []struct {
		path string
		want int
	}{{"/", 401}, {"/live", 401}, {"/static/board.css", 401}, {"/?token=" + token, 303}} {
		resp, err := noRedirect.Get(bare + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s: %d, want %d", tc.path, resp.StatusCode, tc.want)
		}
	}
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
