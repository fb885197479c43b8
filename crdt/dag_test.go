package crdt

import (
	"testing"

	"grite/event"
)

func node(b byte) event.IssueID { return event.IssueID{b} }

func TestCycleWithDetectsMixedTypes(t *testing.T) {
	a, b, c := node(1), node(2), node(3)
	// a depends_on b, b depends_on c: adding "a blocks c" (c waits a) closes a cycle.
	edges := []WaitEdge{{a, b}, {b, c}}
	e, _ := WaitEdgeOf(a, c, event.DepBlocks)
	cyc := CycleWith(edges, e)
	if len(cyc) != 4 || cyc[0] != c || cyc[len(cyc)-1] != c {
		t.Fatalf("cycle %v", cyc)
	}
	if ok, _ := WaitEdgeOf(a, c, event.DepRelatedTo); ok != (WaitEdge{}) {
		t.Fatal("related_to must make no edge")
	}
	e2, _ := WaitEdgeOf(c, a, event.DepBlocks) // a waits c: consistent, no cycle
	if cyc := CycleWith(edges, e2); cyc != nil {
		t.Fatalf("false cycle %v", cyc)
	}
	if cyc := CycleWith(nil, WaitEdge{a, a}); len(cyc) != 2 {
		t.Fatalf("self edge: %v", cyc)
	}
}

func TestCyclesAndTopo(t *testing.T) {
	a, b, c, d := node(1), node(2), node(3), node(4)
	edges := []WaitEdge{{a, b}, {b, a}, {c, d}}
	cyc := Cycles(edges)
	if len(cyc) != 1 || len(cyc[0]) != 2 || cyc[0][0] != a || cyc[0][1] != b {
		t.Fatalf("cycles %v", cyc)
	}
	order := Topo([]event.IssueID{a, b, c, d}, edges)
	// d before c (c waits for d); a, b are in a cycle and come last.
	want := []event.IssueID{d, c, a, b}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("topo %v want %v", order, want)
		}
	}
}
