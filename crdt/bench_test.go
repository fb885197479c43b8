package crdt

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"grite/event"
)

// BenchmarkFold10kEvents1kIssues folds 10,000 sealed events over 1,000 issues
// in random arrival order and materialises every issue, as a rebuild does.
func BenchmarkFold10kEvents1kIssues(b *testing.B) {
	const issues, perIssue = 1000, 10
	r := rand.New(rand.NewPCG(3, 4))
	actors := []event.ActorID{actor(1), actor(2), actor(3), actor(4)}
	ids := make([]event.IssueID, issues)
	for i := range ids {
		binary.BigEndian.PutUint64(ids[i][:], r.Uint64())
	}
	g := &eventGenerator{t: b, r: r, issues: ids, actors: actors}
	events := make([]event.Event, 0, issues*perIssue)
	for i, id := range ids {
		events = append(events, sealed(b, id, actors[i%len(actors)], uint64(1000+i), event.IssueCreated{Title: "issue", Body: "body", Labels: []string{"bug"}}))
		for j := 1; j < perIssue; j++ {
			events = append(events, sealed(b, id, actors[r.IntN(len(actors))], uint64(1000+i+j), g.issueKind()))
		}
	}
	r.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })

	b.ReportAllocs()
	for b.Loop() {
		p := Fold(events)
		if got := len(p.Issues()); got != issues {
			b.Fatalf("folded %d issues, want %d", got, issues)
		}
	}
}
