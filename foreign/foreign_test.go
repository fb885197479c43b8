package foreign

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func byID(issues []Issue) map[string]Issue {
	out := map[string]Issue{}
	for _, iss := range issues {
		out[iss.ID] = iss
	}
	return out
}

func TestParseBeadsReadsTheFixtureOfBdExport(t *testing.T) {
	p := ParseBeads(readFixture(t, "beads-export.jsonl"))
	if len(p.Errors) != 0 || p.Ignored != 0 {
		t.Fatalf("errors %v, ignored %d", p.Errors, p.Ignored)
	}
	if len(p.Issues) != 26 {
		t.Fatalf("%d issues, want 26", len(p.Issues))
	}
	issues := byID(p.Issues)
	closed := issues["demo-g67"]
	if !closed.Closed || closed.CloseReason != "Fixed by escaping" || closed.ClosedMS == 0 || closed.Title != `Crash when password contains quotes "'` {
		t.Errorf("closed issue: %+v", closed)
	}
	if !reflect.DeepEqual(closed.Labels, []string{"bug", "p0", "type:bug"}) {
		t.Errorf("labels %v", closed.Labels)
	}
	store := issues["demo-0xv"]
	if !reflect.DeepEqual(store.Assignees, []string{"alice"}) || len(store.Comments) != 2 || store.Comments[0].Author != "Ann" {
		t.Errorf("demo-0xv: %+v", store)
	}
	if !reflect.DeepEqual(store.Deps, []Dep{{Target: "demo-kvh", Type: BeadsParentChild}}) {
		t.Errorf("demo-0xv deps %v", store.Deps)
	}
	login := issues["demo-7bb"]
	if !slices.Contains(login.Labels, "status:in_progress") || login.Closed {
		t.Errorf("in-progress issue: %+v", login)
	}
	if !reflect.DeepEqual(login.Deps, []Dep{{Target: "demo-0xv", Type: BeadsBlocks}}) {
		t.Errorf("demo-7bb deps %v", login.Deps)
	}
	comments, deps := 0, map[string]int{}
	for _, iss := range p.Issues {
		comments += len(iss.Comments)
		for _, d := range iss.Deps {
			deps[d.Type]++
		}
		if iss.Line == 0 || iss.CreatedMS == 0 || iss.UpdatedMS < iss.CreatedMS {
			t.Errorf("%s: line %d, times %d..%d", iss.ID, iss.Line, iss.CreatedMS, iss.UpdatedMS)
		}
	}
	if comments != 3 {
		t.Errorf("%d comments, want 3", comments)
	}
	for _, typ := range []string{BeadsBlocks, BeadsParentChild, BeadsDiscoveredFrom} {
		if deps[typ] == 0 {
			t.Errorf("no %s dependency read (%v)", typ, deps)
		}
	}
}

func TestParseBeadsReportsEachMalformedLineAndKeepsTheRest(t *testing.T) {
	p := ParseBeads(readFixture(t, "beads-malformed.jsonl"))
	var got []int
	for _, e := range p.Errors {
		got = append(got, e.Line)
	}
	if want := []int{2, 4, 6, 8, 9}; !reflect.DeepEqual(got, want) {
		t.Errorf("error lines %v, want %v (%v)", got, want, p.Errors)
	}
	var ids []string
	for _, iss := range p.Issues {
		ids = append(ids, iss.ID)
	}
	if want := []string{"demo-219", "demo-din", "demo-ymo"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("issues %v, want %v", ids, want)
	}
	if p.Ignored != 1 {
		t.Errorf("ignored %d, want 1 (the memory record)", p.Ignored)
	}
}

