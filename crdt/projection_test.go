package crdt

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"grite/event"
)

var (
	i1, i2, i3 = issue(1), issue(2), issue(3)
	ann, bob   = actor(1), actor(2) // ann < bob byte-wise
)

// greaterID returns whichever of a and b has the greater event ID.
func greaterID(a, b event.Event) event.Event {
	if a.ID.Compare(b.ID) > 0 {
		return a
	}
	return b
}

// foldCase is a set of events on i1 and what one field of i1 must be
// after folding them, in every order.
type foldCase struct {
	name   string
	events []event.Event
	want   any
}

// Every field converges to what the event of the greatest version (ts,
// then actor, then event ID) says, whatever the order of the fold:
// last-writer-wins registers for title and body (each on its own) and
// state; per-element add/remove sets for labels, assignees and
// dependencies (per target and type). Lists are sorted and never nil.
func TestFieldsConvergeToTheGreatestVersion(t *testing.T) {
	b := on(t, i1)
	sameA, sameB := b.retitle(ann, 20, "same-p"), b.retitle(ann, 20, "same-q")
	winner := greaterID(sameA, sameB).Kind.(event.IssueUpdated).Title
	evs := func(e ...event.Event) []event.Event { return e }
	created := b.create(ann, 10, "t0")
	tb := func(title, body string) [2]string { return [2]string{title, body} }
	for _, field := range []struct {
		name  string
		get   func(Issue) any
		cases []foldCase
	}{
		{"title and body", func(is Issue) any { return tb(is.Title, is.Body) }, []foldCase{
			{"higher ts wins", evs(created, b.retitle(bob, 20, "old"), b.retitle(ann, 30, "new")), tb("new", "body of t0")},
			{"higher ts beats greater actor", evs(created, b.retitle(ann, 31, "ann"), b.retitle(bob, 30, "bob")), tb("ann", "body of t0")},
			{"equal ts greater actor wins", evs(created, b.retitle(ann, 20, "ann"), b.retitle(bob, 20, "bob")), tb("bob", "body of t0")},
			{"equal ts and actor greater event id wins", evs(created, sameA, sameB), tb(*winner, "body of t0")},
			{"update older than creation loses to it", evs(created, b.retitle(bob, 5, "skewed")), tb("t0", "body of t0")},
			{"equal ts update beats creation by smaller actor", evs(created, b.retitle(bob, 10, "bob")), tb("bob", "body of t0")},
			{"title and body are independent", evs(created, b.update(ann, 30, ptr("t1"), nil), b.update(bob, 20, ptr("t-old"), ptr("b1"))), tb("t1", "b1")},
			{"null fields change nothing", evs(created, b.update(bob, 40, nil, nil)), tb("t0", "body of t0")},
			{"empty title is a write", evs(created, b.update(bob, 40, ptr(""), ptr(""))), tb("", "")},
		}},
		{"labels", func(is Issue) any { return is.Labels }, []foldCase{
			{"remove after add", evs(created, b.label(ann, 20, "ui", true), b.label(bob, 30, "ui", false)), []string{}},
			{"add after remove", evs(created, b.label(ann, 20, "ui", false), b.label(bob, 30, "ui", true)), []string{"ui"}},
			{"equal ts remove by greater actor wins", evs(created, b.label(ann, 20, "ui", true), b.label(bob, 20, "ui", false)), []string{}},
			{"equal ts add by greater actor wins", evs(created, b.label(ann, 20, "ui", false), b.label(bob, 20, "ui", true)), []string{"ui"}},
			{"remove of a creation label", evs(b.create(ann, 10, "t", "bug", "ui"), b.label(bob, 20, "bug", false)), []string{"ui"}},
			{"remove older than creation loses to its label", evs(b.create(ann, 10, "t", "bug"), b.label(bob, 5, "bug", false)), []string{"bug"}},
			{"add older than creation still counts", evs(created, b.label(bob, 5, "p1", true)), []string{"p1"}},
			{"re-add after removal of a creation label", evs(b.create(ann, 10, "t", "bug"), b.label(bob, 20, "bug", false), b.label(ann, 30, "bug", true)), []string{"bug"}},
			{"duplicate creation labels collapse", evs(b.create(ann, 10, "t", "bug", "bug")), []string{"bug"}},
			{"sorted byte-wise", evs(b.create(ann, 10, "t", "b"), b.label(ann, 20, "a", true), b.label(bob, 20, "B", true)), []string{"B", "a", "b"}},
			{"none is an empty slice", evs(created), []string{}},
		}},
		{"state", func(is Issue) any { return is.State }, []foldCase{
			{"new issue is open", evs(created), event.StateOpen},
			{"close", evs(created, b.state(bob, 20, event.StateClosed)), event.StateClosed},
			{"reopen after close", evs(created, b.state(bob, 20, event.StateClosed), b.state(ann, 30, event.StateOpen)), event.StateOpen},
			{"close after reopen", evs(created, b.state(bob, 30, event.StateClosed), b.state(ann, 20, event.StateOpen)), event.StateClosed},
			{"equal ts reopen by greater actor", evs(created, b.state(ann, 20, event.StateClosed), b.state(bob, 20, event.StateOpen)), event.StateOpen},
			{"equal ts close by greater actor", evs(created, b.state(bob, 20, event.StateClosed), b.state(ann, 20, event.StateOpen)), event.StateClosed},
			{"close older than creation loses to it", evs(created, b.state(bob, 5, event.StateClosed)), event.StateOpen},
		}},
		{"assignees", func(is Issue) any { return is.Assignees }, []foldCase{
			{"add", evs(created, b.assignee(ann, 20, "cy", true)), []string{"cy"}},
			{"remove after add", evs(created, b.assignee(ann, 20, "cy", true), b.assignee(bob, 30, "cy", false)), []string{}},
			{"add after remove", evs(created, b.assignee(ann, 30, "cy", true), b.assignee(bob, 20, "cy", false)), []string{"cy"}},
			{"equal ts greater actor wins", evs(created, b.assignee(bob, 20, "cy", true), b.assignee(ann, 20, "cy", false)), []string{"cy"}},
			{"remove without add", evs(created, b.assignee(bob, 20, "cy", false)), []string{}},
			{"per element and sorted", evs(created, b.assignee(ann, 20, "zed", true), b.assignee(bob, 20, "al", true), b.assignee(bob, 30, "mo", false)), []string{"al", "zed"}},
		}},
		{"dependencies", func(is Issue) any { return is.Deps }, []foldCase{
			{"add", evs(created, b.dep(ann, 20, i2, event.DepBlocks, true)), []Dep{{i2, event.DepBlocks}}},
			{"remove after add", evs(created, b.dep(ann, 20, i2, event.DepBlocks, true), b.dep(bob, 30, i2, event.DepBlocks, false)), []Dep{}},
			{"add after remove", evs(created, b.dep(ann, 30, i2, event.DepBlocks, true), b.dep(bob, 20, i2, event.DepBlocks, false)), []Dep{{i2, event.DepBlocks}}},
			{"equal ts greater actor wins", evs(created, b.dep(ann, 20, i2, event.DepBlocks, true), b.dep(bob, 20, i2, event.DepBlocks, false)), []Dep{}},
			{"remove of another type keeps the edge", evs(created, b.dep(ann, 20, i2, event.DepDependsOn, true), b.dep(bob, 30, i2, event.DepBlocks, false)), []Dep{{i2, event.DepDependsOn}}},
			{"sorted by target then type", evs(created, b.dep(ann, 20, i3, event.DepBlocks, true), b.dep(ann, 21, i2, event.DepRelatedTo, true), b.dep(bob, 22, i2, event.DepBlocks, true)),
				[]Dep{{i2, event.DepBlocks}, {i2, event.DepRelatedTo}, {i3, event.DepBlocks}}},
		}},
	} {
		for _, tc := range field.cases {
			t.Run(field.name+"/"+tc.name, func(t *testing.T) {
				inEveryOrder(t, tc.events, func(t *testing.T, p *Projection) {
					// DeepEqual: an empty list is not nil.
					if got := field.get(mustIssue(t, p, i1)); !reflect.DeepEqual(got, tc.want) {
						t.Errorf("%s = %#v, want %#v", field.name, got, tc.want)
					}
				})
			})
		}
	}
}

