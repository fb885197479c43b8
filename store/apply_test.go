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

// TestApplyEqualsFold: after every batch applied incrementally, each
// issue's row equals the fold of every event so far. Batches mix issues the
// view has never seen (folded from the batch alone) with known ones (folded
// from their stored events), deliver events before their issue's creation,
// and re-deliver events already applied, within a batch and across batches.
func TestApplyEqualsFold(t *testing.T) {
	ctx := context.Background()
	for seed := uint64(1); seed <= 10; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		s, err := store.Open(ctx, filepath.Join(t.TempDir(), "view.db"))
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]event.IssueID, 12)
		for i := range ids {
			ids[i] = event.IssueID{byte(seed), byte(i + 1)}
		}
		var all []event.Event
		ts := uint64(5000)
		mk := func(k event.Kind) event.Event {
			ts += uint64(rng.IntN(3)) // equal timestamps too: ties break by ID
			e := event.Event{IssueID: ids[rng.IntN(len(ids))], Actor: event.ActorID{byte(rng.IntN(3) + 1)}, TS: ts, Kind: k}
			if err := e.Seal(nil); err != nil {
				t.Fatal(err)
			}
			return e
		}
		word := func() string { return []string{"a", "b", "c"}[rng.IntN(3)] }
		for batch := 0; batch < 30; batch++ {
			var evs []event.Event
			for n := rng.IntN(6) + 1; n > 0; n-- {
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
			if len(all) > 0 && rng.IntN(3) == 0 { // an event applied before
				evs = append(evs, all[rng.IntN(len(all))])
			}
			if rng.IntN(4) == 0 { // twice in one batch
				evs = append(evs, evs[rng.IntN(len(evs))])
			}
			all = append(all, evs...)
			if err := s.Update(ctx, func(tx *store.Tx) error { _, err := tx.Apply(evs); return err }); err != nil {
				t.Fatal(err)
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
		}
		s.Close()
	}
}
