package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"grite/crdt"
	"grite/event"
	"grite/store"
)

// contextRows is what the view answers of the context store, as text.
func contextRows(t *testing.T, s *store.Store, paths, keys []string) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for _, p := range paths {
		fc, ok, err := s.FileContext(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %v %q %q %x %v %v\n", p, ok, fc.Language, fc.Summary, fc.ContentHash[:2], fc.Symbols, fc.Deleted)
	}
	for _, k := range keys {
		e, ok, err := s.ProjectValue(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %v %q\n", k, ok, e.Value)
	}
	m, total, err := s.QuerySymbols(ctx, "s", 1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "query s: %d %v\n", total, m)
	return b.String()
}

// TestContextRowsAreLastWriterWinsWhateverTheOrder: file and project
// context events applied in random batches and orders, duplicates
// included, leave the rows the fold gives (the newest record per path,
// the newest value per key: docs/format.md §10), and so does a rebuild.
func TestContextRowsAreLastWriterWinsWhateverTheOrder(t *testing.T) {
	ctx := context.Background()
	paths := []string{"a.go", "b.py", "c/d.rs"}
	keys := []string{"build", "style"}
	rng := rand.New(rand.NewPCG(3, 9))
	var all []event.Event
	for i := range 60 {
		a := event.ActorID{byte(rng.IntN(3) + 1)}
		ts := uint64(1000 + rng.IntN(20)) // many ties: broken by actor, then ID
		if rng.IntN(3) == 0 {
			k := keys[rng.IntN(len(keys))]
			all = append(all, sealed(t, event.Event{IssueID: event.ProjectContextIssueID, Actor: a, TS: ts, Kind: event.ProjectContextUpdated{Key: k, Value: fmt.Sprint("v", i)}}))
			continue
		}
		p := paths[rng.IntN(len(paths))]
		k := event.ContextUpdated{Path: p, Language: "go", Summary: fmt.Sprint("s", i), ContentHash: [32]byte{byte(i), 1},
			Symbols: []event.Symbol{{Name: fmt.Sprint("sym", i), Kind: "function", LineStart: 1, LineEnd: 2}, {Name: "Shared", Kind: "struct", LineStart: 3, LineEnd: 9}}}
		if rng.IntN(5) == 0 {
			k = event.ContextUpdated{Path: p, Symbols: []event.Symbol{}} // a deletion record
		}
		all = append(all, sealed(t, event.Event{IssueID: event.FileContextIssueID(p), Actor: a, TS: ts, Kind: k}))
	}

	rebuilt := emptyView(t)
	if err := rebuilt.Update(ctx, func(tx *store.Tx) error { return tx.ApplyFolded(all, crdt.Fold(all)) }); err != nil {
		t.Fatal(err)
	}
	want := contextRows(t, rebuilt, paths, keys)
	// The fold's own answer, for the record of each path.
	for _, r := range crdt.Fold(all).FileContextRecords() {
		if !strings.Contains(want, fmt.Sprintf("%s true %q %q", r.Path, r.Language, r.Summary)) {
			t.Fatalf("rebuilt view disagrees with the fold on %s:\n%s", r.Path, want)
		}
	}
	for seed := uint64(1); seed <= 8; seed++ {
		rng := rand.New(rand.NewPCG(seed, 1))
		evs := slices.Clone(all)
		evs = append(evs, evs[:10]...) // duplicates
		rng.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
		s := emptyView(t)
		for len(evs) > 0 {
			n := min(len(evs), rng.IntN(7)+1)
			if err := s.Update(ctx, func(tx *store.Tx) error { _, err := tx.Apply(evs[:n]); return err }); err != nil {
				t.Fatal(err)
			}
			evs = evs[n:]
		}
		if got := contextRows(t, s, paths, keys); got != want {
			t.Fatalf("seed %d: incremental view\n%s\nrebuilt view\n%s", seed, got, want)
		}
	}
	if c, err := rebuilt.ContextCounts(ctx); err != nil || c.Keys != 2 {
		t.Fatalf("counts %+v, %v", c, err)
	}
}

// TestQuerySymbolsPagesJoinUp: matches come ranked, exact (same case
// first), prefix, substring, and pages of any size join up to the list.
func TestQuerySymbolsPagesJoinUp(t *testing.T) {
	ctx := context.Background()
	s := emptyView(t)
	var evs []event.Event
	names := []string{"Parse", "parse", "ParseAll", "parser", "reparse", "unparsed", "other"}
	for i := range 40 {
		p := fmt.Sprintf("f%02d.go", i)
		var syms []event.Symbol
		for j, n := range names {
			if (i+j)%3 != 0 {
				syms = append(syms, event.Symbol{Name: n, Kind: "function", LineStart: uint32(j + 1), LineEnd: uint32(j + 1)})
			}
		}
		evs = append(evs, sealed(t, event.Event{IssueID: event.FileContextIssueID(p), Actor: event.ActorID{1}, TS: 5, Kind: event.ContextUpdated{Path: p, Language: "go", Symbols: syms}}))
	}
	if err := s.Update(ctx, func(tx *store.Tx) error { _, err := tx.Apply(evs); return err }); err != nil {
		t.Fatal(err)
	}
	all, total, err := s.QuerySymbols(ctx, "Parse", 1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	if total != len(all) || total == 0 {
		t.Fatalf("total %d, %d matches", total, len(all))
	}
	rank := map[string]int{store.MatchExact: 0, store.MatchPrefix: 1, store.MatchSubstring: 2}
	for i := 1; i < len(all); i++ {
		if rank[all[i].Match] < rank[all[i-1].Match] {
			t.Fatalf("match %d (%s %s) ranks after %s", i, all[i].Name, all[i].Match, all[i-1].Match)
		}
	}
	if all[0].Name != "Parse" || all[0].Match != store.MatchExact {
		t.Fatalf("first match %+v, want the exact-case Parse", all[0])
	}
	for _, size := range []int{1, 7, 50} {
		var joined []store.SymbolMatch
		for off := 0; off < total; off += size {
			page, n, err := s.QuerySymbols(ctx, "Parse", size, off)
			if err != nil || n != total {
				t.Fatalf("page at %d: %v, total %d", off, err, n)
			}
			joined = append(joined, page...)
		}
		if fmt.Sprint(joined) != fmt.Sprint(all) {
			t.Fatalf("pages of %d do not join up to the list", size)
		}
	}
}
