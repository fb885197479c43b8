package tools

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"

	"grite/crdt"
	"grite/event"
	"grite/foreign"
)

// ImportInput names a source to import and how.
type ImportInput struct {
	// Source is beads, git-bug or github.
	Source string `json:"source"`
	// Data is the file to import (beads JSONL, gh's JSON); git-bug reads
	// this repository's refs instead.
	Data []byte `json:"-"`
	// RefPrefix is where git-bug's bugs are (default refs/bugs/).
	RefPrefix string `json:"ref_prefix,omitempty"`
	// DryRun reads and plans without writing anything.
	DryRun bool `json:"dry_run,omitempty"`
}

// ImportOutput says what an import did (or, dry, would do).
type ImportOutput struct {
	Source  string `json:"source"`
	DryRun  bool   `json:"dry_run"`
	Created int    `json:"created"`
	Updated int    `json:"updated"`
	Skipped int    `json:"skipped"`
	// Errors are the records left out, with their line (or git-bug ID).
	Errors []foreign.RecordError `json:"errors"`
	// Ignored counts records that are not issues (beads' other record
	// types, deleted issues).
	Ignored int    `json:"ignored"`
	Events  int    `json:"events"`
	Commits int    `json:"commits"`
	WALHead string `json:"wal_head"`
	// Issues lists each issue read: its source ID, grite ID and what the
	// import did with it (created, updated, skipped).
	Issues []ImportedIssue `json:"issues"`
}

// ImportedIssue is one issue of an import.
type ImportedIssue struct {
	SourceID string `json:"source_id"`
	IssueID  string `json:"issue_id"`
	Action   string `json:"action"`
	Title    string `json:"title"`
	Events   int    `json:"events"`
}

// Import actions.
const (
	ImportCreated = "created"
	ImportUpdated = "updated"
	ImportSkipped = "skipped"
)

var Import = Op[ImportInput, ImportOutput]{
	Name: "import", Title: "Import issues from another tracker", Idempotent: true,
	Description: "Import issues from beads (JSONL), git-bug (this repository's refs/bugs/) or GitHub (gh's JSON), in bulk; importing again adds only what changed.",
	Run: func(ctx context.Context, s *Session, in ImportInput) (ImportOutput, error) {
		parsed, err := s.readSource(ctx, in)
		if err != nil {
			return ImportOutput{}, err
		}
		if in.DryRun {
			return s.importIssues(ctx, in, parsed)
		}
		// Imports of one repository take turns, each planning from a view
		// that has every issue the one before wrote: two imports of one
		// file at once would otherwise both create its issues.
		var out ImportOutput
		err = s.Repo.WithFileLock("import", func() error {
			if err := s.CatchUp(ctx); err != nil {
				return err
			}
			out, err = s.importIssues(ctx, in, parsed)
			return err
		})
		return out, err
	},
}

// readSource parses what in names into issues.
func (s *Session) readSource(ctx context.Context, in ImportInput) (foreign.Parsed, error) {
	switch in.Source {
	case foreign.SourceBeads:
		return foreign.ParseBeads(in.Data), nil
	case foreign.SourceGitHub:
		return foreign.ParseGitHub(in.Data), nil
	case foreign.SourceGitBug:
		return s.readGitBug(ctx, in.RefPrefix)
	}
	return foreign.Parsed{}, newErr(CodeInvalidArgs, "unknown source %q: want beads, git-bug or github", in.Source)
}

// importPlan is what an import will write for one issue.
type importPlan struct {
	src    *foreign.Issue
	id     event.IssueID
	action string
	events []event.Event
	// deps are its dependency edges, written after every issue's events.
	deps []event.Event
	// current is the issue as the view has it, and removed the edges a
	// DependencyRemoved ever named (updates only).
	current *crdt.Issue
	removed map[crdt.Dep]bool
}