func TestBeadsJSONLRoundTripsThroughParseBeads(t *testing.T) {
	first := ParseBeads(readFixture(t, "beads-export.jsonl"))
	out, err := BeadsJSONL(first.Issues)
	if err != nil {
		t.Fatal(err)
	}
	again := ParseBeads(out)
	if len(again.Errors) != 0 {
		t.Fatal(again.Errors)
	}
	if len(again.Issues) != len(first.Issues) {
		t.Fatalf("%d issues back, want %d", len(again.Issues), len(first.Issues))
	}
	for i := range first.Issues {
		a, b := first.Issues[i], again.Issues[i]
		a.Line, b.Line = 0, 0
		if !reflect.DeepEqual(a, b) {
			t.Errorf("issue %d changed:\n%+v\n%+v", i, a, b)
		}
	}
}

func TestBeadsJSONLFillsWhatBdImportRequires(t *testing.T) {
	long := "é"
	for len(long) < 600 {
		long += "é"
	}
	out, err := BeadsJSONL([]Issue{{ID: "x-1", Title: long, Closed: true, CreatedMS: 1000, UpdatedMS: 2000}})
	if err != nil {
		t.Fatal(err)
	}
	p := ParseBeads(out)
	if len(p.Issues) != 1 {
		t.Fatalf("%s: %v", out, p.Errors)
	}
	iss := p.Issues[0]
	if len(iss.Title) > 500 || iss.ClosedMS != 2000 || !slices.Contains(iss.Labels, "p2") || !slices.Contains(iss.Labels, "type:task") {
		t.Errorf("%d-byte title, closed %d, labels %v", len(iss.Title), iss.ClosedMS, iss.Labels)
	}
}

func TestParseGitHubReadsListAndView(t *testing.T) {
	p := ParseGitHub(readFixture(t, "github-issues.json"))
	if len(p.Errors) != 0 || len(p.Issues) != 2 {
		t.Fatalf("%d issues, errors %v", len(p.Issues), p.Errors)
	}
	open, closed := p.Issues[0], p.Issues[1]
	if open.ID != "12" || open.Closed || !reflect.DeepEqual(open.Labels, []string{"good first issue", "performance"}) ||
		!reflect.DeepEqual(open.Assignees, []string{"octocat"}) || len(open.Comments) != 1 || open.Comments[0].Author != "@hubot" {
		t.Errorf("open issue %+v", open)
	}
	if open.Line != 2 || closed.Line != 48 {
		t.Errorf("lines %d and %d, want 2 and 48", open.Line, closed.Line)
	}
	if !closed.Closed || closed.ClosedMS == 0 || closed.UpdatedMS != closed.ClosedMS {
		t.Errorf("closed issue %+v", closed)
	}
	v := ParseGitHub(readFixture(t, "github-view.json"))
	if len(v.Errors) != 0 || len(v.Issues) != 1 || v.Issues[0].ID != "acme/widgets/13" {
		t.Errorf("view: %+v", v)
	}
}

func TestParseGitHubReportsMalformedRecordsByLine(t *testing.T) {
	tests := []struct {
		name      string
		data      string
		lines     []int
		issueIDs  []string
		errSubstr string
	}{
		{"records", string(readFixture(t, "github-malformed.json")), []int{3, 4, 5}, []string{"1", "5"}, ""},
		{"truncated", "[\n{\"number\": 1, \"title\": \"a\", \"state\": \"OPEN\"},\n{\"number\": 2, \"title\": ", []int{3}, []string{"1"}, ""},
		{"not an array", "\"hello\"", []int{1}, nil, ""},
		{"duplicate", "[{\"number\": 1, \"title\": \"a\", \"state\": \"OPEN\"},\n{\"number\": 1, \"title\": \"b\", \"state\": \"OPEN\"}]", []int{2}, []string{"1"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := ParseGitHub([]byte(tc.data))
			var lines []int
			for _, e := range p.Errors {
				lines = append(lines, e.Line)
			}
			var ids []string
			for _, iss := range p.Issues {
				ids = append(ids, iss.ID)
			}
			if !reflect.DeepEqual(lines, tc.lines) || !reflect.DeepEqual(ids, tc.issueIDs) {
				t.Errorf("error lines %v (%v), issues %v; want %v, %v", lines, p.Errors, ids, tc.lines, tc.issueIDs)
			}
		})
	}
}

