package tools

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"grite/crdt"
	"grite/event"
	"grite/store"
)

// DepInput adds or removes a dependency.
type DepInput struct {
	ID     string `json:"id"`
	Target string `json:"target"`
	Type   string `json:"type"`
	Action string `json:"action"`
}

// DepOutput reports a dependency change.
type DepOutput struct {
	EventID string `json:"event_id"`
	IssueID string `json:"issue_id"`
	Target  string `json:"target"`
	DepType string `json:"dep_type"`
	Action  string `json:"action"` // added | removed | unchanged
	WALHead string `json:"wal_head"`
	// Changed is false when the edge already was as asked (no event
	// written, event_id empty); Message says so.
	Changed bool   `json:"changed"`
	Message string `json:"message,omitempty"`
}

var IssueDep = Op[DepInput, DepOutput]{
	Name: "issue_dep", Title: "Add or remove a dependency", Idempotent: true,
	Description: "Add or remove a dependency. 'A blocks B': B waits for A; 'A depends_on B': A waits for B.",
	Run: func(ctx context.Context, s *Session, in DepInput) (DepOutput, error) {
		if in.Action != "add" && in.Action != "remove" {
			return DepOutput{}, newErr(CodeInvalidArgs, "action must be add or remove, got %q", in.Action)
		}
		if in.Type == "" {
			in.Type = string(event.DepDependsOn)
		}
		dt, err := event.ParseDepType(in.Type)
		if err != nil {
			return DepOutput{}, newErr(CodeInvalidArgs, "%v", err)
		}
		src, err := s.ResolveIssue(ctx, in.ID)
		if err != nil {
			return DepOutput{}, err
		}
		tgt, err := s.ResolveIssue(ctx, in.Target)
		if err != nil {
			return DepOutput{}, err
		}
		if in.Action == "add" && src == tgt {
			// Bad input, not a cycle: no existing edge is to blame. Removing
			// one stays allowed, for edges written before this check.
			return DepOutput{}, newErr(CodeInvalidArgs, "issue %s cannot have a dependency on itself: the target must be another issue", src)
		}
		if s.ViewBehind() {
			if err := s.CatchUp(ctx); err != nil {
				return DepOutput{}, err
			}
		}
		deps, err := s.Store().Deps(ctx, src.String(), false)
		if err != nil {
			return DepOutput{}, err
		}
		exists := slices.ContainsFunc(deps, func(d store.Dep) bool { return d.IssueID == tgt.String() && d.DepType == string(dt) })
		if exists == (in.Action == "add") {
			// Already as asked: an event would report a change that did
			// not happen.
			head, err := s.WAL.Head()
			if err != nil {
				return DepOutput{}, err
			}
			msg := fmt.Sprintf("%s already %s %s", src.String()[:8], strings.ReplaceAll(string(dt), "_", " "), tgt.String()[:8])
			if !exists {
				msg = fmt.Sprintf("%s has no %s edge to %s", src.String()[:8], dt, tgt.String()[:8])
			}
			return DepOutput{IssueID: src.String(), Target: tgt.String(), DepType: string(dt), Action: "unchanged", WALHead: hashOrEmpty(head), Message: msg}, nil
		}
		var k event.Kind = event.DependencyRemoved{Target: tgt, Type: dt}
		if in.Action == "add" {
			if err := s.checkCycle(ctx, src, tgt, dt); err != nil {
				return DepOutput{}, err
			}
			k = event.DependencyAdded{Target: tgt, Type: dt}
		}
		r, err := s.writeEvents(ctx, src, k)
		if err != nil {
			return DepOutput{}, err
		}
		return DepOutput{EventID: r.EventID, IssueID: src.String(), Target: tgt.String(), DepType: string(dt), Action: map[string]string{"add": "added", "remove": "removed"}[in.Action], WALHead: r.WALHead, Changed: true}, nil
	},
}

func waitEdges(edges []store.Edge) []crdt.WaitEdge {
	out := make([]crdt.WaitEdge, 0, len(edges))
	for _, e := range edges {
		src, err1 := event.ParseIssueID(e.Source)
		tgt, err2 := event.ParseIssueID(e.Target)
		if err1 != nil || err2 != nil {
			continue
		}
		if w, ok := crdt.WaitEdgeOf(src, tgt, event.DepType(e.DepType)); ok {
			out = append(out, w)
		}
	}
	return out
}

// checkCycle refuses an edge that would make issues wait on each other. It
// checks blocks and depends_on together (both mean "waits for"), which is
// stricter than the original's same-type check and catches mixed cycles.
func (s *Session) checkCycle(ctx context.Context, src, tgt event.IssueID, dt event.DepType) error {
	w, ok := crdt.WaitEdgeOf(src, tgt, dt)
	if !ok {
		return nil
	}
	edges, err := s.Store().AllDeps(ctx)
	if err != nil {
		return err
	}
	cycle := crdt.CycleWith(waitEdges(edges), w)
	if cycle == nil {
		return nil
	}
	ids := make([]string, len(cycle))
	for i, c := range cycle {
		ids[i] = c.String()
	}
	short := make([]string, len(ids))
	for i, id := range ids {
		short[i] = id[:8]
	}
	return newErr(CodeConflict, "dependency would create a cycle: %s (each waits for the next)", strings.Join(short, " -> ")).
		with("cycle", ids).suggest("Remove one of the existing edges first with 'grite issue dep remove'")
}

