package store_test

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"grite/crdt"
	"grite/event"
	"grite/store"
)

// referenceReady is the ready rule computed straight from a fold: open
// issues with no open issue blocking them and no open issue they depend
// on, oldest first (edges to issues never created do not count).
func referenceReady(events []event.Event) []string {
	issues := crdt.Fold(events).Issues()
	open := map[event.IssueID]bool{}
	for _, iss := range issues {
		if iss.State == event.StateOpen {
			open[iss.ID] = true
		}
	}
	blocked := map[event.IssueID]bool{}
	for _, iss := range issues {
		for _, d := range iss.Deps {
			switch {
			case d.Type == event.DepBlocks && open[iss.ID]:
				blocked[d.Target] = true
			case d.Type == event.DepDependsOn && open[d.Target]:
				blocked[iss.ID] = true
			}
		}
	}
	slices.SortFunc(issues, func(a, b crdt.Issue) int {
		if a.CreatedTS != b.CreatedTS {
			return int(a.CreatedTS) - int(b.CreatedTS)
		}
		return a.ID.Compare(b.ID)
	})
	var out []string
	for _, iss := range issues {
		if open[iss.ID] && !blocked[iss.ID] {
			out = append(out, iss.ID.String())
		}
	}
	return out
}

func readyIDs(t *testing.T, s *store.Store) []string {
	t.Helper()
	rows, err := s.Ready(context.Background(), store.ReadyFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		out = append(out, r.IssueID)
	}
	return out
}

// TestReadyFlagFollowsEveryWrite: the view keeps a blocked flag per issue
// current on each incremental apply (edges added and removed, blockers
// closed and reopened, edges that arrive before their issues). After every
// random batch the ready queue must equal the rule computed from a fold of
// all events so far, and equal what a bulk rebuild gives.
func TestReadyFlagFollowsEveryWrite(t *testing.T) {
	// Writes touch an issue or two (one statement per issue); pulls touch
	// many (statements over a JSON list of IDs).
	eachSize(t, []batchSizes{{"writes", 1, 4, 12}, {"pulls", 24, 24, 4}}, readyFlagFollowsEveryWrite)
}

func readyFlagFollowsEveryWrite(t *testing.T, b batchSizes) {
	ctx := context.Background()
	minBatch, span := b.min, b.span
	for seed := uint64(1); seed <= uint64(b.seeds); seed++ {
		rng := rand.New(rand.NewPCG(seed, 99))
		inc, ids := seededView(t, seed, 30)
		var all, added []event.Event
		ts := uint64(1000)
		mk := func(issue event.IssueID, k event.Kind) event.Event {
			ts++
			return sealed(t, event.Event{IssueID: issue, Actor: event.ActorID{byte(rng.IntN(3) + 1)}, TS: ts, Kind: k})
		}
		for batch := 0; batch < 40; batch++ {
			var evs []event.Event
			for n := rng.IntN(span) + minBatch; n > 0; n-- {
				a, b := ids[rng.IntN(len(ids))], ids[rng.IntN(len(ids))]
				typ := []event.DepType{event.DepBlocks, event.DepDependsOn, event.DepRelatedTo}[rng.IntN(3)]
				switch rng.IntN(8) {
				case 0:
					evs = append(evs, mk(a, event.IssueCreated{Title: "t"}))
				case 1:
					evs = append(evs, mk(a, event.StateChanged{State: event.StateClosed}))
				case 2:
					evs = append(evs, mk(a, event.StateChanged{State: event.StateOpen}))
				case 3, 4:
					if a != b {
						evs = append(evs, mk(a, event.DependencyAdded{Target: b, Type: typ}))
						added = append(added, evs[len(evs)-1])
					}
				case 5: // remove an edge added before, mostly
					if len(added) > 0 && rng.IntN(4) > 0 {
						e := added[rng.IntN(len(added))]
						d := e.Kind.(event.DependencyAdded)
						a, b, typ = e.IssueID, d.Target, d.Type
					}
					evs = append(evs, mk(a, event.DependencyRemoved{Target: b, Type: typ}))
				case 6: // rewrites the issue's row, changes no flag
					evs = append(evs, mk(a, event.AssigneeAdded{User: "u"}))
				case 7:
					evs = append(evs, mk(a, event.CommentAdded{Body: "c"}))
				}
			}
			all = append(all, evs...)
			if err := inc.Update(ctx, func(tx *store.Tx) error { _, err := tx.Apply(evs); return err }); err != nil {
				t.Fatal(err)
			}
			want := referenceReady(all)
			if got := readyIDs(t, inc); !slices.Equal(got, want) {
				t.Fatalf("seed %d batch %d: incremental ready %v, want %v", seed, batch, got, want)
			}
		}
		bulk, err := store.Open(ctx, filepath.Join(t.TempDir(), "bulk.db"))
		if err != nil {
			t.Fatal(err)
		}
		if err := bulk.Update(ctx, func(tx *store.Tx) error { return tx.ApplyFolded(all, crdt.Fold(all)) }); err != nil {
			t.Fatal(err)
		}
		if got, want := readyIDs(t, bulk), referenceReady(all); !slices.Equal(got, want) {
			t.Fatalf("seed %d: rebuilt ready %v, want %v", seed, got, want)
		}
		bulk.Close()
	}
}