func (s *Session) importIssues(ctx context.Context, in ImportInput, parsed foreign.Parsed) (ImportOutput, error) {
	out := ImportOutput{Source: in.Source, DryRun: in.DryRun, Errors: parsed.Errors, Ignored: parsed.Ignored, Issues: []ImportedIssue{}}
	if out.Errors == nil {
		out.Errors = []foreign.RecordError{}
	}
	if s.ViewBehind() {
		if err := s.CatchUp(ctx); err != nil {
			return out, err
		}
	}
	known, err := s.provenance(ctx, in.Source)
	if err != nil {
		return out, err
	}
	// Plan every issue first: dependencies name issues by their source ID,
	// and a target may come later in the file.
	ids := map[string]event.IssueID{}
	var plans []*importPlan
	for i := range parsed.Issues {
		src := &parsed.Issues[i]
		if err := checkImported(src); err != nil {
			out.Errors = append(out.Errors, foreign.RecordError{Line: src.Line, ID: src.ID, Message: AsError(err).Message})
			continue
		}
		p := &importPlan{src: src}
		if id, ok := known[src.ID]; ok {
			p.id, p.action = id, ImportUpdated
			evs, err := s.Store().IssueEvents(ctx, id)
			if err != nil {
				return out, err
			}
			if iss, ok := crdt.FoldIssue(id, evs); ok {
				p.current = &iss
			}
			p.removed = map[crdt.Dep]bool{}
			for _, e := range evs {
				if r, ok := e.Kind.(event.DependencyRemoved); ok {
					p.removed[crdt.Dep{Target: r.Target, Type: r.Type}] = true
				}
			}
		} else {
			if _, err := rand.Read(p.id[:]); err != nil {
				return out, err
			}
			p.action = ImportCreated
		}
		ids[src.ID] = p.id
		plans = append(plans, p)
	}
	now := s.nowMS()
	for _, p := range plans {
		if p.action == ImportCreated {
			p.events = s.createEvents(p, now)
		} else if p.current != nil {
			p.events = s.updateEvents(p)
		}
	}
	// Dependencies go in after every issue exists, so that an interrupted
	// import leaves no edge to an issue it never created; a re-run adds
	// the missing edges.
	var groups, depGroups [][]event.Event
	waits, err := s.waitGraph(ctx)
	if err != nil {
		return out, err
	}
	for _, p := range plans {
		p.deps = s.depEvents(p, ids, known, now, waits)
		if len(p.events) > 0 {
			groups = append(groups, p.events)
		}
		if len(p.deps) > 0 {
			depGroups = append(depGroups, p.deps)
		}
		action := p.action
		if action == ImportUpdated && len(p.events)+len(p.deps) == 0 {
			action = ImportSkipped
		}
		switch action {
		case ImportCreated:
			out.Created++
		case ImportUpdated:
			out.Updated++
		default:
			out.Skipped++
		}
		out.Events += len(p.events) + len(p.deps)
		out.Issues = append(out.Issues, ImportedIssue{SourceID: p.src.ID, IssueID: p.id.String(), Action: action, Title: p.src.Title, Events: len(p.events) + len(p.deps)})
	}
	if !in.DryRun {
		done, commits, err := s.appendGroups(ctx, groups)
		if err == nil {
			var n int
			_, n, err = s.appendGroups(ctx, depGroups)
			commits += n
		}
		out.Commits = commits
		if err != nil && ctx.Err() != nil {
			return out, (&Error{Code: CodeInternal, Message: fmt.Sprintf("import interrupted after %d of %d issues to write (%s); what was written is whole and kept", done, len(groups), Plural(commits, "WAL commit")), cause: err}).
				suggest("Run the same import again: it skips what is already here and writes the rest")
		}
		if err != nil {
			return out, err
		}
	}
	head, err := s.WAL.Head()
	if err != nil {
		return out, err
	}
	out.WALHead = hashOrEmpty(head)
	return out, nil
}

