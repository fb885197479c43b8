package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"grite/event"
	"grite/store"
)

// batchSizes is how large the batches of a property test are: a write's
// few events (one statement per issue) or a pull's many (the statements
// over lists of IDs), and how many seeds run.
type batchSizes struct {
	name             string
	min, span, seeds int
}

// eachSize runs prop once per batch size, as a subtest.
func eachSize(t *testing.T, sizes []batchSizes, prop func(t *testing.T, b batchSizes)) {
	for _, b := range sizes {
		t.Run(b.name, func(t *testing.T) { prop(t, b) })
	}
}

// emptyView opens a new view in a temporary directory, closed when the
// test ends.
func emptyView(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "view.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// hexIDs is ids as the view writes them.
func hexIDs(ids []event.IssueID) []string {
	var out []string
	for _, id := range ids {
		out = append(out, id.String())
	}
	return out
}

// seededView opens an empty view and n issue IDs for one seed.
func seededView(t *testing.T, seed uint64, n int) (*store.Store, []event.IssueID) {
	t.Helper()
	s := emptyView(t)
	ids := make([]event.IssueID, n)
	for i := range ids {
		ids[i] = event.IssueID{byte(seed), byte(i + 1)}
	}
	return s, ids
}

// sealed returns e with its ID computed (unsigned).
func sealed(t *testing.T, e event.Event) event.Event {
	t.Helper()
	if err := e.Seal(nil); err != nil {
		t.Fatal(err)
	}
	return e
}
