package crdt

import (
	"cmp"
	"slices"

	"grite/event"
)

// Projection accumulates events and yields issue states; safe for one goroutine.
//
// Apply keeps, per issue, only what the final state needs: the winning version
// of every LWW field and of every set element, plus the append-only items. The
// winning creation is merged in when an Issue is materialised, so a creation
// that arrives late, or a duplicate creation that turns out to lose to one
// arriving later, never requires undoing anything.
type Projection struct {
	seen            map[event.EventID]struct{}
	issues          map[event.IssueID]*issueState
	fileContexts    map[string]register[event.ContextUpdated]
	projectContexts map[string]register[string]
}

// register is a last-writer-wins value: the write with the greatest version.
type register[T any] struct {
	v   event.Version
	val T
	set bool
}

func (r *register[T]) write(v event.Version, val T) {
	if !r.set || r.v.Less(v) {
		*r = register[T]{v: v, val: val, set: true}
	}
}

// setOp is the winning add or remove of one set element.
type setOp struct {
	v   event.Version
	add bool
}

// applyOp keeps the op with the greatest version for key k.
func applyOp[K comparable](m *map[K]setOp, k K, v event.Version, add bool) {
	if *m == nil {
		*m = make(map[K]setOp)
	}
	if old, ok := (*m)[k]; ok && !old.v.Less(v) {
		return
	}
	(*m)[k] = setOp{v: v, add: add}
}

// versioned orders an item by the version of the event that added it.
type versioned[T any] struct {
	v    event.Version
	item T
}

// creation is the winning IssueCreated of an issue. It counts as a title, body
// and state write and as a LabelAdded per label, all at version v.
type creation struct {
	v      event.Version
	title  string
	body   string
	labels []string // sorted, no duplicates
}

// issueState holds everything except the winning creation's effects, which
// are merged at materialisation.
type issueState struct {
	created     *creation
	losers      []event.EventID // IssueCreated events that lost to created
	title       register[string]
	body        register[string]
	state       register[event.State]
	labels      map[string]setOp
	assignees   map[string]setOp
	deps        map[Dep]setOp
	comments    []Comment
	links       []versioned[Link]
	attachments []versioned[Attachment]
	maxTS       uint64 // over the events counted in count
	count       int    // applied events other than creations
}

// NewProjection returns an empty projection.
func NewProjection() *Projection {
	return &Projection{
		seen:            make(map[event.EventID]struct{}),
		issues:          make(map[event.IssueID]*issueState),
		fileContexts:    make(map[string]register[event.ContextUpdated]),
		projectContexts: make(map[string]register[string]),
	}
}

// Fold is NewProjection + Apply of every event.
func Fold(events []event.Event) *Projection {
	p := NewProjection()
	p.seen = make(map[event.EventID]struct{}, len(events))
	for _, e := range events {
		p.Apply(e)
	}
	return p
}

// FoldIssue folds the events of one issue (events of other issues are
// ignored); it is what the view uses to recompute one issue.
func FoldIssue(id event.IssueID, events []event.Event) (Issue, bool) {
	p := NewProjection()
	for _, e := range events {
		if e.IssueID == id {
			p.Apply(e)
		}
	}
	return p.Issue(id)
}