// provenance maps the source IDs of issues imported from source before
// to their grite IDs, from the links that record them. Should two issues
// claim one source ID (two clones imported the same file, then synced),
// the older link wins, the same in every clone.
func (s *Session) provenance(ctx context.Context, source string) (map[string]event.IssueID, error) {
	links, err := s.Store().EventsOfKind(ctx, event.TagLinkAdded)
	if err != nil {
		return nil, err
	}
	SortByVersion(links)
	out := map[string]event.IssueID{}
	for _, e := range links {
		l := e.Kind.(event.LinkAdded)
		src, id, depType, ok := foreign.ParseProvenanceURL(l.URL)
		if !ok || src != source || depType != "" {
			continue
		}
		if _, dup := out[id]; !dup {
			out[id] = e.IssueID
		}
	}
	return out, nil
}

// checkImported applies the limits of a single write (docs/cli.md
// decision 13) to everything an imported issue would write.
func checkImported(src *foreign.Issue) error {
	ids := []string{src.ID}
	for _, d := range src.Deps {
		ids = append(ids, d.Target)
	}
	for _, id := range ids {
		// The ID goes into a link URL (docs/format.md §14).
		if strings.ContainsAny(id, "# \t\r\n") || hasControl(id, false) {
			return newErr(CodeInvalidArgs, "id %q cannot be recorded: it holds a space, a control character or '#'", clip(id))
		}
		if err := checkText("id", id, MaxURLBytes/2); err != nil {
			return err
		}
	}
	if err := checkTitle(src.Title); err != nil {
		return err
	}
	if err := checkText("body", src.Body, MaxBodyBytes); err != nil {
		return err
	}
	for _, set := range []struct {
		field string
		vs    []string
	}{{"label", src.Labels}, {"assignee", src.Assignees}} {
		if err := checkNames(set.field, set.vs); err != nil {
			return err
		}
	}
	for _, c := range src.Comments {
		if err := checkText("comment", commentBody(src.Source, c), MaxBodyBytes); err != nil {
			return err
		}
	}
	return nil
}

// commentBody is the text grite stores for an imported comment.
func commentBody(source string, c foreign.Comment) string {
	return foreign.CommentHeader(source, c.Author) + c.Body
}

// provenanceNote says where an issue came from, for people reading it.
func provenanceNote(src *foreign.Issue) string {
	parts := []string{"imported from " + src.Source + " " + src.ID}
	if src.Author != "" {
		parts = append(parts, "opened by "+src.Author)
	}
	if src.URL != "" {
		parts = append(parts, src.URL)
	}
	return strings.Join(parts, "; ")
}

// tsAfter is at least after: the source's time when it has one, moved
// past after so that no write is older than what it follows (a write
// older than the creation would not count, docs/format.md §10).
func tsAfter(sourceMS int64, after uint64) uint64 {
	ts := uint64(max(sourceMS, 0))
	if ts <= after {
		ts = after + 1
	}
	return ts
}