func TestDuplicateCreationSmallestVersionWins(t *testing.T) {
	b := on(t, i1)
	early, late := b.create(bob, 10, "early", "bug"), b.create(ann, 20, "late", "ui")
	tieAnn, tieBob := b.create(ann, 10, "by ann"), b.create(bob, 10, "by bob")
	third := b.create(ann, 30, "third")
	tests := []struct {
		name      string
		events    []event.Event
		wantTitle string
		wantBy    event.ActorID
		wantDups  []event.EventID
	}{
		{"smaller ts wins", []event.Event{early, late}, "early", bob, []event.EventID{late.ID}},
		{"equal ts smaller actor wins", []event.Event{tieAnn, tieBob}, "by ann", ann, []event.EventID{tieBob.ID}},
		{"three creations", []event.Event{late, third, early}, "early", bob, sortedIDs(late.ID, third.ID)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inEveryOrder(t, tt.events, func(t *testing.T, p *Projection) {
				is := mustIssue(t, p, i1)
				if is.Title != tt.wantTitle || is.CreatedBy != tt.wantBy {
					t.Errorf("title, created by = %q, %s; want %q, %s", is.Title, is.CreatedBy, tt.wantTitle, tt.wantBy)
				}
				if got := p.DuplicateCreations(); !slices.Equal(got, tt.wantDups) {
					t.Errorf("duplicate creations = %v, want %v", got, tt.wantDups)
				}
				// Losers are not applied: not counted, their ts and labels ignored.
				if is.EventCount != 1 || is.UpdatedTS != is.CreatedTS {
					t.Errorf("event count, updated ts = %d, %d; want 1, %d", is.EventCount, is.UpdatedTS, is.CreatedTS)
				}
				if slices.Contains(is.Labels, "ui") {
					t.Errorf("labels %v include a losing creation's label", is.Labels)
				}
			})
		})
	}
}

