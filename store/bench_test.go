package store_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"grite/crdt"
	"grite/event"
	"grite/store"
)

// benchEvents makes issues×perIssue sealed events: a creation with two
// labels, then comments, a label, an assignee and a state change.
func benchEvents(b *testing.B, issues, perIssue int) []event.Event {
	b.Helper()
	a := event.ActorID{1}
	out := make([]event.Event, 0, issues*perIssue)
	body := "A comment long enough to look like one: the sync dropped two events after the remote was rewritten."
	for i := range issues {
		var id event.IssueID
		binary.BigEndian.PutUint64(id[:], uint64(i)*0x9e3779b97f4a7c15) // spread like random IDs
		ts := uint64(1700000000000 + i*100)
		add := func(k event.Kind) {
			e := event.Event{IssueID: id, Actor: a, TS: ts, Kind: k}
			ts++
			if err := e.Seal(nil); err != nil {
				b.Fatal(err)
			}
			out = append(out, e)
		}
		add(event.IssueCreated{Title: fmt.Sprintf("Issue %d: sync drops events when the remote was rewritten", i), Body: "Steps to reproduce, what was expected and what happened instead.", Labels: []string{"bug", fmt.Sprintf("p%d", i%4)}})
		for j := 1; j < perIssue; j++ {
			switch j % 5 {
			case 0:
				add(event.LabelAdded{Label: "needs-triage"})
			case 1:
				if i%3 == 0 {
					add(event.AssigneeAdded{User: "alice"})
				} else {
					add(event.CommentAdded{Body: body})
				}
			case 2:
				add(event.StateChanged{State: event.StateClosed})
			default:
				add(event.CommentAdded{Body: body})
			}
		}
	}
	return out
}

func load(b *testing.B, s *store.Store, events []event.Event) {
	b.Helper()
	err := s.Update(context.Background(), func(tx *store.Tx) error {
		if err := tx.Reset(); err != nil {
			return err
		}
		return tx.ApplyFolded(events, crdt.Fold(events))
	})
	if err != nil {
		b.Fatal(err)
	}
}

// cpuTime is the process's user+system CPU time; on a shared machine it is
// steadier than wall time for comparing two versions of the code.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports CPU ms per iteration since start (call after b.Loop).
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

func openStore(b *testing.B, path string) *store.Store {
	b.Helper()
	s, err := store.Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkListIssues10k lists 10,000 issues on an open view.
func BenchmarkListIssues10k(b *testing.B) {
	s := openStore(b, filepath.Join(b.TempDir(), "view.db"))
	defer s.Close()
	load(b, s, benchEvents(b, 10000, 2))
	cpu := cpuTime()
	for b.Loop() {
		rows, total, err := s.ListIssues(context.Background(), store.Filter{})
		if err != nil || len(rows) != 10000 || total != 10000 {
			b.Fatal(len(rows), total, err)
		}
	}
	reportCPU(b, cpu)
}

// BenchmarkOpenAndListIssues10k is what one `grite issue list` process does
// with the view: open the file, list every issue, close.
func BenchmarkOpenAndListIssues10k(b *testing.B) {
	path := filepath.Join(b.TempDir(), "view.db")
	s := openStore(b, path)
	load(b, s, benchEvents(b, 10000, 10))
	s.Close()
	cpu := cpuTime()
	for b.Loop() {
		s := openStore(b, path)
		rows, _, err := s.ListIssues(context.Background(), store.Filter{})
		if err != nil || len(rows) != 10000 {
			b.Fatal(len(rows), err)
		}
		s.Close()
	}
	reportCPU(b, cpu)
}

// BenchmarkApplyFolded100k is the view side of a rebuild: 100,000 events
// over 10,000 issues inserted and projected in one transaction.
func BenchmarkApplyFolded100k(b *testing.B) {
	s := openStore(b, filepath.Join(b.TempDir(), "view.db"))
	defer s.Close()
	events := benchEvents(b, 10000, 10)
	cpu := cpuTime()
	for b.Loop() {
		load(b, s, events)
	}
	reportCPU(b, cpu)
}