// Apply adds one event; it returns false if an event with the same ID was
// already applied (duplicates are no-ops). A losing duplicate creation is
// recorded (see DuplicateCreations) and Apply returns true for it.
//
// Kinds are expected as values, as event.DecodePayload returns them; an event
// whose Kind is nil or unknown only counts towards EventCount and UpdatedTS.
func (p *Projection) Apply(e event.Event) bool {
	if _, dup := p.seen[e.ID]; dup {
		return false
	}
	p.seen[e.ID] = struct{}{}
	v := e.Version()

	switch k := e.Kind.(type) {
	case event.ContextUpdated:
		k.Symbols = event.SortedSymbols(k.Symbols) // same ID, same content, whatever the input order
		r := p.fileContexts[k.Path]
		r.write(v, k)
		p.fileContexts[k.Path] = r
		return true
	case event.ProjectContextUpdated:
		r := p.projectContexts[k.Key]
		r.write(v, k.Value)
		p.projectContexts[k.Key] = r
		return true
	}

	s := p.issues[e.IssueID]
	if s == nil {
		s = &issueState{}
		p.issues[e.IssueID] = s
	}
	if k, ok := e.Kind.(event.IssueCreated); ok {
		s.create(v, k)
		return true
	}
	s.count++
	s.maxTS = max(s.maxTS, e.TS)

	switch k := e.Kind.(type) {
	case event.IssueUpdated:
		if k.Title != nil {
			s.title.write(v, *k.Title)
		}
		if k.Body != nil {
			s.body.write(v, *k.Body)
		}
	case event.StateChanged:
		s.state.write(v, k.State)
	case event.CommentAdded:
		s.comments = append(s.comments, Comment{EventID: e.ID, Actor: e.Actor, TS: e.TS, Body: k.Body})
	case event.LabelAdded:
		applyOp(&s.labels, k.Label, v, true)
	case event.LabelRemoved:
		applyOp(&s.labels, k.Label, v, false)
	case event.AssigneeAdded:
		applyOp(&s.assignees, k.User, v, true)
	case event.AssigneeRemoved:
		applyOp(&s.assignees, k.User, v, false)
	case event.DependencyAdded:
		applyOp(&s.deps, Dep{Target: k.Target, Type: k.Type}, v, true)
	case event.DependencyRemoved:
		applyOp(&s.deps, Dep{Target: k.Target, Type: k.Type}, v, false)
	case event.LinkAdded:
		l := Link{EventID: e.ID, URL: k.URL}
		if k.Note != nil {
			note := *k.Note // do not share the caller's pointer
			l.Note = &note
		}
		s.links = append(s.links, versioned[Link]{v, l})
	case event.AttachmentAdded:
		s.attachments = append(s.attachments, versioned[Attachment]{v, Attachment{EventID: e.ID, Name: k.Name, SHA256: k.SHA256, MIME: k.MIME}})
	}
	return true
}

// create keeps the creation with the smallest version (docs/cli.md decision 14).
func (s *issueState) create(v event.Version, k event.IssueCreated) {
	if s.created != nil {
		if s.created.v.Less(v) {
			s.losers = append(s.losers, v.ID)
			return
		}
		s.losers = append(s.losers, s.created.v.ID)
	}
	s.created = &creation{v: v, title: k.Title, body: k.Body, labels: slices.Compact(event.SortedLabels(k.Labels))}
}

// Issue returns the state of one issue; ok is false when no IssueCreated for
// it is known yet.
func (p *Projection) Issue(id event.IssueID) (Issue, bool) {
	s := p.issues[id]
	if s == nil || s.created == nil {
		return Issue{}, false
	}
	return s.materialise(id), true
}

// Issues returns every created issue sorted by (CreatedTS, ID bytes).
// Issues, Pending and DuplicateCreations return empty slices, never nil.
func (p *Projection) Issues() []Issue {
	out := make([]Issue, 0, len(p.issues))
	for id, s := range p.issues {
		if s.created != nil {
			out = append(out, s.materialise(id))
		}
	}
	slices.SortFunc(out, func(a, b Issue) int {
		return cmp.Or(cmp.Compare(a.CreatedTS, b.CreatedTS), a.ID.Compare(b.ID))
	})
	return out
}

// Pending lists issue IDs that have events but no known creation, sorted by
// ID bytes.
func (p *Projection) Pending() []event.IssueID {
	out := []event.IssueID{}
	for id, s := range p.issues {
		if s.created == nil {
			out = append(out, id)
		}
	}
	slices.SortFunc(out, event.IssueID.Compare)
	return out
}

// DuplicateCreations lists the IDs of IssueCreated events that lost to an
// earlier creation of the same issue (docs/cli.md decision 14), sorted by bytes.
func (p *Projection) DuplicateCreations() []event.EventID {
	out := []event.EventID{}
	for _, s := range p.issues {
		out = append(out, s.losers...)
	}
	slices.SortFunc(out, event.EventID.Compare)
	return out
}

// FileContexts returns the newest ContextUpdated per path (kind 13), with
// symbols in canonical order (event.SortedSymbols).
func (p *Projection) FileContexts() map[string]event.ContextUpdated {
	out := make(map[string]event.ContextUpdated, len(p.fileContexts))
	for path, r := range p.fileContexts {
		c := r.val
		c.Symbols = slices.Clone(c.Symbols)
		out[path] = c
	}
	return out
}

// FileContextRecord is the winning file context of a path with the
// version of the event that wrote it.
type FileContextRecord struct {
	event.ContextUpdated
	Version event.Version
}