func TestParseGitBugFoldsOperations(t *testing.T) {
	pack := func(clock uint64, ops string) GitBugPack {
		return GitBugPack{Commit: "c", EditClock: clock, Ops: []byte(`{"author":{"id":"a1"},"ops":[` + ops + `]}`)}
	}
	create := `{"type":1,"timestamp":100,"nonce":"x","title":"T0","message":"body","files":null}`
	comment := `{"type":3,"timestamp":101,"nonce":"y","message":"first","files":null}`
	// EditComment names the comment by the SHA-256 of its JSON.
	edit := `{"type":6,"timestamp":102,"nonce":"z","target":"` + sha256Hex(comment) + `","message":"edited","files":null}`
	bug := GitBugEntity{ID: "b1", Packs: []GitBugPack{
		pack(5, `{"type":4,"timestamp":104,"nonce":"s","status":2}`),
		pack(1, create),
		pack(2, comment),
		pack(3, edit),
		pack(4, `{"type":2,"timestamp":103,"nonce":"t","title":"T1","was":"T0"},{"type":5,"timestamp":103,"nonce":"l","added":["x","y"],"removed":null},{"type":5,"timestamp":103,"nonce":"m","added":null,"removed":["x"]}`),
	}}
	p := ParseGitBug([]GitBugEntity{bug, {ID: "broken", Packs: []GitBugPack{pack(1, comment)}}}, map[string]GitBugIdentity{"a1": {Name: "Ann", Email: "ann@example.com"}})
	if len(p.Issues) != 1 || len(p.Errors) != 1 || p.Errors[0].ID != "broken" {
		t.Fatalf("%+v", p)
	}
	iss := p.Issues[0]
	want := Issue{Source: SourceGitBug, ID: "b1", Title: "T1", Body: "body", Closed: true, Labels: []string{"y"},
		Author: "Ann <ann@example.com>", CreatedMS: 100000, UpdatedMS: 104000, ClosedMS: 104000,
		Comments: []Comment{{Author: "Ann <ann@example.com>", Body: "edited", CreatedMS: 101000}}}
	if !reflect.DeepEqual(iss, want) {
		t.Errorf("got  %+v\nwant %+v", iss, want)
	}
}