func sortedIDs(ids ...event.EventID) []event.EventID {
	slices.SortFunc(ids, event.EventID.Compare)
	return ids
}

func TestEventsBeforeCreationTakeEffectOnceItArrives(t *testing.T) {
	b := on(t, i1)
	comment := b.comment(bob, 5, "written before the creation arrived")
	label := b.label(bob, 6, "early", true)
	create := b.create(ann, 10, "t")

	p := NewProjection()
	p.Apply(comment)
	p.Apply(label)
	if _, ok := p.Issue(i1); ok {
		t.Fatal("issue exists before its creation")
	}
	if got := p.Issues(); len(got) != 0 {
		t.Fatalf("Issues() = %v before creation, want none", got)
	}
	if got := p.Pending(); !slices.Equal(got, []event.IssueID{i1}) {
		t.Fatalf("pending = %v, want [%s]", got, i1)
	}
	p.Apply(create)
	is := mustIssue(t, p, i1)
	if len(is.Comments) != 1 || is.Comments[0].EventID != comment.ID || is.Comments[0].Body != "written before the creation arrived" {
		t.Errorf("comments = %+v, want the early comment", is.Comments)
	}
	if !slices.Equal(is.Labels, []string{"early"}) {
		t.Errorf("labels = %v, want [early]", is.Labels)
	}
	if is.EventCount != 3 || is.UpdatedTS != 10 || is.CreatedTS != 10 {
		t.Errorf("event count, updated ts, created ts = %d, %d, %d; want 3, 10, 10", is.EventCount, is.UpdatedTS, is.CreatedTS)
	}
	if got := p.Pending(); len(got) != 0 {
		t.Errorf("pending = %v after creation, want none", got)
	}
}

func TestDuplicateEventAppliedOnce(t *testing.T) {
	b := on(t, i1)
	create, comment := b.create(ann, 10, "t"), b.comment(bob, 20, "once")
	p := NewProjection()
	for i, want := range []bool{true, true, false, false} {
		e := []event.Event{create, comment, comment, create}[i]
		if got := p.Apply(e); got != want {
			t.Errorf("Apply #%d (%s) = %v, want %v", i, e.Kind.KindName(), got, want)
		}
	}
	// A copy with a different signature but the same ID is still the same event.
	resigned := comment
	resigned.Sig = []byte("other signature")
	if p.Apply(resigned) {
		t.Error("Apply of a re-signed copy = true, want false")
	}
	is := mustIssue(t, p, i1)
	if len(is.Comments) != 1 || is.EventCount != 2 {
		t.Errorf("comments, event count = %d, %d; want 1, 2", len(is.Comments), is.EventCount)
	}
	if got := p.DuplicateCreations(); len(got) != 0 {
		t.Errorf("re-applying one creation reported duplicates %v", got)
	}
}

