package event_test

import (
	"bytes"
	"crypto/ed25519"
	"reflect"
	"slices"
	"testing"

	"grite/event"
)

// normalized is what a kind looks like after a trip through a chunk: labels
// and symbols sorted, absent lists empty rather than nil.
func normalized(k event.Kind) event.Kind {
	switch k := k.(type) {
	case event.IssueCreated:
		k.Labels = event.SortedLabels(k.Labels)
		return k
	case event.ContextUpdated:
		k.Symbols = event.SortedSymbols(k.Symbols)
		return k
	}
	return k
}

func TestChunkRoundTripIsIdentity(t *testing.T) {
	chunks := 300
	if testing.Short() {
		chunks = 60
	}
	r := testRand(2)
	seen := map[uint64]int{}
	for c := range chunks {
		events := make([]event.Event, 1+r.IntN(12))
		for i := range events {
			events[i] = randEvent(r, 1+r.Uint64N(14))
			var key ed25519.PrivateKey
			if r.IntN(2) == 0 {
				key = testKey
			}
			if err := events[i].Seal(key); err != nil {
				t.Fatal(err)
			}
			seen[events[i].Kind.Tag()]++
		}
		first, err := event.EncodeChunk(events)
		if err != nil {
			t.Fatalf("chunk %d: %v", c, err)
		}
		if !bytes.HasPrefix(first, event.ChunkHeader) {
			t.Fatalf("chunk %d does not start with the header", c)
		}
		decoded, err := event.VerifyChunk(first)
		if err != nil {
			t.Fatalf("chunk %d: %v", c, err)
		}
		// Decoded events must not alias the input: callers reuse buffers.
		clear(first)
		second, err := event.EncodeChunk(decoded)
		if err != nil {
			t.Fatalf("chunk %d: re-encode: %v", c, err)
		}
		again, err := event.EncodeChunk(events)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(second, again) {
			t.Fatalf("chunk %d: encode → decode → encode changed the bytes:\n got %x\nwant %x", c, second, again)
		}
		if event.ChunkHash(second) != event.ChunkHash(again) {
			t.Fatalf("chunk %d: chunk hash changed", c)
		}
		if len(decoded) != len(events) {
			t.Fatalf("chunk %d: decoded %d events, want %d", c, len(decoded), len(events))
		}
		for i, got := range decoded {
			want := events[i]
			if got.ID != want.ID || got.IssueID != want.IssueID || got.Actor != want.Actor || got.TS != want.TS {
				t.Errorf("chunk %d event %d: header fields differ: got %+v want %+v", c, i, got, want)
			}
			if !reflect.DeepEqual(got.Parent, want.Parent) {
				t.Errorf("chunk %d event %d: parent %v want %v", c, i, got.Parent, want.Parent)
			}
			if !bytes.Equal(got.Sig, want.Sig) {
				t.Errorf("chunk %d event %d: sig differs", c, i)
			}
			if len(got.Sig) > 0 {
				if err := got.VerifySignature(testPublicKey()); err != nil {
					t.Errorf("chunk %d event %d: %v", c, i, err)
				}
			}
			if id, err := got.ComputeID(); err != nil || id != want.ID {
				t.Errorf("chunk %d event %d: decoded content hashes to %v (%v), want %v", c, i, id, err, want.ID)
			}
			// Labels are stored sorted (docs/format.md §3.3) and the decoder does
			// not sort, so sorted decoded labels mean sorted stored labels.
			if k, ok := got.Kind.(event.IssueCreated); ok && !slices.IsSorted(k.Labels) {
				t.Errorf("chunk %d event %d: labels %q not stored sorted", c, i, k.Labels)
			}
			if !kindsEqual(got.Kind, normalized(want.Kind)) {
				t.Errorf("chunk %d event %d: kind\n got %#v\nwant %#v", c, i, got.Kind, normalized(want.Kind))
			}
		}
	}
	for tag := event.TagIssueCreated; tag <= event.TagProjectContextUpdated; tag++ {
		if seen[tag] == 0 {
			t.Errorf("no random event of kind %d; raise the count", tag)
		}
	}
}

// kindsEqual compares kinds treating nil and empty lists alike.
func kindsEqual(a, b event.Kind) bool {
	switch a := a.(type) {
	case event.IssueCreated:
		b, ok := b.(event.IssueCreated)
		return ok && a.Title == b.Title && a.Body == b.Body && slices.Equal(a.Labels, b.Labels)
	case event.ContextUpdated:
		b, ok := b.(event.ContextUpdated)
		return ok && a.Path == b.Path && a.Language == b.Language && a.Summary == b.Summary &&
			a.ContentHash == b.ContentHash && slices.Equal(a.Symbols, b.Symbols)
	}
	return reflect.DeepEqual(a, b)
}

func TestEventIDIgnoresLabelOrderButKeepsSymbolTies(t *testing.T) {
	r := testRand(3)
	for range 50 {
		e := randEvent(r, event.TagIssueCreated)
		k := e.Kind.(event.IssueCreated)
		if err := e.Seal(nil); err != nil {
			t.Fatal(err)
		}
		shuffled := e
		labels := slices.Clone(k.Labels)
		r.Shuffle(len(labels), func(i, j int) { labels[i], labels[j] = labels[j], labels[i] })
		shuffled.Kind = event.IssueCreated{Title: k.Title, Body: k.Body, Labels: labels}
		if id, err := shuffled.ComputeID(); err != nil || id != e.ID {
			t.Fatalf("labels %q and %q hash differently", k.Labels, labels)
		}
	}

	// Symbols tie on (name, kind); their line numbers are not part of the sort
	// key, so the input order of ties is kept and changes the ID.
	a := event.Symbol{Name: "f", Kind: "func", LineStart: 1, LineEnd: 2}
	b := event.Symbol{Name: "f", Kind: "func", LineStart: 10, LineEnd: 20}
	z := event.Symbol{Name: "Z", Kind: "type", LineStart: 5, LineEnd: 6}
	id := func(syms ...event.Symbol) event.EventID {
		e := event.Event{Kind: event.ContextUpdated{Path: "x.go", Symbols: syms}}
		got, err := e.ComputeID()
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if id(a, b, z) != id(z, a, b) {
		t.Error("symbol order before sorting changed the ID")
	}
	if id(a, b) == id(b, a) {
		t.Error("tied symbols were reordered: the sort must be stable on (name, kind) only")
	}
}
