package event_test

import (
	"testing"

	"grite/event"
)

// BenchmarkEncodeAndHashEvent is the cost of minting one event: the canonical
// preimage and its BLAKE2b-256 ID (Seal without a key).
func BenchmarkEncodeAndHashEvent(b *testing.B) {
	e := event.Event{
		IssueID: event.IssueID{1},
		Actor:   event.ActorID{2},
		TS:      1700000000000,
		Kind: event.IssueCreated{
			Title:  "Sync drops events when the remote was rewritten",
			Body:   "Steps to reproduce and what was expected instead.",
			Labels: []string{"p1", "bug", "area/sync"},
		},
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Seal(nil); err != nil {
			b.Fatal(err)
		}
	}
}

// benchChunk is a 1,000-event chunk of all fourteen kinds, half of them
// signed: the size of a snapshot chunk.
func benchChunk(b *testing.B) ([]event.Event, []byte) {
	b.Helper()
	events := mixedEvents(b, 1000)
	chunk, err := event.EncodeChunk(events)
	if err != nil {
		b.Fatal(err)
	}
	return events, chunk
}

func BenchmarkDecodeChunk1000(b *testing.B) {
	_, chunk := benchChunk(b)
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := event.DecodeChunk(chunk); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyChunk1000(b *testing.B) {
	_, chunk := benchChunk(b)
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := event.VerifyChunk(chunk); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeChunk1000(b *testing.B) {
	events, chunk := benchChunk(b)
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := event.EncodeChunk(events); err != nil {
			b.Fatal(err)
		}
	}
}