func TestUpdatedTSAndEventCount(t *testing.T) {
	b := on(t, i1)
	events := []event.Event{
		b.create(ann, 10, "t"),
		b.label(ann, 30, "x", true),
		b.comment(bob, 50, "latest"),
		b.retitle(bob, 3, "skewed clock"), // older than the creation: still counts
		on(t, i2).comment(ann, 99, "other issue"),
		sealed(t, event.ProjectContextIssueID, ann, 100, event.ProjectContextUpdated{Key: "k", Value: "v"}),
	}
	inEveryOrder(t, events, func(t *testing.T, p *Projection) {
		is := mustIssue(t, p, i1)
		if is.UpdatedTS != 50 || is.EventCount != 4 || is.CreatedTS != 10 || is.CreatedBy != ann {
			t.Errorf("updated ts, event count, created ts, by = %d, %d, %d, %s; want 50, 4, 10, %s",
				is.UpdatedTS, is.EventCount, is.CreatedTS, is.CreatedBy, ann)
		}
	})
}

func TestCommentsLinksAttachmentsInVersionOrder(t *testing.T) {
	b := on(t, i1)
	c1, c2, c3 := b.comment(bob, 5, "first"), b.comment(ann, 20, "second"), b.comment(bob, 20, "third")
	l1, l2 := b.link(ann, 20, "https://b", nil), b.link(ann, 10, "https://a", ptr("note"))
	a1 := b.attach(bob, 1, "log.txt")
	events := []event.Event{b.create(ann, 10, "t"), c3, l1, c1, a1, c2, l2}
	permutations(events, func(order []event.Event) {
		if t.Failed() {
			return
		}
		is := mustIssue(t, Fold(order), i1)
		var comments, links, attachments []event.EventID
		for _, c := range is.Comments {
			comments = append(comments, c.EventID)
		}
		for _, l := range is.Links {
			links = append(links, l.EventID)
		}
		for _, a := range is.Attachments {
			attachments = append(attachments, a.EventID)
		}
		if !slices.Equal(comments, []event.EventID{c1.ID, c2.ID, c3.ID}) ||
			!slices.Equal(links, []event.EventID{l2.ID, l1.ID}) ||
			!slices.Equal(attachments, []event.EventID{a1.ID}) {
			t.Errorf("comments %v, links %v, attachments %v not in version order", comments, links, attachments)
		}
		if c := is.Comments[2]; c.Actor != bob || c.TS != 20 || c.Body != "third" {
			t.Errorf("comment = %+v, want bob's third at 20", c)
		}
		if l := is.Links[0]; l.URL != "https://a" || l.Note == nil || *l.Note != "note" || is.Links[1].Note != nil {
			t.Errorf("links = %+v, want notes kept", is.Links)
		}
		if a := is.Attachments[0]; a.Name != "log.txt" || a.MIME != "text/plain" || a.SHA256 != [32]byte{7} {
			t.Errorf("attachment = %+v", a)
		}
	})
}

func TestIssueSlicesAreNeverNil(t *testing.T) {
	p := Fold([]event.Event{on(t, i1).create(ann, 10, "t")})
	is := mustIssue(t, p, i1)
	if is.Labels == nil || is.Assignees == nil || is.Comments == nil || is.Links == nil || is.Attachments == nil || is.Deps == nil {
		t.Errorf("nil slice in %+v", is)
	}
}

func TestIssueResultDoesNotAliasProjection(t *testing.T) {
	b := on(t, i1)
	p := Fold([]event.Event{b.create(ann, 10, "t", "bug"), b.comment(ann, 20, "c"), b.link(ann, 20, "u", ptr("n"))})
	is := mustIssue(t, p, i1)
	is.Labels[0] = "changed"
	is.Comments[0].Body = "changed"
	*is.Links[0].Note = "changed"
	again := mustIssue(t, p, i1)
	if again.Labels[0] != "bug" || again.Comments[0].Body != "c" || *again.Links[0].Note != "n" {
		t.Errorf("mutating a returned issue changed the projection: %+v", again)
	}
}

