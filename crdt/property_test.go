package crdt

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"grite/event"
)

// snapshot is everything a projection exposes.
type snapshot struct {
	Issues   []Issue
	Pending  []event.IssueID
	Dups     []event.EventID
	Files    map[string]event.ContextUpdated
	Projects map[string]string
}

func snapshotOf(p *Projection) snapshot {
	return snapshot{p.Issues(), p.Pending(), p.DuplicateCreations(), p.FileContexts(), p.ProjectContexts()}
}

// eventGenerator draws small pools of values so that collisions are common:
// equal timestamps across actors, adds and removes of the same element,
// several creations of one issue, events older than their issue's creation.
type eventGenerator struct {
	t      testing.TB
	r      *rand.Rand
	issues []event.IssueID
	actors []event.ActorID
}

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

func (g *eventGenerator) events() []event.Event {
	g.issues = g.issues[:0]
	for i := range 1 + g.r.IntN(4) {
		g.issues = append(g.issues, issue(byte(10+i)))
	}
	g.actors = g.actors[:0]
	for i := range 1 + g.r.IntN(3) {
		g.actors = append(g.actors, actor(byte(1+i)))
	}
	var out []event.Event
	for _, id := range g.issues {
		creations := pick(g.r, 0, 1, 1, 1, 1, 1, 2, 2, 3)
		for range creations {
			out = append(out, g.event(id, event.IssueCreated{
				Title:  pick(g.r, "alpha", "beta", "gamma"),
				Body:   pick(g.r, "", "body"),
				Labels: g.labels(),
			}))
		}
	}
	for range g.r.IntN(45) {
		id := pick(g.r, g.issues...)
		if g.r.IntN(8) == 0 {
			out = append(out, g.contextEvent())
			continue
		}
		out = append(out, g.event(id, g.issueKind()))
	}
	return out
}

func (g *eventGenerator) event(id event.IssueID, k event.Kind) event.Event {
	return sealed(g.t, id, pick(g.r, g.actors...), uint64(1+g.r.IntN(8)), k)
}

func (g *eventGenerator) labels() []string {
	var ls []string
	for _, l := range []string{"bug", "ui", "p1", "P1"} {
		if g.r.IntN(3) == 0 {
			ls = append(ls, l)
		}
	}
	g.r.Shuffle(len(ls), func(i, j int) { ls[i], ls[j] = ls[j], ls[i] })
	if ls == nil {
		ls = []string{}
	}
	return ls
}

func (g *eventGenerator) issueKind() event.Kind {
	r := g.r
	label := pick(r, "bug", "ui", "p1", "P1")
	user := pick(r, "ann", "bob", "cy")
	target := pick(r, append(slices.Clone(g.issues), issue(99))...)
	typ := pick(r, event.DepBlocks, event.DepDependsOn, event.DepRelatedTo)
	switch r.IntN(12) {
	case 0:
		return event.IssueUpdated{Title: pick(r, nil, ptr("t1"), ptr("t2"), ptr("")), Body: pick(r, nil, ptr("b1"), ptr("b2"))}
	case 1:
		return event.CommentAdded{Body: pick(r, "c1", "c2", "c3")}
	case 2:
		return event.LabelAdded{Label: label}
	case 3:
		return event.LabelRemoved{Label: label}
	case 4:
		return event.StateChanged{State: pick(r, event.StateOpen, event.StateClosed)}
	case 5:
		return event.LinkAdded{URL: pick(r, "https://a", "https://b"), Note: pick(r, nil, ptr("n"))}
	case 6:
		return event.AssigneeAdded{User: user}
	case 7:
		return event.AssigneeRemoved{User: user}
	case 8:
		return event.AttachmentAdded{Name: pick(r, "a.txt", "b.png"), SHA256: [32]byte{byte(r.IntN(3))}, MIME: "x/y"}
	case 9:
		return event.DependencyAdded{Target: target, Type: typ}
	case 10:
		return event.DependencyRemoved{Target: target, Type: typ}
	default:
		return event.IssueUpdated{Title: ptr(pick(r, "t1", "t2"))}
	}
}