func TestProvenanceURLsRoundTrip(t *testing.T) {
	tests := []struct{ url, source, id, depType string }{
		{ProvenanceURL("beads", "demo-0xv"), "beads", "demo-0xv", ""},
		{DepTypeURL("beads", "demo-kvh", "parent-child"), "beads", "demo-kvh", "parent-child"},
		{ProvenanceURL("github", "acme/widgets/12"), "github", "acme/widgets/12", ""},
	}
	for _, tc := range tests {
		s, id, dt, ok := ParseProvenanceURL(tc.url)
		if !ok || s != tc.source || id != tc.id || dt != tc.depType {
			t.Errorf("%s: %q %q %q %v", tc.url, s, id, dt, ok)
		}
	}
	for _, bad := range []string{"https://example.com", "imported:", "imported:beads", "imported:beads:", "imported::x"} {
		if _, _, _, ok := ParseProvenanceURL(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
	author, text := SplitComment(CommentHeader("beads", "Ann (QA)") + "hello\n\nworld")
	if author != "Ann (QA)" || text != "hello\n\nworld" {
		t.Errorf("%q %q", author, text)
	}
	if a, text := SplitComment("From: nobody\n\nx"); a != "" || text != "From: nobody\n\nx" {
		t.Errorf("a plain comment split: %q %q", a, text)
	}
}

func FuzzParseBeads(f *testing.F) {
	f.Add(readFixture(f, "beads-malformed.jsonl"))
	f.Fuzz(func(t *testing.T, b []byte) { ParseBeads(b) })
}

func FuzzParseGitHub(f *testing.F) {
	f.Add(readFixture(f, "github-issues.json"))
	f.Add(readFixture(f, "github-malformed.json"))
	f.Fuzz(func(t *testing.T, b []byte) { ParseGitHub(b) })
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestBeadsJSONLKeepsUnknownTypesAndStatusesAsLabels(t *testing.T) {
	out, err := BeadsJSONL([]Issue{{ID: "x-1", Title: "t", CreatedMS: 1000, Labels: []string{"status:review", "type:story", "type:bug", "status:blocked"}}})
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(out, &rec); err != nil {
		t.Fatal(err)
	}
	if rec["issue_type"] != "bug" || rec["status"] != "blocked" || fmt.Sprint(rec["labels"]) != "[status:review type:story]" {
		t.Errorf("%s", out)
	}
}

// bdIssue decodes a line as bd import does (beads v1.0.5,
// internal/types: times are time.Time, so "" or a bad time fails, and
// priority is a plain int), and bdValidate applies its checks of an
// issue (title, priority, status, type, closed_at).
type bdIssue struct {
	ID           string     `json:"id"`
	Title        string     `json:"title"`
	Status       string     `json:"status"`
	Priority     int        `json:"priority"`
	IssueType    string     `json:"issue_type"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	ClosedAt     *time.Time `json:"closed_at,omitempty"`
	Dependencies []struct {
		IssueID     string    `json:"issue_id"`
		DependsOnID string    `json:"depends_on_id"`
		Type        string    `json:"type"`
		CreatedAt   time.Time `json:"created_at"`
	} `json:"dependencies"`
	Comments []struct {
		Author    string    `json:"author"`
		Text      string    `json:"text"`
		CreatedAt time.Time `json:"created_at"`
	} `json:"comments"`
}

func bdValidate(i bdIssue) error {
	switch {
	case i.Title == "" || len(i.Title) > 500:
		return fmt.Errorf("title of %d bytes", len(i.Title))
	case i.Priority < 0 || i.Priority > 4:
		return fmt.Errorf("priority %d", i.Priority)
	case !slices.Contains([]string{"open", "in_progress", "blocked", "deferred", "closed"}, i.Status):
		return fmt.Errorf("status %q", i.Status)
	case !slices.Contains([]string{"bug", "feature", "task", "epic", "chore"}, i.IssueType):
		return fmt.Errorf("issue type %q", i.IssueType)
	case (i.Status == "closed") != (i.ClosedAt != nil):
		return fmt.Errorf("status %s with closed_at %v", i.Status, i.ClosedAt)
	}
	for _, d := range i.Dependencies {
		if !slices.Contains([]string{BeadsBlocks, BeadsParentChild, BeadsRelated, BeadsDiscoveredFrom}, d.Type) || d.IssueID != i.ID || d.CreatedAt.IsZero() {
			return fmt.Errorf("dependency %+v", d)
		}
	}
	return nil
}

func TestBeadsJSONLPassesBdImportChecks(t *testing.T) {
	issues := ParseBeads(readFixture(t, "beads-export.jsonl")).Issues
	long := strings.Repeat("ü", 400)
	issues = append(issues,
		Issue{ID: "x-1", Title: long, Closed: true, CreatedMS: 1000, UpdatedMS: 2000, Labels: []string{"type:story", "status:review", "p9"}},
		Issue{ID: "x-2", Title: "plain", CreatedMS: 1500, Comments: []Comment{{Author: "a", Body: "b", CreatedMS: 1600}}, Deps: []Dep{{Target: "x-1", Type: BeadsBlocks}}},
	)
	out, err := BeadsJSONL(issues)
	if err != nil {
		t.Fatal(err)
	}
	for n, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var i bdIssue
		if err := json.Unmarshal([]byte(line), &i); err != nil {
			t.Errorf("line %d: bd import would fail to decode it: %v\n%s", n+1, err, line)
			continue
		}
		if err := bdValidate(i); err != nil {
			t.Errorf("line %d: bd import would refuse it: %v\n%s", n+1, err, line)
		}
	}
}