// TestReadyFlagCases walks the transitions one at a time: each step is one
// incremental apply, followed by the expected ready queue.
func TestReadyFlagCases(t *testing.T) {
	a, b, c := event.IssueID{1}, event.IssueID{2}, event.IssueID{3}
	type step struct {
		issue event.IssueID
		kind  event.Kind
		ready []event.IssueID
	}
	created := func(title string) event.Kind { return event.IssueCreated{Title: title} }
	cases := []struct {
		name  string
		steps []step
	}{
		{"blocks edge added then removed", []step{
			{a, created("a"), []event.IssueID{a}},
			{b, created("b"), []event.IssueID{a, b}},
			{a, event.DependencyAdded{Target: b, Type: event.DepBlocks}, []event.IssueID{a}},
			{a, event.DependencyRemoved{Target: b, Type: event.DepBlocks}, []event.IssueID{a, b}},
		}},
		{"blocker closed and reopened", []step{
			{a, created("a"), []event.IssueID{a}},
			{b, created("b"), []event.IssueID{a, b}},
			{a, event.DependencyAdded{Target: b, Type: event.DepBlocks}, []event.IssueID{a}},
			{a, event.StateChanged{State: event.StateClosed}, []event.IssueID{b}},
			{a, event.StateChanged{State: event.StateOpen}, []event.IssueID{a}},
		}},
		{"dependency created after the edge", []step{
			{a, created("a"), []event.IssueID{a}},
			{a, event.DependencyAdded{Target: b, Type: event.DepDependsOn}, []event.IssueID{a}},
			{b, created("b"), []event.IssueID{b}},
			{b, event.StateChanged{State: event.StateClosed}, []event.IssueID{a}},
			{a, event.DependencyRemoved{Target: b, Type: event.DepDependsOn}, []event.IssueID{a}},
			{b, event.StateChanged{State: event.StateOpen}, []event.IssueID{a, b}},
		}},
		{"chain and related_to", []step{
			{a, created("a"), []event.IssueID{a}},
			{b, created("b"), []event.IssueID{a, b}},
			{c, created("c"), []event.IssueID{a, b, c}},
			{c, event.DependencyAdded{Target: b, Type: event.DepDependsOn}, []event.IssueID{a, b}},
			{a, event.DependencyAdded{Target: b, Type: event.DepBlocks}, []event.IssueID{a}},
			{a, event.DependencyAdded{Target: c, Type: event.DepRelatedTo}, []event.IssueID{a}},
			{a, event.StateChanged{State: event.StateClosed}, []event.IssueID{b}},
			{b, event.StateChanged{State: event.StateClosed}, []event.IssueID{c}},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := emptyView(t)
			for i, st := range tc.steps {
				e := event.Event{IssueID: st.issue, Actor: event.ActorID{1}, TS: uint64(100 + i), Kind: st.kind}
				if err := e.Seal(nil); err != nil {
					t.Fatal(err)
				}
				if err := s.Update(ctx, func(tx *store.Tx) error { _, err := tx.Apply([]event.Event{e}); return err }); err != nil {
					t.Fatal(err)
				}
				if got, want := readyIDs(t, s), hexIDs(st.ready); !slices.Equal(got, want) {
					t.Fatalf("step %d (%T): ready %v, want %v", i, st.kind, got, want)
				}
			}
		})
	}
}

