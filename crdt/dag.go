package crdt

import (
	"sort"

	"grite/event"
)

// WaitEdge says From cannot start before To is done. "A blocks B" is the
// edge B→A; "A depends_on B" is A→B; related_to makes no edge.
type WaitEdge struct {
	From, To event.IssueID
}

// WaitEdgeOf converts a dependency of source on target into a wait edge.
func WaitEdgeOf(source, target event.IssueID, t event.DepType) (WaitEdge, bool) {
	switch t {
	case event.DepDependsOn:
		return WaitEdge{From: source, To: target}, true
	case event.DepBlocks:
		return WaitEdge{From: target, To: source}, true
	}
	return WaitEdge{}, false
}

func adjacency(edges []WaitEdge) map[event.IssueID][]event.IssueID {
	adj := map[event.IssueID][]event.IssueID{}
	for _, e := range edges {
		adj[e.From] = append(adj[e.From], e.To)
	}
	for k := range adj {
		sort.Slice(adj[k], func(i, j int) bool { return adj[k][i].Compare(adj[k][j]) < 0 })
	}
	return adj
}

// CycleWith returns the cycle that adding e to edges would close (e.From,
// ..., back to e.From), or nil when e keeps the graph acyclic.
func CycleWith(edges []WaitEdge, e WaitEdge) []event.IssueID {
	if e.From == e.To {
		return []event.IssueID{e.From, e.From}
	}
	adj := adjacency(edges)
	// BFS from e.To looking for e.From; parents rebuild the path.
	parent := map[event.IssueID]event.IssueID{e.To: e.To}
	queue := []event.IssueID{e.To}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if n == e.From {
			path := []event.IssueID{n}
			for n != e.To {
				n = parent[n]
				path = append(path, n)
			}
			// path runs e.From ← ... ← e.To; reverse to e.To → ... → e.From,
			// then prefix the new edge's source.
			for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
				path[i], path[j] = path[j], path[i]
			}
			return append([]event.IssueID{e.From}, path...)
		}
		for _, m := range adj[n] {
			if _, seen := parent[m]; !seen {
				parent[m] = n
				queue = append(queue, m)
			}
		}
	}
	return nil
}

// Cycles returns every strongly connected component with a cycle (size > 1
// or a self-edge), each sorted, components sorted by their first ID.
func Cycles(edges []WaitEdge) [][]event.IssueID {
	adj := adjacency(edges)
	nodes := map[event.IssueID]bool{}
	self := map[event.IssueID]bool{}
	for _, e := range edges {
		nodes[e.From], nodes[e.To] = true, true
		if e.From == e.To {
			self[e.From] = true
		}
	}
	order := make([]event.IssueID, 0, len(nodes))
	for n := range nodes {
		order = append(order, n)
	}
	sort.Slice(order, func(i, j int) bool { return order[i].Compare(order[j]) < 0 })
	// Tarjan's algorithm, iterative to survive long chains.
	index := map[event.IssueID]int{}
	low := map[event.IssueID]int{}
	onStack := map[event.IssueID]bool{}
	var stack []event.IssueID
	var out [][]event.IssueID
	next := 0
	type frame struct {
		n event.IssueID
		i int
	}
	for _, root := range order {
		if _, done := index[root]; done {
			continue
		}
		calls := []frame{{root, 0}}
		index[root], low[root] = next, next
		next++
		stack = append(stack, root)
		onStack[root] = true
		for len(calls) > 0 {
			f := &calls[len(calls)-1]
			if f.i < len(adj[f.n]) {
				m := adj[f.n][f.i]
				f.i++
				if _, seen := index[m]; !seen {
					index[m], low[m] = next, next
					next++
					stack = append(stack, m)
					onStack[m] = true
					calls = append(calls, frame{m, 0})
				} else if onStack[m] && index[m] < low[f.n] {
					low[f.n] = index[m]
				}
				continue
			}
			n := f.n
			calls = calls[:len(calls)-1]
			if len(calls) > 0 && low[n] < low[calls[len(calls)-1].n] {
				low[calls[len(calls)-1].n] = low[n]
			}
			if low[n] == index[n] {
				var comp []event.IssueID
				for {
					m := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[m] = false
					comp = append(comp, m)
					if m == n {
						break
					}
				}
				if len(comp) > 1 || self[n] {
					sort.Slice(comp, func(i, j int) bool { return comp[i].Compare(comp[j]) < 0 })
					out = append(out, comp)
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0].Compare(out[j][0]) < 0 })
	return out
}

// Topo orders nodes so that every issue comes after what it waits for
// (Kahn's algorithm over edges within nodes; ties keep the input order).
// Nodes caught in cycles are appended last, in input order.
func Topo(nodes []event.IssueID, edges []WaitEdge) []event.IssueID {
	in := map[event.IssueID]bool{}
	for _, n := range nodes {
		in[n] = true
	}
	pending := map[event.IssueID]int{} // number of unfinished prerequisites
	dependents := map[event.IssueID][]event.IssueID{}
	for _, e := range edges {
		if in[e.From] && in[e.To] && e.From != e.To {
			pending[e.From]++
			dependents[e.To] = append(dependents[e.To], e.From)
		}
	}
	pos := map[event.IssueID]int{}
	for i, n := range nodes {
		pos[n] = i
	}
	var ready []event.IssueID
	for _, n := range nodes {
		if pending[n] == 0 {
			ready = append(ready, n)
		}
	}
	out := make([]event.IssueID, 0, len(nodes))
	done := map[event.IssueID]bool{}
	for len(ready) > 0 {
		sort.Slice(ready, func(i, j int) bool { return pos[ready[i]] < pos[ready[j]] })
		n := ready[0]
		ready = ready[1:]
		out = append(out, n)
		done[n] = true
		for _, d := range dependents[n] {
			if pending[d]--; pending[d] == 0 {
				ready = append(ready, d)
			}
		}
	}
	for _, n := range nodes {
		if !done[n] {
			out = append(out, n)
		}
	}
	return out
}
