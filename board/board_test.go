package board_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"grite/actor"
	"grite/board"
	"grite/internal/testrepo"
	"grite/tools"
)

func TestMain(m *testing.M) { testrepo.RunMain(m) }

// fixture is a board server over a real repository, and a second session
// of another actor writing as an agent would from another process.
type fixture struct {
	t     *testing.T
	dir   string
	srv   *board.Server
	http  *httptest.Server
	agent *tools.Session
	csrf  string
}

func newFixture(t *testing.T, opts board.Options) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := testrepo.New(t)
	s, err := tools.Open(ctx, tools.OpenOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	bare, err := tools.OpenBare(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	info, err := tools.ActorInit.Call(ctx, bare, tools.ActorInitInput{Label: "agent-1"})
	if err != nil {
		t.Fatal(err)
	}
	agent, err := tools.Open(ctx, tools.OpenOptions{Dir: dir, Selection: actor.Selection{ActorID: info.ActorID}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Close() })
	srv, err := board.New(ctx, s, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	f := &fixture{t: t, dir: dir, srv: srv, http: hs, agent: agent}
	return f
}

// create writes an issue as the agent.
func (f *fixture) create(in tools.IssueCreateInput) string {
	f.t.Helper()
	ctx := context.Background()
	if err := f.agent.CatchUp(ctx); err != nil {
		f.t.Fatal(err)
	}
	out, err := tools.IssueCreate.Call(ctx, f.agent, in)
	if err != nil {
		f.t.Fatal(err)
	}
	return out.IssueID
}

func agentDo[I, O any](f *fixture, op tools.Op[I, O], in I) O {
	f.t.Helper()
	ctx := context.Background()
	if err := f.agent.CatchUp(ctx); err != nil {
		f.t.Fatal(err)
	}
	out, err := op.Call(ctx, f.agent, in)
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

var client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// get returns the status and body of a GET.
func (f *fixture) get(path string) (int, string) {
	f.t.Helper()
	resp, err := client.Get(f.http.URL + path)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// token is the form token the board's pages carry.
func (f *fixture) token() string {
	f.t.Helper()
	if f.csrf == "" {
		_, body := f.get("/")
		_, rest, ok := strings.Cut(body, `name="csrf" value="`)
		if !ok {
			f.t.Fatal("the board has no form token")
		}
		f.csrf, _, _ = strings.Cut(rest, `"`)
	}
	return f.csrf
}

// post sends a same-origin form as a browser would.
func (f *fixture) post(path string, form url.Values) *http.Response {
	f.t.Helper()
	if form.Get("csrf") == "" {
		form.Set("csrf", f.token())
	}
	req, _ := http.NewRequest("POST", f.http.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", f.http.URL)
	resp, err := client.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readAll(r *http.Response) string {
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

func TestPagesShowTheRepository(t *testing.T) {
	f := newFixture(t, board.Options{})
	base := f.create(tools.IssueCreateInput{Title: "lay the base", Body: "some **bold** text", Labels: []string{"infra"}})
	top := f.create(tools.IssueCreateInput{Title: "build on it"})
	agentDo(f, tools.IssueDep, tools.DepInput{ID: top, Target: base, Type: "depends_on", Action: "add"})
	agentDo(f, tools.IssueClaim, tools.ClaimInput{ID: base})
	agentDo(f, tools.IssueComment, tools.IssueCommentInput{ID: base, Kind: "handoff", Done: "half of it", Next: "the rest"})

	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/", []string{`id="col-claimed"`, "lay the base", "held by <b>agent-1</b>", "waits for", base[:8]}},
		{"/?label=infra", []string{"lay the base", `value="infra"`}},
		{"/issue/" + base[:8], []string{"lay the base", "<strong>bold</strong>", "Latest handoff", "half of it", "needed by", "build on it", "Claimed by <b>agent-1</b>", "IssueCreated"}},
		{"/issue/" + top, []string{"depends on", "lay the base"}},
		{"/activity", []string{"CommentAdded", "agent-1", "lay the base"}},
		{"/actors", []string{"agent-1", "lay the base", "default"}},
		{"/?_f=1", []string{`id="col-ready"`}},
	} {
		status, body := f.get(tc.path)
		if status != http.StatusOK {
			t.Errorf("GET %s: %d\n%s", tc.path, status, body)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s lacks %q", tc.path, w)
			}
		}
		if strings.HasSuffix(tc.path, "_f=1") && strings.Contains(body, "<html") {
			t.Errorf("GET %s: a fragment is a whole page", tc.path)
		}
	}
}

// hostile are values that would run script if written into a page as is.
var hostile = []string{
	`<script>window.__xss=1</script>`,
	`<img src=x onerror="window.__xss=1">`,
	`"><svg onload=window.__xss=1>`,
	`javascript:window.__xss=1`,
}

func TestHostileContentNeverReachesAPageAsMarkup(t *testing.T) {
	f := newFixture(t, board.Options{})
	ctx := context.Background()
	bare, _ := tools.OpenBare(f.dir, nil)
	for i, h := range hostile {
		if _, err := tools.ActorInit.Call(ctx, bare, tools.ActorInitInput{Label: "a" + string(rune('0'+i)) + strings.ReplaceAll(h, " ", "")[:20]}); err != nil {
			t.Fatalf("actor label %q: %v", h, err)
		}
		id := f.create(tools.IssueCreateInput{Title: h, Body: h + "\n\n[link](" + "javascript:window.__xss=1" + ")\n\n" + h, Labels: []string{strings.ReplaceAll(h, ",", "")}})
		agentDo(f, tools.IssueComment, tools.IssueCommentInput{ID: id, Body: h})
		for _, path := range []string{"/", "/issue/" + id, "/activity", "/actors", "/?q=" + url.QueryEscape(h), "/?label=" + url.QueryEscape(h)} {
			status, body := f.get(path)
			if status != http.StatusOK {
				t.Fatalf("GET %s: %d", path, status)
			}
			for _, bad := range injected(body) {
				t.Errorf("GET %s: injected markup %s", path, bad)
			}
		}
	}
}

// injected lists what in page could run script: a script element of the
// page's own text, an on* attribute, a javascript: address, an svg or
// iframe. The board's pages have none of their own.
func injected(page string) []string {
	var found []string
	z := html.NewTokenizer(strings.NewReader(page))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return found
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		tok := z.Token()
		switch tok.Data {
		case "svg", "iframe", "object", "embed", "math":
			found = append(found, "<"+tok.Data+">")
		}
		src := false
		for _, a := range tok.Attr {
			k, v := strings.ToLower(a.Key), strings.ToLower(strings.TrimSpace(a.Val))
			switch {
			case strings.HasPrefix(k, "on"):
				found = append(found, tok.Data+" "+k+"="+a.Val)
			case (k == "href" || k == "src" || k == "action" || k == "formaction") && strings.HasPrefix(v, "javascript:"):
				found = append(found, tok.Data+" "+k+"="+a.Val)
			case k == "src":
				src = a.Val == "/static/board.js"
			}
		}
		if tok.Data == "script" && !src {
			found = append(found, "<script> not the board's")
		}
	}
}

func TestStaticFilesRefuseTraversal(t *testing.T) {
	f := newFixture(t, board.Options{})
	h := f.srv.Handler()
	for _, path := range []string{
		"/static/../board.go", "/static/..%2fboard.go", "/static/%2e%2e/board.go", "/static/..%2f..%2fgo.mod",
		"/static/../../go.mod", "/static//etc/passwd", "/static/..\\board.go", "/static/templates/layout.html",
	} {
		req := httptest.NewRequest("GET", "http://example.com/", nil)
		req.URL.RawPath, req.URL.Path = path, path
		if u, err := url.PathUnescape(path); err == nil {
			req.URL.Path = u
		}
		req.RequestURI = path
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		body := rec.Body.String()
		if rec.Code == http.StatusOK || strings.Contains(body, "package board") || strings.Contains(body, "module grite") || strings.Contains(body, "root:") {
			t.Errorf("GET %s: %d and %.60q", path, rec.Code, body)
		}
	}
	if status, body := f.get("/static/board.css"); status != http.StatusOK || !strings.Contains(body, ".card") {
		t.Errorf("GET /static/board.css: %d", status)
	}
}

func TestWritesRefuseCrossSiteRequests(t *testing.T) {
	f := newFixture(t, board.Options{})
	for _, tc := range []struct {
		name    string
		headers map[string]string
		csrf    string
		want    int
	}{
		{"no origin nor referer", nil, "", http.StatusForbidden},
		{"another origin", map[string]string{"Origin": "http://evil.example"}, "", http.StatusForbidden},
		{"another referer", map[string]string{"Referer": "http://evil.example/page"}, "", http.StatusForbidden},
		{"cross-site fetch", map[string]string{"Origin": f.http.URL, "Sec-Fetch-Site": "cross-site"}, "", http.StatusForbidden},
		{"same origin, no form token", map[string]string{"Origin": f.http.URL}, "-", http.StatusForbidden},
		{"same origin, wrong form token", map[string]string{"Origin": f.http.URL}, "0123", http.StatusForbidden},
		{"same referer and token", map[string]string{"Referer": f.http.URL + "/"}, "", http.StatusSeeOther},
		{"same origin and token", map[string]string{"Origin": f.http.URL}, "", http.StatusSeeOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"title": {"made by " + tc.name}}
			switch tc.csrf {
			case "":
				form.Set("csrf", f.token())
			case "-":
			default:
				form.Set("csrf", tc.csrf)
			}
			req, _ := http.NewRequest("POST", f.http.URL+"/issue", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			list := agentDo(f, tools.IssueList, tools.IssueListInput{Query: "made by " + tc.name})
			if created := list.Total == 1; created != (tc.want == http.StatusSeeOther) {
				t.Errorf("issue created: %v, want %v", created, tc.want == http.StatusSeeOther)
			}
		})
	}
}

func TestRequestBodiesAreBounded(t *testing.T) {
	f := newFixture(t, board.Options{})
	big := strings.Repeat("x", tools.MaxBodyBytes+200<<10)
	resp := f.post("/issue", url.Values{"title": {"big"}, "body": {big}})
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
	if list := agentDo(f, tools.IssueList, tools.IssueListInput{}); list.Total != 0 {
		t.Errorf("%d issues created by a refused request", list.Total)
	}
}

func TestWriteErrorsShowTheCLICodesAndKeepTheInput(t *testing.T) {
	f := newFixture(t, board.Options{})
	id := f.create(tools.IssueCreateInput{Title: "held"})
	agentDo(f, tools.IssueClaim, tools.ClaimInput{ID: id})
	for _, tc := range []struct {
		path   string
		form   url.Values
		status int
		want   []string
	}{
		{"/issue", url.Values{"title": {"  "}, "body": {"kept body text"}}, 400, []string{"<code>invalid_args</code>", "title must not be empty", "kept body text"}},
		{"/issue", url.Values{"title": {"x"}, "labels": {"a,\x01b"}}, 400, []string{"<code>invalid_args</code>", "control characters"}},
		{"/issue/ffffffff/comment", url.Values{"body": {"hello"}}, 404, []string{"<code>not_found</code>", "issue ffffffff not found"}},
		{"/issue/" + id + "/comment", url.Values{"body": {"   "}}, 400, []string{"<code>invalid_args</code>", "comment must not be empty"}},
		{"/issue/" + id + "/state", url.Values{"state": {"done"}}, 400, []string{"<code>invalid_args</code>"}},
		{"/issue/" + id + "/label", url.Values{"action": {"add"}, "label": {"a,b"}}, 400, []string{"must not contain a comma", `value="a,b"`}},
		{"/issue/" + id + "/clear-claim", url.Values{}, 409, []string{"<code>conflict</code>", "a live claim is its holder&#39;s until it expires", "Wait until the claim expires"}},
	} {
		resp := f.post(tc.path, tc.form)
		body := readAll(resp)
		if resp.StatusCode != tc.status {
			t.Errorf("POST %s: %d, want %d", tc.path, resp.StatusCode, tc.status)
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("POST %s: page lacks %q", tc.path, w)
			}
		}
	}
}

func TestFormsWriteAsTheRepositoryDefaultActor(t *testing.T) {
	f := newFixture(t, board.Options{})
	resp := f.post("/issue", url.Values{"title": {"from the board"}, "body": {"text"}, "labels": {"ui, good first issue"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d %s", resp.StatusCode, readAll(resp))
	}
	loc := resp.Header.Get("Location")
	id := strings.TrimPrefix(loc, "/issue/")
	for _, step := range []struct {
		path string
		form url.Values
	}{
		{"/issue/" + id + "/comment", url.Values{"body": {"a comment"}}},
		{"/issue/" + id + "/label", url.Values{"action": {"add"}, "label": {"p1"}}},
		{"/issue/" + id + "/label", url.Values{"action": {"remove"}, "label": {"ui"}}},
		{"/issue/" + id + "/state", url.Values{"state": {"closed"}}},
	} {
		if r := f.post(step.path, step.form); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("POST %s: %d %s", step.path, r.StatusCode, readAll(r))
		}
	}
	show := agentDo(f, tools.IssueShow, tools.IssueShowInput{ID: id})
	iss := show.Issue
	if iss.Title != "from the board" || iss.State != "closed" || strings.Join(iss.Labels, ",") != "good first issue,p1" || len(iss.Comments) != 1 {
		t.Errorf("issue %+v", iss.IssueSummary)
	}
	def, err := tools.OpenBare(f.dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	list, err := tools.ActorList.Call(context.Background(), mustSession(t, f.dir), tools.NoInput{})
	if err != nil {
		t.Fatal(err)
	}
	_ = def
	var defaultID string
	for _, a := range list.Actors {
		if a.Default {
			defaultID = a.ActorID
		}
	}
	for _, e := range show.Events {
		if e.Actor != defaultID {
			t.Errorf("event %s by %s, want the default actor %s", e.EventID, e.Actor, defaultID)
		}
	}
	// Reopening an open issue changes nothing, and the page says so.
	f.post("/issue/"+id+"/state", url.Values{"state": {"open"}})
	r := f.post("/issue/"+id+"/state", url.Values{"state": {"open"}})
	status, body := f.get(r.Header.Get("Location"))
	if status != http.StatusOK || !strings.Contains(body, "unchanged: already open") {
		t.Errorf("second reopen's page: %d, lacks the note", status)
	}
}

func mustSession(t *testing.T, dir string) *tools.Session {
	t.Helper()
	s, err := tools.Open(context.Background(), tools.OpenOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestTokenIsRequiredOnEveryRequest(t *testing.T) {
	f := newFixture(t, board.Options{Token: "s3cret", CookieName: "tok"})
	for _, tc := range []struct {
		name   string
		path   string
		header map[string]string
		want   int
	}{
		{"none", "/", nil, http.StatusUnauthorized},
		{"none on static", "/static/board.js", nil, http.StatusUnauthorized},
		{"none on live", "/live", nil, http.StatusUnauthorized},
		{"wrong query", "/?token=nope", nil, http.StatusUnauthorized},
		{"wrong cookie", "/", map[string]string{"Cookie": "tok=nope"}, http.StatusUnauthorized},
		{"right query", "/activity?token=s3cret", nil, http.StatusSeeOther},
		{"right cookie", "/", map[string]string{"Cookie": "tok=s3cret"}, http.StatusOK},
		{"right bearer", "/actors", map[string]string{"Authorization": "Bearer s3cret"}, http.StatusOK},
	} {
		req, _ := http.NewRequest("GET", f.http.URL+tc.path, nil)
		for k, v := range tc.header {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
		if tc.want == http.StatusSeeOther {
			if loc := resp.Header.Get("Location"); loc != "/activity" {
				t.Errorf("%s: redirect to %q, want the address without the token", tc.name, loc)
			}
			if c := resp.Cookies(); len(c) != 1 || c[0].Value != "s3cret" || !c[0].HttpOnly {
				t.Errorf("%s: cookies %v, want the token's", tc.name, c)
			}
		}
	}
	// A POST with the right cookie still needs the same-origin checks.
	req, _ := http.NewRequest("POST", f.http.URL+"/issue", strings.NewReader("title=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", "tok=s3cret")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST with the cookie but no origin: %d, want 403", resp.StatusCode)
	}
}

func TestUnknownHostsAreRefused(t *testing.T) {
	f := newFixture(t, board.Options{Hosts: []string{"board.test:7777"}})
	h := f.srv.Handler()
	for _, tc := range []struct {
		host string
		want int
	}{{"board.test:7777", http.StatusOK}, {"BOARD.test:7777", http.StatusOK}, {"evil.example:7777", http.StatusMisdirectedRequest}, {"board.test:80", http.StatusMisdirectedRequest}} {
		req := httptest.NewRequest("GET", "http://"+tc.host+"/", nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("Host %s: %d, want %d", tc.host, rec.Code, tc.want)
		}
	}
}

func TestLiveStreamTellsOfAnotherWritersChange(t *testing.T) {
	f := newFixture(t, board.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.http.URL+"/live", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	lines := bufio.NewScanner(resp.Body)
	next := func() string {
		for lines.Scan() {
			if l := lines.Text(); strings.HasPrefix(l, "data: ") {
				return l
			}
		}
		t.Fatalf("stream ended: %v", lines.Err())
		return ""
	}
	if hello := next(); hello != `data: {"gen":0}` {
		t.Fatalf("hello %q", hello)
	}
	id := f.create(tools.IssueCreateInput{Title: "new work"})
	if c := next(); !strings.Contains(c, id) || !strings.Contains(c, `"gen":1`) {
		t.Fatalf("change %q, want issue %s at generation 1", c, id)
	}
	agentDo(f, tools.Lock, tools.LockInput{Action: "acquire", Resource: "repo:deploy"})
	if c := next(); !strings.Contains(c, `"locks":true`) {
		t.Fatalf("change %q, want a lock change", c)
	}
}

// The check above finds what it looks for (it would pass on any page
// otherwise).
func TestInjectedFindsScriptMarkup(t *testing.T) {
	for _, page := range []string{
		`<p><script>x()</script></p>`, `<img src=x onerror="x()">`, `<a href=" JavaScript:x()">a</a>`,
		`<svg onload=x()>`, `<div><iframe src="/"></iframe></div>`,
	} {
		if len(injected(page)) == 0 {
			t.Errorf("injected(%q) found nothing", page)
		}
	}
	if got := injected(`<script src="/static/board.js" defer></script><p>&lt;script&gt;</p>`); len(got) != 0 {
		t.Errorf("the board's own markup: %v", got)
	}
}