// createEvents are the events of a new issue: the creation at the
// source's creation time, then assignees, comments, the close, the links
// keeping dependency types, and last the provenance link, dated at the
// source's update time so that the issue's updated_ts is the source's.
// Dependencies come later (depEvents).
func (s *Session) createEvents(p *importPlan, now uint64) []event.Event {
	src := p.src
	created := uint64(src.CreatedMS)
	if src.CreatedMS <= 0 {
		created = now
	}
	evs := []event.Event{s.importEvent(p.id, created, event.IssueCreated{Title: src.Title, Body: src.Body, Labels: src.Labels})}
	last := created
	add := func(ts uint64, k event.Kind) {
		evs = append(evs, s.importEvent(p.id, ts, k))
		last = max(last, ts)
	}
	for _, a := range src.Assignees {
		add(created+1, event.AssigneeAdded{User: a})
	}
	// Comments come in version order: each after the one before, so that
	// two of the same second keep the source's order.
	prev := created
	for _, c := range src.Comments {
		prev = tsAfter(c.CreatedMS, prev)
		add(prev, event.CommentAdded{Body: commentBody(src.Source, c)})
	}
	if src.Closed {
		closed := tsAfter(src.ClosedMS, created)
		add(closed, event.StateChanged{State: event.StateClosed})
		if src.CloseReason != "" {
			add(closed, event.CommentAdded{Body: foreign.CloseReasonPrefix + src.CloseReason})
		}
	}
	for _, d := range src.Deps {
		if kept := keptDepType(d.Type); kept {
			add(created+1, event.LinkAdded{URL: foreign.DepTypeURL(src.Source, d.Target, d.Type)})
		}
	}
	note := provenanceNote(src)
	// A link is no field the creation sets, so it may share its time.
	add(max(uint64(max(src.UpdatedMS, 0)), last), event.LinkAdded{URL: foreign.ProvenanceURL(src.Source, src.ID), Note: &note})
	return evs
}

func (s *Session) importEvent(id event.IssueID, ts uint64, k event.Kind) event.Event {
	return event.Event{IssueID: id, Actor: s.Actor.ID, TS: ts, Kind: k}
}

// keptDepType says whether a dependency type maps to related_to with a
// link keeping the source's word for it (see depType).
func keptDepType(t string) bool {
	return t == foreign.BeadsParentChild || t == foreign.BeadsDiscoveredFrom
}

// depType maps a source's dependency type onto grite's (docs/cli.md,
// Import): beads' blocks on A naming B means A waits for B, grite's A
// depends_on B; the rest make no one wait.
func depType(t string) event.DepType {
	if t == foreign.BeadsBlocks {
		return event.DepDependsOn
	}
	return event.DepRelatedTo
}

// updateEvents brings an issue imported before up to date with its
// source. Comments (compared by text) and dependency-type links the
// issue lacks are always added. The fields (title, body, state, the
// labels standing for priority, type and status, added labels and
// assignees) are written only where they differ and the source changed
// after the issue's last event here: a change made in grite since the
// last import is newer, and a re-import does not undo it. Labels and
// assignees the source no longer has are removed only for the derived
// labels; others may have been added here.
func (s *Session) updateEvents(p *importPlan) []event.Event {
	src, cur := p.src, p.current
	var evs []event.Event
	last := cur.UpdatedTS
	at := tsAfter(src.UpdatedMS, last)
	add := func(ts uint64, k event.Kind) {
		evs = append(evs, s.importEvent(p.id, ts, k))
	}
	if src.UpdatedMS > int64(cur.UpdatedTS) {
		var upd event.IssueUpdated
		if src.Title != cur.Title {
			upd.Title = &src.Title
		}
		if src.Body != cur.Body {
			upd.Body = &src.Body
		}
		if upd.Title != nil || upd.Body != nil {
			add(at, upd)
		}
		if src.Closed != (cur.State == event.StateClosed) {
			st := event.StateOpen
			if src.Closed {
				st = event.StateClosed
			}
			add(at, event.StateChanged{State: st})
		}
		for _, l := range src.Labels {
			if !slices.Contains(cur.Labels, l) {
				add(at, event.LabelAdded{Label: l})
			}
		}
		for _, l := range cur.Labels {
			if foreign.DerivedLabel(l) && !slices.Contains(src.Labels, l) {
				add(at, event.LabelRemoved{Label: l})
			}
		}
		for _, a := range src.Assignees {
			if !slices.Contains(cur.Assignees, a) {
				add(at, event.AssigneeAdded{User: a})
			}
		}
	}
	have := map[string]int{}
	for _, c := range cur.Comments {
		have[c.Body]++
	}
	var want []string
	for _, c := range src.Comments {
		want = append(want, commentBody(src.Source, c))
	}
	if src.Closed && src.CloseReason != "" {
		want = append(want, foreign.CloseReasonPrefix+src.CloseReason)
	}
	prevComment := cur.CreatedTS
	if n := len(cur.Comments); n > 0 {
		prevComment = cur.Comments[n-1].TS
	}
	for i, body := range want {
		if have[body] > 0 {
			have[body]--
			continue
		}
		ts := at
		if i < len(src.Comments) {
			ts = tsAfter(src.Comments[i].CreatedMS, prevComment)
		}
		prevComment = ts
		add(ts, event.CommentAdded{Body: body})
	}
	links := map[string]bool{}
	for _, l := range cur.Links {
		links[l.URL] = true
	}
	for _, d := range src.Deps {
		if u := foreign.DepTypeURL(src.Source, d.Target, d.Type); keptDepType(d.Type) && !links[u] {
			add(tsAfter(0, cur.CreatedTS), event.LinkAdded{URL: u})
		}
	}
	return evs
}