func (g *eventGenerator) contextEvent() event.Event {
	r := g.r
	if r.IntN(2) == 0 {
		key := pick(r, "k1", "k2")
		return sealed(g.t, event.ProjectContextIssueID, pick(r, g.actors...), uint64(1+r.IntN(8)),
			event.ProjectContextUpdated{Key: key, Value: pick(r, "v1", "v2", "v3")})
	}
	path := pick(r, "a.go", "b.go")
	// Names are unique, so the canonical order of the symbols is unambiguous.
	var syms []event.Symbol
	for _, name := range []string{"Alpha", "beta", "Gamma"} {
		if r.IntN(2) == 0 {
			syms = append(syms, event.Symbol{Name: name, Kind: "func", LineStart: uint32(r.IntN(9)), LineEnd: 10})
		}
	}
	r.Shuffle(len(syms), func(i, j int) { syms[i], syms[j] = syms[j], syms[i] })
	return sealed(g.t, event.FileContextIssueID(path), pick(r, g.actors...), uint64(1+r.IntN(8)),
		event.ContextUpdated{Path: path, Language: "go", Symbols: syms, Summary: pick(r, "s1", "s2"), ContentHash: [32]byte{byte(r.IntN(2))}})
}

// arrival returns events in a random order with some of them repeated; a
// repeat is a copy with the same ID whose unordered fields (creation labels,
// symbols) are shuffled and whose signature differs, as a copy received from
// another replica may be.
func arrival(r *rand.Rand, events []event.Event) []event.Event {
	out := slices.Clone(events)
	for range r.IntN(len(events)/3 + 2) {
		if len(events) == 0 {
			break
		}
		d := events[r.IntN(len(events))]
		d.Sig = []byte{byte(r.IntN(256))}
		switch k := d.Kind.(type) {
		case event.IssueCreated:
			k.Labels = slices.Clone(k.Labels)
			r.Shuffle(len(k.Labels), func(i, j int) { k.Labels[i], k.Labels[j] = k.Labels[j], k.Labels[i] })
			d.Kind = k
		case event.ContextUpdated:
			k.Symbols = slices.Clone(k.Symbols)
			r.Shuffle(len(k.Symbols), func(i, j int) { k.Symbols[i], k.Symbols[j] = k.Symbols[j], k.Symbols[i] })
			d.Kind = k
		}
		out = append(out, d)
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// referenceIssue is the original's projection record, applied in rebuild order.
type referenceIssue struct {
	created              bool
	title, body          string
	state                event.State
	labels, assignees    map[string]bool
	deps                 map[Dep]bool
	comments             []Comment
	links                []Link
	attachments          []Attachment
	createdBy            event.ActorID
	createdTS, updatedTS uint64
	eventCount           int
}

// referenceFold is docs/format.md §10's rebuild written as plainly as possible:
// dedupe by ID, sort by (issue, version), then apply one event after the other
// with plain assignment and set insert/delete. It differs from the original
// only where the original aborts: events older than the creation are applied
// to an empty record (the creation then overwrites what it sets), later
// creations are skipped and reported, and issues without a creation are
// pending.
func referenceFold(events []event.Event) snapshot {
	seen := map[event.EventID]bool{}
	var issueEvents, contextEvents []event.Event
	for _, e := range events {
		if seen[e.ID] {
			continue
		}
		seen[e.ID] = true
		switch e.Kind.(type) {
		case event.ContextUpdated, event.ProjectContextUpdated:
			contextEvents = append(contextEvents, e)
		default:
			issueEvents = append(issueEvents, e)
		}
	}
	byVersion := func(a, b event.Event) int { return a.Version().Compare(b.Version()) }
	slices.SortFunc(issueEvents, func(a, b event.Event) int {
		return cmp.Or(a.IssueID.Compare(b.IssueID), byVersion(a, b))
	})
	slices.SortFunc(contextEvents, byVersion)

	s := snapshot{
		Issues:   []Issue{},
		Pending:  []event.IssueID{},
		Dups:     []event.EventID{},
		Files:    map[string]event.ContextUpdated{},
		Projects: map[string]string{},
	}
	for _, e := range contextEvents {
		switch k := e.Kind.(type) {
		case event.ContextUpdated:
			k.Symbols = event.SortedSymbols(k.Symbols)
			s.Files[k.Path] = k
		case event.ProjectContextUpdated:
			s.Projects[k.Key] = k.Value
		}
	}

	for start := 0; start < len(issueEvents); {
		id := issueEvents[start].IssueID
		end := start
		for end < len(issueEvents) && issueEvents[end].IssueID == id {
			end++
		}
		ri := referenceIssue{labels: map[string]bool{}, assignees: map[string]bool{}, deps: map[Dep]bool{}}
		for _, e := range issueEvents[start:end] {
			if k, ok := e.Kind.(event.IssueCreated); ok {
				if ri.created {
					s.Dups = append(s.Dups, e.ID)
					continue
				}
				ri.created = true
				ri.title, ri.body, ri.state = k.Title, k.Body, event.StateOpen
				for _, l := range k.Labels {
					ri.labels[l] = true
				}
				ri.createdBy, ri.createdTS = e.Actor, e.TS
			}
			ri.eventCount++
			ri.updatedTS = max(ri.updatedTS, e.TS)
			switch k := e.Kind.(type) {
			case event.IssueUpdated:
				if k.Title != nil {
					ri.title = *k.Title
				}
				if k.Body != nil {
					ri.body = *k.Body
				}
			case event.StateChanged:
				ri.state = k.State
			case event.CommentAdded:
				ri.comments = append(ri.comments, Comment{EventID: e.ID, Actor: e.Actor, TS: e.TS, Body: k.Body})
			case event.LabelAdded:
				ri.labels[k.Label] = true
			case event.LabelRemoved:
				delete(ri.labels, k.Label)
			case event.AssigneeAdded:
				ri.assignees[k.User] = true
			case event.AssigneeRemoved:
				delete(ri.assignees, k.User)
			case event.DependencyAdded:
				ri.deps[Dep{k.Target, k.Type}] = true
			case event.DependencyRemoved:
				delete(ri.deps, Dep{k.Target, k.Type})
			case event.LinkAdded:
				ri.links = append(ri.links, Link{EventID: e.ID, URL: k.URL, Note: k.Note})
			case event.AttachmentAdded:
				ri.attachments = append(ri.attachments, Attachment{EventID: e.ID, Name: k.Name, SHA256: k.SHA256, MIME: k.MIME})
			}
		}
		if !ri.created {
			s.Pending = append(s.Pending, id)
		} else {
			deps := []Dep{}
			for d := range ri.deps {
				deps = append(deps, d)
			}
			slices.SortFunc(deps, func(a, b Dep) int { return cmp.Or(a.Target.Compare(b.Target), cmp.Compare(a.Type, b.Type)) })
			s.Issues = append(s.Issues, Issue{
				ID: id, Title: ri.title, Body: ri.body, State: ri.state,
				Labels: sortedKeys(ri.labels), Assignees: sortedKeys(ri.assignees),
				Comments: nonNil(ri.comments), Links: nonNil(ri.links), Attachments: nonNil(ri.attachments), Deps: deps,
				CreatedBy: ri.createdBy, CreatedTS: ri.createdTS, UpdatedTS: ri.updatedTS, EventCount: ri.eventCount,
			})
		}
		start = end
	}
	slices.SortFunc(s.Issues, func(a, b Issue) int { return cmp.Or(cmp.Compare(a.CreatedTS, b.CreatedTS), a.ID.Compare(b.ID)) })
	slices.SortFunc(s.Dups, event.EventID.Compare)
	return s
}

func sortedKeys(m map[string]bool) []string {
	out := []string{}
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}

func TestFoldIsOrderIndependentAndMatchesReference(t *testing.T) {
	const sets, ordersPerSet = 300, 8
	r := rand.New(rand.NewPCG(1, 2))
	g := &eventGenerator{t: t, r: r}
	var sawDup, sawPending, sawIssues bool
	for set := range sets {
		events := g.events()
		want := referenceFold(events)
		sawDup = sawDup || len(want.Dups) > 0
		sawPending = sawPending || len(want.Pending) > 0
		sawIssues = sawIssues || len(want.Issues) > 0

		distinct := map[event.EventID]bool{}
		for _, e := range events {
			distinct[e.ID] = true
		}
		for order := range ordersPerSet {
			in := arrival(r, events)
			p := NewProjection()
			applied := 0
			for i, e := range in {
				if p.Apply(e) {
					applied++
				}
				if i == len(in)/2 {
					p.Issues() // reading midway must not disturb the fold
				}
			}
			if applied != len(distinct) {
				t.Fatalf("set %d order %d: Apply returned true %d times for %d distinct events", set, order, applied, len(distinct))
			}
			if got := snapshotOf(p); !reflect.DeepEqual(got, want) {
				t.Fatalf("set %d order %d: fold differs from reference\nevents: %s\ngot:  %+v\nwant: %+v", set, order, describe(in), got, want)
			}
			for _, is := range want.Issues {
				if got, ok := FoldIssue(is.ID, in); !ok || !reflect.DeepEqual(got, is) {
					t.Fatalf("set %d order %d: FoldIssue(%s) = %+v, %v; want %+v", set, order, is.ID, got, ok, is)
				}
			}
		}
	}
	// Guard against a generator that stopped producing the interesting cases.
	if !sawDup || !sawPending || !sawIssues {
		t.Errorf("generator coverage: duplicates %v, pending %v, issues %v", sawDup, sawPending, sawIssues)
	}
}

func describe(events []event.Event) string {
	s := ""
	for _, e := range events {
		s += fmt.Sprintf("\n  %s ts=%d actor=%s id=%s %+v", e.IssueID.String()[:4], e.TS, e.Actor.Short(), e.ID.String()[:8], e.Kind)
	}
	return s
}
