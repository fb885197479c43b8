package store_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"grite/crdt"
	"grite/event"
	"grite/store"
)

// TestApplyEqualsFold: after every batch applied incrementally, each
// issue's row equals the fold of every event so far. Batches mix issues the
// view has never seen (folded from the batch alone) with known ones (folded
// from their stored events), deliver events before their issue's creation,
// and re-deliver events already applied, within a batch and across batches.
func TestApplyEqualsFold(t *testing.T) {
	// Small batches are single writes; large ones (a pull) take the bulk
	// insert path.
	eachSize(t, []batchSizes{{"writes", 1, 6, 10}, {"pulls", 64, 120, 3}}, applyEqualsFold)
}

func applyEqualsFold(t *testing.T, b batchSizes) {
	ctx := context.Background()
	minBatch, span := b.min, b.span
	for seed := uint64(1); seed <= uint64(b.seeds); seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		s, ids := seededView(t, seed, 12)
		var all []event.Event
		ts := uint64(5000)
		mk := func(k event.Kind) event.Event {
			ts += uint64(rng.IntN(3)) // equal timestamps too: ties break by ID
			return sealed(t, event.Event{IssueID: ids[rng.IntN(len(ids))], Actor: event.ActorID{byte(rng.IntN(3) + 1)}, TS: ts, Kind: k})
		}
		word := func() string { return []string{"a", "b", "c"}[rng.IntN(3)] }
		for batch := 0; batch < 30; batch++ {
			var evs []event.Event
			for n := rng.IntN(span) + minBatch; n > 0; n-- {
				title := "t" + word()
				var k event.Kind
				switch rng.IntN(8) {
				case 0, 1:
					k = event.IssueCreated{Title: title, Labels: []string{word()}}
				case 2:
					k = event.IssueUpdated{Title: &title}
				case 3:
					k = event.LabelAdded{Label: word()}
				case 4:
					k = event.LabelRemoved{Label: word()}
				case 5:
					k = event.AssigneeAdded{User: word()}
				case 6:
					k = event.CommentAdded{Body: word()}
				case 7:
					k = event.StateChanged{State: []event.State{event.StateOpen, event.StateClosed}[rng.IntN(2)]}
				}
				evs = append(evs, mk(k))
			}
			for k := rng.IntN(minBatch/4 + 2); k > 0 && len(all) > 0; k-- { // applied before
				evs = append(evs, all[rng.IntN(len(all))])
			}
			for k := rng.IntN(minBatch/4 + 2); k > 0; k-- { // twice in one batch
				evs = append(evs, evs[rng.IntN(len(evs))])
			}
			rng.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
			before := len(distinct(all))
			all = append(all, evs...)
			var added int
			if err := s.Update(ctx, func(tx *store.Tx) error { var err error; added, err = tx.Apply(evs); return err }); err != nil {
				t.Fatal(err)
			}
			if want := len(distinct(all)) - before; added != want {
				t.Fatalf("seed %d batch %d: Apply reports %d new events, want %d", seed, batch, added, want)
			}
			want := crdt.Fold(all)
			for _, id := range ids {
				got, ok, err := s.Issue(ctx, id.String())
				if err != nil {
					t.Fatal(err)
				}
				w, wok := want.Issue(id)
				if ok != wok {
					t.Fatalf("seed %d batch %d issue %s: in view %v, in fold %v", seed, batch, id, ok, wok)
				}
				if !ok {
					continue
				}
				if got.Title != w.Title || got.State != string(w.State) || !slices.Equal(got.Labels, w.Labels) ||
					!slices.Equal(got.Assignees, w.Assignees) || got.CommentCount != len(w.Comments) ||
					got.CreatedTS != w.CreatedTS || got.UpdatedTS != w.UpdatedTS {
					t.Fatalf("seed %d batch %d issue %s:\nview %+v\nfold %+v", seed, batch, id, got, w)
				}
			}
			// The label and assignee tables (what filters read) agree too.
			for _, name := range []string{"a", "b", "c"} {
				for _, f := range []store.Filter{{Labels: []string{name}}, {Assignee: name}} {
					rows, _, err := s.ListIssues(ctx, f)
					if err != nil {
						t.Fatal(err)
					}
					var got, wantIDs []string
					for _, r := range rows {
						got = append(got, r.IssueID)
					}
					for _, iss := range want.Issues() {
						if (f.Assignee == "" && slices.Contains(iss.Labels, name)) || (f.Assignee != "" && slices.Contains(iss.Assignees, name)) {
							wantIDs = append(wantIDs, iss.ID.String())
						}
					}
					slices.Sort(got)
					slices.Sort(wantIDs)
					if !slices.Equal(got, wantIDs) {
						t.Fatalf("seed %d batch %d filter %+v: view %v, fold %v", seed, batch, f, got, wantIDs)
					}
				}
			}
		}
	}
}

func distinct(evs []event.Event) map[event.EventID]bool {
	m := map[event.EventID]bool{}
	for _, e := range evs {
		m[e.ID] = true
	}
	return m
}
