package tools_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"grite/actor"
	"grite/foreign"
	"grite/internal/testrepo"
	"grite/tools"
	"grite/wal"
)

func foreignFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "foreign", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func importSession(t testing.TB, dir string) *tools.Session {
	t.Helper()
	s, err := tools.Open(context.Background(), tools.OpenOptions{Dir: dir, Selection: actor.Selection{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func runImport(t testing.TB, s *tools.Session, in tools.ImportInput) tools.ImportOutput {
	t.Helper()
	out, err := tools.Import.Call(context.Background(), s, in)
	if err != nil {
		t.Fatalf("import %s: %v", in.Source, err)
	}
	return out
}

// importedIssues maps source IDs to the issues as grite shows them.
func importedIssues(t testing.TB, s *tools.Session, out tools.ImportOutput) map[string]tools.IssueDetail {
	t.Helper()
	m := map[string]tools.IssueDetail{}
	for _, is := range out.Issues {
		show, err := tools.IssueShow.Call(context.Background(), s, tools.IssueShowInput{ID: is.IssueID})
		if err != nil {
			t.Fatalf("show %s (%s): %v", is.IssueID, is.SourceID, err)
		}
		m[is.SourceID] = show.Issue
	}
	return m
}

func depOf(d tools.IssueDetail, target tools.IssueDetail) string {
	for _, dep := range d.Deps {
		if dep.Target == target.IssueID {
			return dep.DepType
		}
	}
	return ""
}

func TestImportBeadsFixtureKeepsFieldsCommentsAndDependencies(t *testing.T) {
	s := importSession(t, testrepo.New(t))
	out := runImport(t, s, tools.ImportInput{Source: "beads", Data: foreignFixture(t, "beads-export.jsonl")})
	if out.Created != 26 || out.Updated != 0 || out.Skipped != 0 || len(out.Errors) != 0 {
		t.Fatalf("created %d updated %d skipped %d errors %v", out.Created, out.Updated, out.Skipped, out.Errors)
	}
	if out.Commits != 2 {
		t.Errorf("%d WAL commits, want 2 (the issues, then the edges)", out.Commits)
	}
	is := importedIssues(t, s, out)
	closed := is["demo-g67"]
	if closed.State != "closed" || !slices.Equal(closed.Labels, []string{"bug", "p0", "type:bug"}) || closed.Title != `Crash when password contains quotes "'` {
		t.Errorf("closed issue: %+v", closed.IssueSummary)
	}
	bodies := []string{}
	for _, c := range closed.Comments {
		bodies = append(bodies, c.Body)
	}
	if want := []string{"From: Ann (beads)\n\nReproduced on main.", "Close reason: Fixed by escaping"}; !slices.Equal(bodies, want) {
		t.Errorf("comments %q, want %q", bodies, want)
	}
	store, login, epic, found, docs := is["demo-0xv"], is["demo-7bb"], is["demo-kvh"], is["demo-hbr"], is["demo-6n2"]
	if !slices.Equal(store.Assignees, []string{"alice"}) || store.CommentCount != 2 || store.Body != "Store sessions in Redis; TTL 24h." {
		t.Errorf("demo-0xv: %+v", store.IssueSummary)
	}
	if got := depOf(login, store); got != "depends_on" {
		t.Errorf("beads blocks: login %q session store, want depends_on", got)
	}
	for _, c := range []struct {
		from, to tools.IssueDetail
		name     string
	}{{store, epic, "parent-child"}, {found, store, "discovered-from"}, {docs, login, "related"}} {
		if got := depOf(c.from, c.to); got != "related_to" {
			t.Errorf("beads %s: %q, want related_to", c.name, got)
		}
	}
	if !slices.Contains(login.Labels, "status:in_progress") || login.State != "open" {
		t.Errorf("in-progress issue: %+v", login.IssueSummary)
	}
	// Times come from the source: the issue was created when beads says.
	if ts := epic.CreatedTS; ts != 1796472590000 {
		t.Errorf("created_ts %d, want beads' created_at 2026-12-05T12:09:50Z", ts)
	}
	// Its two comments share a second: the second is a millisecond later
	// to keep their order.
	if store.UpdatedTS/1000 != 1796472595 {
		t.Errorf("updated_ts %d, want beads' updated_at 2026-12-05T12:09:55Z", store.UpdatedTS)
	}
	var provenance []string
	for _, l := range store.Links {
		provenance = append(provenance, l.URL)
	}
	if !slices.Contains(provenance, "imported:beads:demo-0xv") {
		t.Errorf("links %v lack the provenance link", provenance)
	}
}

func TestImportTwiceCreatesNothing(t *testing.T) {
	tests := []struct {
		source string
		data   []byte
		n      int
	}{
		{"beads", foreignFixture(t, "beads-export.jsonl"), 26},
		{"github", foreignFixture(t, "github-issues.json"), 2},
	}
	for _, tc := range tests {
		t.Run(tc.source, func(t *testing.T) {
			s := importSession(t, testrepo.New(t))
			first := runImport(t, s, tools.ImportInput{Source: tc.source, Data: tc.data})
			again := runImport(t, s, tools.ImportInput{Source: tc.source, Data: tc.data})
			if first.Created != tc.n || again.Created != 0 || again.Updated != 0 || again.Skipped != tc.n || again.Events != 0 || again.Commits != 0 {
				t.Errorf("first %+v; again created %d updated %d skipped %d events %d", first.Created, again.Created, again.Updated, again.Skipped, again.Events)
			}
			if again.WALHead != first.WALHead {
				t.Errorf("the WAL moved: %s -> %s", first.WALHead, again.WALHead)
			}
		})
	}
}

func TestImportDryRunWritesNothing(t *testing.T) {
	s := importSession(t, testrepo.New(t))
	dry := runImport(t, s, tools.ImportInput{Source: "beads", Data: foreignFixture(t, "beads-export.jsonl"), DryRun: true})
	if dry.Created != 26 || dry.Events == 0 || dry.Commits != 0 || dry.WALHead != "" {
		t.Errorf("dry run: created %d events %d commits %d head %q", dry.Created, dry.Events, dry.Commits, dry.WALHead)
	}
	real := runImport(t, s, tools.ImportInput{Source: "beads", Data: foreignFixture(t, "beads-export.jsonl")})
	if real.Created != dry.Created || real.Events != dry.Events {
		t.Errorf("the dry run said %d issues, %d events; the import made %d, %d", dry.Created, dry.Events, real.Created, real.Events)
	}
}

// editBeads returns the fixture with fn applied to the record of id.
func editBeads(t *testing.T, data []byte, id string, fn func(map[string]any)) []byte {
	t.Helper()
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		if rec["id"] == id {
			fn(rec)
			b, _ := json.Marshal(rec)
			line = string(b)
		}
		out = append(out, line)
	}
	return []byte(strings.Join(out, "\n") + "\n")
}

func TestImportOfUpdatedSourceAddsWhatChanged(t *testing.T) {
	s := importSession(t, testrepo.New(t))
	data := foreignFixture(t, "beads-export.jsonl")
	first := runImport(t, s, tools.ImportInput{Source: "beads", Data: data})
	ids := map[string]string{}
	for _, is := range first.Issues {
		ids[is.SourceID] = is.IssueID
	}
	// In grite, someone closes demo-ymo after the import: newer than the
	// source, so re-importing must not reopen it.
	if _, err := tools.IssueUpdate.Call(context.Background(), s, tools.IssueUpdateInput{ID: ids["demo-ymo"], State: "closed"}); err != nil {
		t.Fatal(err)
	}
	later := "2026-12-05T13:00:00Z"
	data = editBeads(t, data, "demo-219", func(r map[string]any) {
		r["comments"] = []any{map[string]any{"id": "c1", "issue_id": "demo-219", "author": "Bob", "text": "Picked up.", "created_at": later}}
		r["updated_at"], r["title"] = later, "Backlog item 20, renamed"
	})
	data = editBeads(t, data, "demo-din", func(r map[string]any) {
		r["status"], r["closed_at"], r["updated_at"], r["priority"] = "closed", later, later, 3
	})
	again := runImport(t, s, tools.ImportInput{Source: "beads", Data: data})
	if again.Created != 0 || again.Updated != 2 || again.Skipped != 24 {
		t.Fatalf("created %d updated %d skipped %d", again.Created, again.Updated, again.Skipped)
	}
	is := importedIssues(t, s, again)
	if c := is["demo-219"].Comments; len(c) != 1 || c[0].Body != "From: Bob (beads)\n\nPicked up." {
		t.Errorf("demo-219 comments %+v", c)
	}
	if title := is["demo-219"].Title; title != "Backlog item 20, renamed" {
		t.Errorf("demo-219 title %q", title)
	}
	din := is["demo-din"]
	if din.State != "closed" || !slices.Equal(din.Labels, []string{"backlog", "p3", "type:task"}) {
		t.Errorf("demo-din: %+v", din.IssueSummary)
	}
	if is["demo-ymo"].State != "closed" {
		t.Errorf("the re-import reopened an issue closed in grite since")
	}
	third := runImport(t, s, tools.ImportInput{Source: "beads", Data: data})
	if third.Created+third.Updated != 0 || third.Skipped != 26 {
		t.Errorf("third import: created %d updated %d skipped %d", third.Created, third.Updated, third.Skipped)
	}
}

func TestImportReportsMalformedRecordsAndImportsTheRest(t *testing.T) {
	s := importSession(t, testrepo.New(t))
	long := strings.Repeat("x", tools.MaxTitleBytes+1)
	data := append(foreignFixture(t, "beads-malformed.jsonl"),
		[]byte(`{"id":"bad-5","title":"`+long+`","status":"open"}`+"\n"+`{"id":"bad-6","title":"comma label","status":"open","labels":["a,b"]}`+"\n"+
			`{"id":"bad 7","title":"space in id","status":"open"}`+"\n")...)
	out := runImport(t, s, tools.ImportInput{Source: "beads", Data: data})
	var lines []int
	for _, e := range out.Errors {
		lines = append(lines, e.Line)
	}
	if want := []int{2, 4, 6, 8, 9, 11, 12, 13}; !slices.Equal(lines, want) {
		t.Errorf("error lines %v, want %v: %v", lines, want, out.Errors)
	}
	if out.Created != 3 || out.Ignored != 1 {
		t.Errorf("created %d ignored %d, want 3 and 1", out.Created, out.Ignored)
	}
	list, err := tools.IssueList.Call(context.Background(), s, tools.IssueListInput{})
	if err != nil || list.Total != 3 {
		t.Errorf("%d issues in the view (%v), want 3: nothing of a bad record is written", list.Total, err)
	}
}

func TestImportGitBugMatchesGitBugsOwnListing(t *testing.T) {
	dir := testrepo.New(t)
	bundle, err := filepath.Abs(filepath.Join("..", "foreign", "testdata", "git-bug-repo.bundle"))
	if err != nil {
		t.Fatal(err)
	}
	testrepo.Git(t, dir, "fetch", "-q", bundle, "refs/bugs/*:refs/bugs/*", "refs/identities/*:refs/identities/*")
	var want []struct {
		HumanID  string   `json:"human_id"`
		Title    string   `json:"title"`
		Status   string   `json:"status"`
		Labels   []string `json:"labels"`
		Comments int      `json:"comments"`
	}
	if err := json.Unmarshal(foreignFixture(t, "git-bug-expected.json"), &want); err != nil {
		t.Fatal(err)
	}
	s := importSession(t, dir)
	out := runImport(t, s, tools.ImportInput{Source: "git-bug"})
	if out.Created != len(want) || len(out.Errors) != 0 {
		t.Fatalf("created %d, errors %v; want %d", out.Created, out.Errors, len(want))
	}
	is := importedIssues(t, s, out)
	for _, w := range want {
		var got *tools.IssueDetail
		for id, d := range is {
			if strings.HasPrefix(id, w.HumanID) {
				got = &d
			}
		}
		if got == nil {
			t.Errorf("bug %s not imported", w.HumanID)
			continue
		}
		labels := w.Labels
		if labels == nil {
			labels = []string{}
		}
		// git-bug counts the creation's message as a comment; grite makes
		// it the body.
		if got.Title != w.Title || got.State != w.Status || !slices.Equal(got.Labels, labels) || got.CommentCount+1 != w.Comments {
			t.Errorf("bug %s: got %q %s %v %d comments; git-bug lists %q %s %v %d", w.HumanID, got.Title, got.State, got.Labels, got.CommentCount, w.Title, w.Status, labels, w.Comments)
		}
		if !strings.HasPrefix(got.Body, "Details for: ") {
			t.Errorf("bug %s: body %q", w.HumanID, got.Body)
		}
		if len(got.Links) != 1 || got.Links[0].Note == nil || !strings.Contains(*got.Links[0].Note, "opened by Ann Example <ann@example.com>") {
			t.Errorf("bug %s: links %+v", w.HumanID, got.Links)
		}
	}
	again := runImport(t, s, tools.ImportInput{Source: "git-bug"})
	if again.Created != 0 || again.Skipped != len(want) {
		t.Errorf("again: created %d skipped %d", again.Created, again.Skipped)
	}
}

func TestImportGitBugUnderAnotherRefPrefix(t *testing.T) {
	dir := testrepo.New(t)
	bundle, err := filepath.Abs(filepath.Join("..", "foreign", "testdata", "git-bug-repo.bundle"))
	if err != nil {
		t.Fatal(err)
	}
	testrepo.Git(t, dir, "fetch", "-q", bundle, "refs/bugs/*:refs/remotes/upstream/bugs/*", "refs/identities/*:refs/identities/*")
	s := importSession(t, dir)
	if _, err := tools.Import.Call(context.Background(), s, tools.ImportInput{Source: "git-bug"}); tools.AsError(err) == nil || tools.AsError(err).Code != tools.CodeNotFound {
		t.Errorf("no bugs under refs/bugs/: %v, want not_found", err)
	}
	out := runImport(t, s, tools.ImportInput{Source: "git-bug", RefPrefix: "refs/remotes/upstream/bugs"})
	if out.Created != 5 || len(out.Errors) != 0 {
		t.Errorf("created %d, errors %v", out.Created, out.Errors)
	}
}

func TestImportLeavesOutAnEdgeThatClosesACycle(t *testing.T) {
	s := importSession(t, testrepo.New(t))
	var warnings []string
	s.Warn = func(w string) { warnings = append(warnings, w) }
	data := []byte(`{"id":"c-1","title":"one","status":"open","dependencies":[{"issue_id":"c-1","depends_on_id":"c-2","type":"blocks"}]}
{"id":"c-2","title":"two","status":"open","dependencies":[{"issue_id":"c-2","depends_on_id":"c-3","type":"blocks"}]}
{"id":"c-3","title":"three","status":"open","dependencies":[{"issue_id":"c-3","depends_on_id":"c-1","type":"blocks"},{"issue_id":"c-3","depends_on_id":"c-1","type":"related"},{"issue_id":"c-3","depends_on_id":"c-9","type":"blocks"}]}
`)
	out := runImport(t, s, tools.ImportInput{Source: "beads", Data: data})
	if out.Created != 3 || out.Events != 3*2+3 {
		t.Errorf("created %d, %d events; want 3 issues and 3 edges (c-3's blocks edge left out)", out.Created, out.Events)
	}
	if len(warnings) != 2 || !strings.Contains(warnings[0], "close a cycle") || !strings.Contains(warnings[1], "no such issue") {
		t.Errorf("warnings %q", warnings)
	}
	doctor, err := tools.Doctor.Call(context.Background(), s, tools.DoctorInput{})
	if err != nil || !doctor.Healthy {
		t.Errorf("doctor: %+v %v", doctor, err)
	}
}

func TestImportGitHubJSON(t *testing.T) {
	s := importSession(t, testrepo.New(t))
	out := runImport(t, s, tools.ImportInput{Source: "github", Data: foreignFixture(t, "github-issues.json")})
	if out.Created != 2 {
		t.Fatalf("created %d, errors %v", out.Created, out.Errors)
	}
	is := importedIssues(t, s, out)
	open, closed := is["12"], is["11"]
	if open.State != "open" || !slices.Equal(open.Labels, []string{"good first issue", "performance"}) || !slices.Equal(open.Assignees, []string{"octocat"}) ||
		len(open.Comments) != 1 || open.Comments[0].Body != "From: @hubot (github)\n\nConfirmed on 2.3." {
		t.Errorf("#12: %+v", open)
	}
	if closed.State != "closed" || closed.Title != "Crash on \"save\" — naïve café ✓" {
		t.Errorf("#11: %+v", closed.IssueSummary)
	}
	view := runImport(t, s, tools.ImportInput{Source: "github", Data: foreignFixture(t, "github-view.json")})
	if view.Created != 1 || view.Issues[0].SourceID != "acme/widgets/13" {
		t.Errorf("gh issue view: %+v", view)
	}
}

func TestImportSpreadsManyIssuesOverFewCommitsAndTheViewMatchesARebuild(t *testing.T) {
	const n = 6000
	s := importSession(t, testrepo.New(t))
	out := runImport(t, s, tools.ImportInput{Source: "beads", Data: syntheticBeads(n, 1)})
	if out.Created != n {
		t.Fatalf("created %d", out.Created)
	}
	// 3 events an issue (creation, comment, provenance link) and an edge
	// for every tenth: 18,600 events, three commits of issues and one of
	// edges.
	if wantEvents := 3*n + n/10; out.Events != wantEvents || out.Commits != 4 {
		t.Errorf("%d events in %d commits, want %d in 4", out.Events, out.Commits, wantEvents)
	}
	commits := 0
	head, err := s.WAL.Head()
	if err != nil {
		t.Fatal(err)
	}
	err = s.WAL.Walk(context.Background(), head, wal.ReadOptions{}, func(c wal.Commit) error {
		commits++
		if len(c.Events) > tools.BulkMaxEvents {
			t.Errorf("commit %s holds %d events", c.Hash, len(c.Events))
		}
		return nil
	})
	if err != nil || commits != 4 {
		t.Errorf("%d WAL commits (%v)", commits, err)
	}
	before := listAll(t, s)
	if _, err := tools.Rebuild.Call(context.Background(), s, tools.RebuildInput{}); err != nil {
		t.Fatal(err)
	}
	if after := listAll(t, s); !slices.Equal(before, after) {
		t.Errorf("the view after the import differs from a rebuild")
	}
	ready, err := tools.IssueReady.Call(context.Background(), s, tools.IssueReadyInput{})
	if err != nil || len(ready.Issues) != n-n/10 {
		t.Errorf("%d ready (%v), want %d: every tenth waits for another", len(ready.Issues), err, n-n/10)
	}
}

// syntheticBeads is n issues in beads JSONL, each with a comment; every
// tenth blocked by the one before it.
func syntheticBeads(n, comments int) []byte {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		rec := map[string]any{
			"id": fmt.Sprintf("syn-%d", i), "title": fmt.Sprintf("Issue %d", i), "description": "Body of issue " + fmt.Sprint(i),
			"status": "open", "priority": i % 5, "issue_type": "task", "created_at": "2026-01-02T03:04:05Z", "updated_at": "2026-01-02T03:04:05Z",
			"labels": []string{"synthetic"},
		}
		var cs []any
		for c := 0; c < comments; c++ {
			cs = append(cs, map[string]any{"author": "Ann", "text": fmt.Sprintf("Comment %d on %d", c, i), "created_at": "2026-01-02T03:04:06Z"})
		}
		rec["comments"] = cs
		if i%10 == 0 {
			rec["dependencies"] = []any{map[string]any{"issue_id": rec["id"], "depends_on_id": fmt.Sprintf("syn-%d", i-1), "type": "blocks"}}
		}
		line, _ := json.Marshal(rec)
		b.Write(line)
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

func listAll(t testing.TB, s *tools.Session) []string {
	t.Helper()
	l, err := tools.IssueList.Call(context.Background(), s, tools.IssueListInput{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, i := range l.Issues {
		out = append(out, fmt.Sprintf("%s %s %s %v %v %d %d %d", i.IssueID, i.Title, i.State, i.Labels, i.Assignees, i.CreatedTS, i.UpdatedTS, i.CommentCount))
	}
	sort.Strings(out)
	return out
}

func TestExportBeadsJSONLRoundTripsAnImport(t *testing.T) {
	s := importSession(t, testrepo.New(t))
	data := foreignFixture(t, "beads-export.jsonl")
	runImport(t, s, tools.ImportInput{Source: "beads", Data: data})
	exp, err := tools.Export.Call(context.Background(), s, tools.ExportInput{Format: tools.FormatBeadsJSONL})
	if err != nil {
		t.Fatal(err)
	}
	back := foreign.ParseBeads([]byte(exp.BeadsJSONL))
	if len(back.Errors) != 0 {
		t.Fatal(back.Errors)
	}
	orig := foreign.ParseBeads(data)
	want := map[string]foreign.Issue{}
	for _, iss := range orig.Issues {
		want[iss.ID] = iss
	}
	if len(back.Issues) != len(orig.Issues) {
		t.Fatalf("%d issues exported, want %d", len(back.Issues), len(orig.Issues))
	}
	for _, got := range back.Issues {
		w, ok := want[got.ID]
		if !ok {
			t.Errorf("exported %s, which beads did not have", got.ID)
			continue
		}
		got.Line, w.Line = 0, 0
		// beads' updated_at leaves out comments and edges; grite's is
		// the last event of the issue, comments and edges included.
		if got.UpdatedMS < w.UpdatedMS {
			t.Errorf("%s: updated %d, before beads' %d", got.ID, got.UpdatedMS, w.UpdatedMS)
		}
		got.UpdatedMS = w.UpdatedMS
		// Comments of one second are a millisecond apart, to keep their
		// order; beads' times are whole seconds.
		for i := range got.Comments {
			got.Comments[i].CreatedMS -= got.Comments[i].CreatedMS % 1000
		}
		sortDeps(got.Deps)
		sortDeps(w.Deps)
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", w) {
			t.Errorf("%s changed on the way back:\ngot  %+v\nwant %+v", got.ID, got, w)
		}
	}
}

func TestExportBeadsJSONLOfNativeIssues(t *testing.T) {
	s := importSession(t, testrepo.New(t))
	ctx := context.Background()
	a, err := tools.IssueCreate.Call(ctx, s, tools.IssueCreateInput{Title: "Native", Labels: []string{"p1", "ui"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := tools.IssueCreate.Call(ctx, s, tools.IssueCreateInput{Title: "Blocker"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tools.IssueDep.Call(ctx, s, tools.DepInput{ID: b.IssueID, Target: a.IssueID, Type: "blocks", Action: "add"}); err != nil {
		t.Fatal(err)
	}
	exp, err := tools.Export.Call(ctx, s, tools.ExportInput{Format: tools.FormatBeadsJSONL})
	if err != nil {
		t.Fatal(err)
	}
	back := foreign.ParseBeads([]byte(exp.BeadsJSONL))
	if len(back.Errors) != 0 || len(back.Issues) != 2 {
		t.Fatalf("%s: %v", exp.BeadsJSONL, back.Errors)
	}
	native := back.Issues[0]
	if native.ID != "grite-"+a.IssueID[:8] || !slices.Equal(native.Labels, []string{"p1", "type:task", "ui"}) {
		t.Errorf("native issue %+v", native)
	}
	// b blocks a: beads keeps that on a, the issue that waits.
	if want := []foreign.Dep{{Target: "grite-" + b.IssueID[:8], Type: "blocks"}}; !slices.Equal(native.Deps, want) {
		t.Errorf("deps %v, want %v", native.Deps, want)
	}
}

func sortDeps(d []foreign.Dep) {
	sort.Slice(d, func(i, j int) bool { return d[i].Target+d[i].Type < d[j].Target+d[j].Type })
}