func TestContextEventsLastWriterWinsAndNeverTouchIssues(t *testing.T) {
	file := func(a event.ActorID, ts uint64, path, summary string, syms ...event.Symbol) event.Event {
		return sealed(t, event.FileContextIssueID(path), a, ts, event.ContextUpdated{Path: path, Language: "go", Symbols: syms, Summary: summary})
	}
	project := func(a event.ActorID, ts uint64, key, value string) event.Event {
		return sealed(t, event.ProjectContextIssueID, a, ts, event.ProjectContextUpdated{Key: key, Value: value})
	}
	events := []event.Event{
		file(ann, 10, "a.go", "ann's"),
		file(bob, 10, "a.go", "bob's", event.Symbol{Name: "Z", Kind: "func"}, event.Symbol{Name: "A", Kind: "type"}),
		file(ann, 5, "b.go", "only"),
		project(ann, 20, "k", "newer"),
		project(bob, 10, "k", "older"),
		project(ann, 1, "other", "x"),
	}
	inEveryOrder(t, events, func(t *testing.T, p *Projection) {
		files := p.FileContexts()
		a := files["a.go"]
		if len(files) != 2 || a.Summary != "bob's" || files["b.go"].Summary != "only" {
			t.Fatalf("file contexts = %+v", files)
		}
		if len(a.Symbols) != 2 || a.Symbols[0].Name != "A" {
			t.Errorf("symbols = %+v, want canonical (sorted) order", a.Symbols)
		}
		if got := p.ProjectContexts(); len(got) != 2 || got["k"] != "newer" || got["other"] != "x" {
			t.Errorf("project contexts = %v", got)
		}
		// The records carry the winners' versions, by path and by key.
		recs := p.FileContextRecords()
		if len(recs) != 2 || recs[0].Path != "a.go" || recs[0].Summary != "bob's" || recs[0].Version != events[1].Version() || recs[1].Version != events[2].Version() {
			t.Errorf("file context records = %+v", recs)
		}
		keys := p.ProjectContextRecords()
		if len(keys) != 2 || keys[0].Key != "k" || keys[0].Value != "newer" || keys[0].Version != events[3].Version() || keys[1].Key != "other" {
			t.Errorf("project context records = %+v", keys)
		}
		if len(p.Issues()) != 0 || len(p.Pending()) != 0 {
			t.Errorf("context events touched issues: %v, pending %v", p.Issues(), p.Pending())
		}
	})
}

func TestFoldIssueIgnoresOtherIssues(t *testing.T) {
	b1, b2 := on(t, i1), on(t, i2)
	events := []event.Event{
		b1.create(ann, 10, "one"), b2.create(ann, 5, "two"),
		b2.comment(bob, 20, "for two"), b1.label(bob, 20, "l", true),
	}
	is, ok := FoldIssue(i1, events)
	if !ok || is.Title != "one" || len(is.Comments) != 0 || is.EventCount != 2 || !slices.Equal(is.Labels, []string{"l"}) {
		t.Errorf("FoldIssue(i1) = %+v, %v", is, ok)
	}
	if _, ok := FoldIssue(i3, events); ok {
		t.Error("FoldIssue of an unknown issue reported ok")
	}
	if _, ok := FoldIssue(i2, []event.Event{b2.comment(bob, 20, "no creation")}); ok {
		t.Error("FoldIssue without a creation reported ok")
	}
}

func TestIssuesSortedByCreatedTSThenID(t *testing.T) {
	events := []event.Event{
		on(t, i3).create(ann, 5, "c"),
		on(t, i2).create(bob, 10, "b"),
		on(t, i1).create(ann, 10, "a"),
		on(t, issue(9)).comment(ann, 1, "pending"),
		on(t, issue(8)).comment(ann, 1, "pending too"),
	}
	inEveryOrder(t, events, func(t *testing.T, p *Projection) {
		var got []event.IssueID
		for _, is := range p.Issues() {
			got = append(got, is.ID)
		}
		if want := []event.IssueID{i3, i1, i2}; !slices.Equal(got, want) {
			t.Errorf("Issues() order = %v, want %v", got, want)
		}
		if want := []event.IssueID{issue(8), issue(9)}; !slices.Equal(p.Pending(), want) {
			t.Errorf("Pending() = %v, want %v", p.Pending(), want)
		}
	})
}

// TestPackageImportsOnlyStandardLibraryAndEvent keeps crdt pure (CONTRIBUTING.md, Style rules).
func TestPackageImportsOnlyStandardLibraryAndEvent(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			if path != "grite/event" && (strings.Contains(first, ".") || first == "grite") {
				t.Errorf("%s imports %s; crdt may import only the standard library and grite/event", name, path)
			}
		}
	}
}
