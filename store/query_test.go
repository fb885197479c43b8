package store_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"grite/crdt"
	"grite/event"
	"grite/store"
)

// TestListingKeepsAnyLabelBytes: a WAL from elsewhere may carry labels and
// assignees with commas, control characters, empty strings or non-ASCII;
// listings must return them exactly, sorted byte-wise.
func TestListingKeepsAnyLabelBytes(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(ctx, filepath.Join(t.TempDir(), "view.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	odd := []string{"", "a,b", ",", "ü", "\x1f\x00x", "Zeta", "p0"}
	a := event.ActorID{1}
	var events []event.Event
	mk := func(issue event.IssueID, ts uint64, k event.Kind) {
		e := event.Event{IssueID: issue, Actor: a, TS: ts, Kind: k}
		if err := e.Seal(nil); err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	withNames, plain, emptyName := event.IssueID{1}, event.IssueID{2}, event.IssueID{3}
	mk(withNames, 1000, event.IssueCreated{Title: "odd names", Labels: odd})
	for i, n := range odd {
		mk(withNames, uint64(1001+i), event.AssigneeAdded{User: n})
	}
	mk(plain, 2000, event.IssueCreated{Title: "no names"})
	mk(emptyName, 3000, event.IssueCreated{Title: "one empty label", Labels: []string{""}})
	if err := s.Update(ctx, func(tx *store.Tx) error { return tx.ApplyFolded(events, crdt.Fold(events)) }); err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(odd)
	slices.Sort(want)
	rows, total, err := s.ListIssues(ctx, store.Filter{})
	if err != nil || total != 3 || len(rows) != 3 {
		t.Fatalf("list: %d rows, total %d, %v", len(rows), total, err)
	}
	if !slices.Equal(rows[0].Labels, want) || !slices.Equal(rows[0].Assignees, want) {
		t.Fatalf("labels %q assignees %q, want %q", rows[0].Labels, rows[0].Assignees, want)
	}
	if rows[1].Labels == nil || len(rows[1].Labels) != 0 || rows[1].Assignees == nil || len(rows[1].Assignees) != 0 {
		t.Fatalf("issue without names: labels %#v assignees %#v, want empty non-nil", rows[1].Labels, rows[1].Assignees)
	}
	if !slices.Equal(rows[2].Labels, []string{""}) {
		t.Fatalf("one empty label came back as %#v", rows[2].Labels)
	}
	one, ok, err := s.Issue(ctx, withNames.String())
	if err != nil || !ok || !slices.Equal(one.Labels, want) {
		t.Fatalf("issue: %q %v %v", one.Labels, ok, err)
	}
	page, total, err := s.ListIssues(ctx, store.Filter{Limit: 1, Offset: 1})
	if err != nil || total != 3 || len(page) != 1 || page[0].IssueID != plain.String() {
		t.Fatalf("page: %+v total %d %v", page, total, err)
	}
}

// The view's WAL file outlives its connections; a view deleted by hand
// must come back empty and healthy, with the old WAL not replayed into it.
func TestDeletedViewIgnoresItsLeftoverWAL(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "view.db")
	for _, closeFirst := range []bool{true, false} {
		s, err := store.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		e := event.Event{IssueID: event.IssueID{9}, Actor: event.ActorID{1}, TS: 5, Kind: event.IssueCreated{Title: "kept in the WAL"}}
		if err := e.Seal(nil); err != nil {
			t.Fatal(err)
		}
		if err := s.Update(ctx, func(tx *store.Tx) error { _, err := tx.Apply([]event.Event{e}); return err }); err != nil {
			t.Fatal(err)
		}
		if closeFirst {
			s.Close()
		}
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		if !closeFirst {
			s.Close()
		}
		again, err := store.Open(ctx, path)
		if err != nil {
			t.Fatalf("reopen after deleting the view (closed first %v): %v", closeFirst, err)
		}
		rows, total, err := again.ListIssues(ctx, store.Filter{})
		if err != nil || total != 0 || len(rows) != 0 || !again.Recreated {
			t.Fatalf("closed first %v: reopened view has %d issues (total %d, recreated %v, err %v), want a fresh empty view", closeFirst, len(rows), total, again.Recreated, err)
		}
		again.Close()
		os.Remove(path)
	}
}