// FileContextRecords returns the newest ContextUpdated per path, sorted by
// path, with symbols in canonical order.
func (p *Projection) FileContextRecords() []FileContextRecord {
	out := make([]FileContextRecord, 0, len(p.fileContexts))
	for _, r := range p.fileContexts {
		c := r.val
		c.Symbols = slices.Clone(c.Symbols)
		out = append(out, FileContextRecord{c, r.v})
	}
	slices.SortFunc(out, func(a, b FileContextRecord) int { return cmp.Compare(a.Path, b.Path) })
	return out
}

// ProjectContextRecord is the winning value of a project context key with
// the version of the event that wrote it.
type ProjectContextRecord struct {
	Key, Value string
	Version    event.Version
}

// ProjectContextRecords returns the newest value per key, sorted by key.
func (p *Projection) ProjectContextRecords() []ProjectContextRecord {
	out := make([]ProjectContextRecord, 0, len(p.projectContexts))
	for key, r := range p.projectContexts {
		out = append(out, ProjectContextRecord{key, r.val, r.v})
	}
	slices.SortFunc(out, func(a, b ProjectContextRecord) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

// ProjectContexts returns the newest value per key (kind 14).
func (p *Projection) ProjectContexts() map[string]string {
	out := make(map[string]string, len(p.projectContexts))
	for key, r := range p.projectContexts {
		out[key] = r.val
	}
	return out
}

// materialise merges the winning creation with everything else; it never
// modifies s. The caller checks s.created != nil.
func (s *issueState) materialise(id event.IssueID) Issue {
	c := s.created
	is := Issue{
		ID:          id,
		Title:       c.title,
		Body:        c.body,
		State:       event.StateOpen,
		Labels:      s.liveLabels(),
		Assignees:   liveKeys(s.assignees),
		Comments:    slices.Clone(s.comments),
		Links:       items(s.links),
		Attachments: items(s.attachments),
		Deps:        liveKeys(s.deps),
		CreatedBy:   c.v.Actor,
		CreatedTS:   c.v.TS,
		UpdatedTS:   max(s.maxTS, c.v.TS),
		EventCount:  s.count + 1,
	}
	if s.title.set && c.v.Less(s.title.v) {
		is.Title = s.title.val
	}
	if s.body.set && c.v.Less(s.body.v) {
		is.Body = s.body.val
	}
	if s.state.set && c.v.Less(s.state.v) {
		is.State = s.state.val
	}
	for i, l := range is.Links {
		if l.Note != nil {
			note := *l.Note // callers may write through it
			is.Links[i].Note = &note
		}
	}
	if is.Comments == nil {
		is.Comments = []Comment{}
	}
	slices.SortFunc(is.Comments, func(a, b Comment) int {
		return event.Version{TS: a.TS, Actor: a.Actor, ID: a.EventID}.Compare(event.Version{TS: b.TS, Actor: b.Actor, ID: b.EventID})
	})
	slices.Sort(is.Assignees)
	slices.SortFunc(is.Deps, func(a, b Dep) int {
		return cmp.Or(a.Target.Compare(b.Target), cmp.Compare(a.Type, b.Type))
	})
	return is
}

// liveLabels combines the label ops with the creation's labels, which are adds
// at the creation's version.
func (s *issueState) liveLabels() []string {
	c := s.created
	out := make([]string, 0, len(s.labels)+len(c.labels))
	for l, op := range s.labels {
		present := op.add
		if _, inCreation := slices.BinarySearch(c.labels, l); inCreation && op.v.Less(c.v) {
			present = true
		}
		if present {
			out = append(out, l)
		}
	}
	for _, l := range c.labels {
		if _, ok := s.labels[l]; !ok {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}

// liveKeys returns the elements whose winning op is an add, unsorted and never nil.
func liveKeys[K comparable](m map[K]setOp) []K {
	out := make([]K, 0, len(m))
	for k, op := range m {
		if op.add {
			out = append(out, k)
		}
	}
	return out
}

// items returns the items sorted by version, never nil.
func items[T any](vs []versioned[T]) []T {
	sorted := slices.Clone(vs)
	slices.SortFunc(sorted, func(a, b versioned[T]) int { return a.v.Compare(b.v) })
	out := make([]T, len(sorted))
	for i, x := range sorted {
		out[i] = x.item
	}
	return out
}