// TestApplyNewIssue: a writer's batch for an issue whose ID it drew just
// now skips the look-ups Apply does; a batch that could need them (an edge,
// or events of another issue) still gets them. After each batch, on a view
// holding one open issue, the ready queue and the new row must be what
// Apply would have made.
func TestApplyNewIssue(t *testing.T) {
	a, b, c := event.IssueID{1}, event.IssueID{2}, event.IssueID{3}
	cases := []struct {
		name  string
		batch []event.Kind // on b, except where issue says otherwise
		issue []event.IssueID
		ready []event.IssueID
	}{
		{"plain create", []event.Kind{event.IssueCreated{Title: "b", Labels: []string{"x"}}, event.AssigneeAdded{User: "me"}}, nil, []event.IssueID{a, b}},
		{"create depending on an open issue", []event.Kind{event.IssueCreated{Title: "b"}, event.DependencyAdded{Target: a, Type: event.DepDependsOn}}, nil, []event.IssueID{a}},
		{"create blocking an open issue", []event.Kind{event.IssueCreated{Title: "b"}, event.DependencyAdded{Target: a, Type: event.DepBlocks}}, nil, []event.IssueID{b}},
		{"events of a known issue too", []event.Kind{event.IssueCreated{Title: "b"}, event.StateChanged{State: event.StateClosed}}, []event.IssueID{b, a}, []event.IssueID{b}},
		{"two new issues", []event.Kind{event.IssueCreated{Title: "b"}, event.IssueCreated{Title: "c"}}, []event.IssueID{b, c}, []event.IssueID{a, b, c}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := emptyView(t)
			all := []event.Event{sealed(t, event.Event{IssueID: a, Actor: event.ActorID{1}, TS: 100, Kind: event.IssueCreated{Title: "a"}})}
			if err := s.Update(ctx, func(tx *store.Tx) error { _, err := tx.Apply(all); return err }); err != nil {
				t.Fatal(err)
			}
			var batch []event.Event
			for i, k := range tc.batch {
				issue := b
				if tc.issue != nil {
					issue = tc.issue[i]
				}
				batch = append(batch, sealed(t, event.Event{IssueID: issue, Actor: event.ActorID{1}, TS: uint64(200 + i), Kind: k}))
			}
			all = append(all, batch...)
			var added int
			if err := s.Update(ctx, func(tx *store.Tx) error { var err error; added, err = tx.ApplyNewIssue(batch); return err }); err != nil {
				t.Fatal(err)
			}
			if added != len(batch) {
				t.Fatalf("%d events added, want %d", added, len(batch))
			}
			if got, want := readyIDs(t, s), hexIDs(tc.ready); !slices.Equal(got, want) {
				t.Fatalf("ready %v, want %v", got, want)
			}
			fold, _ := crdt.Fold(all).Issue(b)
			got, ok, err := s.Issue(ctx, b.String())
			if err != nil || !ok {
				t.Fatalf("new issue missing (%v)", err)
			}
			if got.Title != fold.Title || !slices.Equal(got.Labels, fold.Labels) || !slices.Equal(got.Assignees, fold.Assignees) {
				t.Fatalf("view %+v, fold %+v", got, fold)
			}
		})
	}
}