// depEvents are the dependency edges p's source has and its issue lacks.
// An edge removed in grite since is not added again, and one that would
// make issues wait for each other in a cycle is left out with a warning,
// as 'grite issue dep add' refuses it. A target that is neither in this import nor imported before is left
// out with a warning.
func (s *Session) depEvents(p *importPlan, ids map[string]event.IssueID, known map[string]event.IssueID, now uint64, waits waitGraph) []event.Event {
	if p.action == ImportUpdated && p.current == nil {
		return nil // its creation is not here yet: nothing to compare with
	}
	have := map[crdt.Dep]bool{}
	created := uint64(max(p.src.CreatedMS, 0))
	if p.current != nil {
		for _, d := range p.current.Deps {
			have[d] = true
		}
		created = p.current.CreatedTS
	} else if created == 0 {
		created = now
	}
	var evs []event.Event
	for _, d := range p.src.Deps {
		tgt, ok := ids[d.Target]
		if !ok {
			tgt, ok = known[d.Target]
		}
		if !ok {
			s.warn(fmt.Sprintf("%s %s: dependency on %s left out: no such issue in this import or an earlier one", p.src.Source, p.src.ID, d.Target))
			continue
		}
		if tgt == p.id {
			continue
		}
		dep := crdt.Dep{Target: tgt, Type: depType(d.Type)}
		if have[dep] || p.removed[dep] {
			continue
		}
		if w, ok := crdt.WaitEdgeOf(p.id, tgt, dep.Type); ok {
			if waits.reaches(w.To, w.From) {
				s.warn(fmt.Sprintf("%s %s: dependency on %s left out: it would close a cycle of issues waiting for each other", p.src.Source, p.src.ID, d.Target))
				continue
			}
			waits[w.From] = append(waits[w.From], w.To)
		}
		have[dep] = true
		evs = append(evs, s.importEvent(p.id, created+1, event.DependencyAdded{Target: dep.Target, Type: dep.Type}))
	}
	return evs
}

// waitGraph is who waits for whom (blocks and depends_on edges, docs/format.md §10).
type waitGraph map[event.IssueID][]event.IssueID

// waitGraph reads the edges the view has.
func (s *Session) waitGraph(ctx context.Context) (waitGraph, error) {
	edges, err := s.Store().AllDeps(ctx)
	if err != nil {
		return nil, err
	}
	g := waitGraph{}
	for _, w := range waitEdges(edges) {
		g[w.From] = append(g[w.From], w.To)
	}
	return g, nil
}

// reaches says whether from waits, directly or not, for to.
func (g waitGraph) reaches(from, to event.IssueID) bool {
	if from == to {
		return true
	}
	seen := map[event.IssueID]bool{from: true}
	for queue := []event.IssueID{from}; len(queue) > 0; {
		n := queue[0]
		queue = queue[1:]
		for _, m := range g[n] {
			if m == to {
				return true
			}
			if !seen[m] {
				seen[m] = true
				queue = append(queue, m)
			}
		}
	}
	return false
}