// DepListInput selects an issue's edges.
type DepListInput struct {
	ID      string `json:"id"`
	Reverse bool   `json:"reverse,omitempty"`
}

// DepListItem is one edge in a listing.
type DepListItem struct {
	IssueID string `json:"issue_id"`
	DepType string `json:"dep_type"`
	Title   string `json:"title"`
	State   string `json:"state"`
}

// DepRelation is one edge seen from the listed issue: an edge stored as
// "A blocks B" reads "blocks B" on A and "blocked by A" on B.
type DepRelation struct {
	// Relation is blocks, blocked_by, depends_on, needed_by or related_to.
	Relation string `json:"relation"`
	IssueID  string `json:"issue_id"`
	DepType  string `json:"dep_type"`
	// Incoming is set when the edge is stored on the other issue.
	Incoming bool   `json:"incoming"`
	Title    string `json:"title"`
	State    string `json:"state"`
}

// Phrase is the relation in words, for human output.
func (r DepRelation) Phrase() string { return strings.ReplaceAll(r.Relation, "_", " ") }

// DepListOutput lists an issue's dependencies or dependents (Deps, as
// Direction says) and, in Relations, its edges in both directions.
type DepListOutput struct {
	IssueID   string        `json:"issue_id"`
	Direction string        `json:"direction"`
	Deps      []DepListItem `json:"deps"`
	Relations []DepRelation `json:"relations"`
}

// relationOf words an edge from the listed issue's side.
func relationOf(depType string, incoming bool) string {
	switch {
	case !incoming:
		return depType
	case depType == string(event.DepBlocks):
		return "blocked_by"
	case depType == string(event.DepDependsOn):
		return "needed_by"
	}
	return depType
}

// relations lists an issue's edges both ways: those it stores, then those
// other issues store pointing at it.
func (s *Session) relations(ctx context.Context, id string) ([]DepRelation, error) {
	out := []DepRelation{}
	for _, incoming := range []bool{false, true} {
		deps, err := s.Store().Deps(ctx, id, incoming)
		if err != nil {
			return nil, err
		}
		for _, d := range deps {
			out = append(out, DepRelation{relationOf(d.DepType, incoming), d.IssueID, d.DepType, incoming, d.Title, d.State})
		}
	}
	return out, nil
}

var DepList = Op[DepListInput, DepListOutput]{
	Name: "dep_list", Title: "List dependencies", ReadOnly: true, Idempotent: true,
	Run: func(ctx context.Context, s *Session, in DepListInput) (DepListOutput, error) {
		id, err := s.ResolveIssue(ctx, in.ID)
		if err != nil {
			return DepListOutput{}, err
		}
		deps, err := s.Store().Deps(ctx, id.String(), in.Reverse)
		if err != nil {
			return DepListOutput{}, err
		}
		out := DepListOutput{IssueID: id.String(), Direction: "dependencies", Deps: []DepListItem{}}
		if in.Reverse {
			out.Direction = "dependents"
		}
		for _, d := range deps {
			out.Deps = append(out.Deps, DepListItem{d.IssueID, d.DepType, d.Title, d.State})
		}
		if out.Relations, err = s.relations(ctx, id.String()); err != nil {
			return DepListOutput{}, err
		}
		return out, nil
	},
}

// DepTopoInput filters the topological listing.
type DepTopoInput struct {
	State string `json:"state,omitempty"`
	Label string `json:"label,omitempty"`
}

// DepTopoOutput lists issues so that each comes after what it waits for.
type DepTopoOutput struct {
	Issues []IssueSummary `json:"issues"`
	Order  string         `json:"order"`
	Cycles [][]string     `json:"cycles"`
}

var DepTopo = Op[DepTopoInput, DepTopoOutput]{
	Name: "dep_topo", Title: "Issues in dependency order", ReadOnly: true, Idempotent: true,
	Run: func(ctx context.Context, s *Session, in DepTopoInput) (DepTopoOutput, error) {
		list, err := IssueList.Run(ctx, s, IssueListInput{State: in.State, Label: in.Label})
		if err != nil {
			return DepTopoOutput{}, err
		}
		edges, err := s.Store().AllDeps(ctx)
		if err != nil {
			return DepTopoOutput{}, err
		}
		we := waitEdges(edges)
		byID := map[event.IssueID]IssueSummary{}
		nodes := make([]event.IssueID, 0, len(list.Issues))
		for _, i := range list.Issues {
			id, _ := event.ParseIssueID(i.IssueID)
			byID[id] = i
			nodes = append(nodes, id)
		}
		out := DepTopoOutput{Order: "topological", Issues: make([]IssueSummary, 0, len(nodes)), Cycles: [][]string{}}
		for _, id := range crdt.Topo(nodes, we) {
			out.Issues = append(out.Issues, byID[id])
		}
		for _, c := range crdt.Cycles(we) {
			ids := make([]string, len(c))
			for i, id := range c {
				ids[i] = id.String()
			}
			out.Cycles = append(out.Cycles, ids)
		}
		return out, nil
	},
}
