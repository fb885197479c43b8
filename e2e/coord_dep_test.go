package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// coordDepList returns `grite issue dep list --json` as "id type" pairs.
func coordDepList(t *testing.T, dir, id string, reverse bool) (direction string, edges []string) {
	t.Helper()
	args := []string{"issue", "dep", "list", id}
	if reverse {
		args = append(args, "--reverse")
	}
	var out struct {
		IssueID   string `json:"issue_id"`
		Direction string `json:"direction"`
		Deps      []struct {
			IssueID string `json:"issue_id"`
			DepType string `json:"dep_type"`
		} `json:"deps"`
	}
	mustJSON(t, dir, &out, args...)
	if out.IssueID != id {
		t.Fatalf("dep list %s answered for %s", id, out.IssueID)
	}
	edges = []string{}
	for _, d := range out.Deps {
		edges = append(edges, d.IssueID+" "+d.DepType)
	}
	slices.Sort(edges)
	return out.Direction, edges
}

// coordTopo returns `grite issue dep topo --json`: issue IDs in order and
// the cycles.
func coordTopo(t *testing.T, dir string, args ...string) (order []string, cycles [][]string) {
	t.Helper()
	var out struct {
		Issues []summary  `json:"issues"`
		Order  string     `json:"order"`
		Cycles [][]string `json:"cycles"`
	}
	mustJSON(t, dir, &out, append([]string{"issue", "dep", "topo"}, args...)...)
	if out.Order != "topological" || out.Cycles == nil {
		t.Fatalf("dep topo: order %q, cycles %v", out.Order, out.Cycles)
	}
	for _, i := range out.Issues {
		order = append(order, i.IssueID)
	}
	return order, out.Cycles
}

func TestDepCyclesAreRefusedAcrossEdgeTypesButRelatedToNeverIs(t *testing.T) {
	const d, b, r = "depends_on", "blocks", "related_to"
	type edge struct {
		from, to int
		typ      string
	}
	cases := []struct {
		name  string
		edges []edge
		cycle []int // issues named by the refusal of the last edge; nil: all accepted
	}{
		{"direct depends_on", []edge{{0, 1, d}, {1, 0, d}}, []int{0, 1}},
		{"three-issue chain closed by blocks", []edge{{0, 1, d}, {1, 2, d}, {0, 2, b}}, []int{0, 1, 2}},
		{"depends_on then blocks on the same pair", []edge{{0, 1, d}, {0, 1, b}}, []int{0, 1}},
		{"related_to both ways and a wait edge agreeing with the reverse blocks", []edge{{0, 1, r}, {1, 0, r}, {0, 1, d}, {1, 0, b}}, nil},
	}
	// The full table of edge-type mixes runs in process (tools package,
	// TestDepCycleRefusalTable); these are the CLI's view of it.
	dir, _ := newRepo(t)
	for n, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			issues := 0
			for _, e := range tc.edges {
				issues = max(issues, e.from+1, e.to+1)
			}
			var ids []string
			for i := range issues {
				ids = append(ids, create(t, dir, fmt.Sprintf("case %d issue %d", n, i)))
			}
			last := len(tc.edges) - 1
			for i, e := range tc.edges {
				args := []string{"issue", "dep", "add", ids[e.from], "--target", ids[e.to], "--type", e.typ}
				if i < last || tc.cycle == nil {
					mustJSON(t, dir, nil, args...)
					continue
				}
				before := walCount(t, dir)
				refused := mustFail(t, dir, "conflict", 4, args...)
				var named []string
				for _, v := range refused.Details["cycle"].([]any) {
					named = append(named, v.(string))
				}
				var want []string
				for _, c := range tc.cycle {
					want = append(want, ids[c])
					if !strings.Contains(refused.Message, ids[c][:8]) {
						t.Fatalf("refusal does not name %s: %s", ids[c][:8], refused.Message)
					}
				}
				slices.Sort(named)
				named = slices.Compact(named) // the cycle starts and ends at the same issue
				if !slices.Equal(named, sorted(want)) {
					t.Fatalf("refusal names cycle %v, want %v", named, sorted(want))
				}
				if walCount(t, dir) != before {
					t.Fatal("a refused edge was appended to the WAL")
				}
			}
			if _, cycles := coordTopo(t, dir); len(cycles) != 0 {
				t.Fatalf("dep topo reports cycles %v in an acyclic graph", cycles)
			}
		})
	}
}

// TestDepOnItselfIsInvalidInput: an edge from an issue to itself is a
// mistake in the request (invalid_args, exit 2), not a cycle of existing
// edges to break, whatever its type.
func TestDepOnItselfIsInvalidInput(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	id := create(t, dir, "alone")
	for _, tc := range []struct {
		typ    string
		target string
	}{
		{"depends_on", id},
		{"blocks", id},
		{"related_to", id},
		{"depends_on", id[:8]}, // the same issue by a prefix
	} {
		before := walCount(t, dir)
		args := []string{"issue", "dep", "add", id, "--target", tc.target, "--type", tc.typ}
		e := mustFail(t, dir, "invalid_args", 2, args...)
		if !strings.Contains(e.Message, "itself") || strings.Contains(e.Message, "cycle") || e.Details["cycle"] != nil {
			t.Fatalf("%v: message %q, details %v: want it to say the issue cannot depend on itself", args, e.Message, e.Details)
		}
		if h := grite(t, dir, args...); h.code != 2 || strings.Contains(h.stderr, "remove one of the existing edges") {
			t.Fatalf("human output points at existing edges\n%s", h)
		}
		if walCount(t, dir) != before {
			t.Fatal("a refused edge was appended to the WAL")
		}
	}
}

func TestDepListReverseAndTopoOrder(t *testing.T) {
	dir, _ := newRepo(t)
	// Created against the dependency order, so topo has to reorder them.
	ship := create(t, dir, "ship")
	build := create(t, dir, "build")
	design := create(t, dir, "design")
	docs := create(t, dir, "docs")
	aside := create(t, dir, "unrelated")
	mustJSON(t, dir, nil, "issue", "dep", "add", ship, "--target", build, "--type", "depends_on")
	mustJSON(t, dir, nil, "issue", "dep", "add", build, "--target", design, "--type", "depends_on")
	mustJSON(t, dir, nil, "issue", "dep", "add", docs, "--target", ship, "--type", "blocks")
	mustJSON(t, dir, nil, "issue", "dep", "add", aside, "--target", design, "--type", "related_to")

	order, cycles := coordTopo(t, dir)
	if len(order) != 5 || len(cycles) != 0 {
		t.Fatalf("topo %v cycles %v", order, cycles)
	}
	pos := func(id string) int { return slices.Index(order, id) }
	if !(pos(design) < pos(build) && pos(build) < pos(ship) && pos(docs) < pos(ship)) {
		t.Fatalf("topo order %v puts an issue before what it waits for\n(design %s, build %s, ship %s, docs %s)", order, design, build, ship, docs)
	}

	for _, tc := range []struct {
		id      string
		reverse bool
		dirName string
		want    []string
	}{
		{ship, false, "dependencies", []string{build + " depends_on"}},
		{ship, true, "dependents", []string{docs + " blocks"}},
		{design, false, "dependencies", []string{}},
		{design, true, "dependents", sorted([]string{build + " depends_on", aside + " related_to"})},
		{docs, false, "dependencies", []string{ship + " blocks"}},
		{docs, true, "dependents", []string{}},
	} {
		direction, got := coordDepList(t, dir, tc.id, tc.reverse)
		if direction != tc.dirName || !slices.Equal(got, tc.want) {
			t.Fatalf("dep list %s (reverse %v): %s %v, want %s %v", tc.id, tc.reverse, direction, got, tc.dirName, tc.want)
		}
	}

	// Closed issues drop out of --state open; the rest keep their order.
	mustJSON(t, dir, nil, "issue", "close", design)
	order, _ = coordTopo(t, dir, "--state", "open")
	if len(order) != 4 || slices.Contains(order, design) || slices.Index(order, build) > slices.Index(order, ship) {
		t.Fatalf("topo --state open %v", order)
	}

	// Removing an edge removes it from both directions of the listing.
	mustJSON(t, dir, nil, "issue", "dep", "remove", ship, "--target", build, "--type", "depends_on")
	if _, got := coordDepList(t, dir, ship, false); len(got) != 0 {
		t.Fatalf("dependencies after remove: %v", got)
	}
	if _, got := coordDepList(t, dir, build, true); len(got) != 0 {
		t.Fatalf("dependents after remove: %v", got)
	}
}

func TestReadyExcludesIssuesWaitingOnOpenIssues(t *testing.T) {
	dir, _ := newRepo(t)
	blocker := create(t, dir, "blocker", "--label", "x")
	blocked := create(t, dir, "blocked", "--label", "x")
	waiting := create(t, dir, "waiting")
	needed := create(t, dir, "needed")
	free := create(t, dir, "free", "--label", "x")
	related := create(t, dir, "related")
	mustJSON(t, dir, nil, "issue", "dep", "add", blocker, "--target", blocked, "--type", "blocks")
	mustJSON(t, dir, nil, "issue", "dep", "add", waiting, "--target", needed, "--type", "depends_on")
	mustJSON(t, dir, nil, "issue", "dep", "add", related, "--target", blocker, "--type", "related_to")

	coordRequireReady(t, dir, []string{blocker, needed, free, related})
	mustJSON(t, dir, nil, "issue", "close", blocker)
	coordRequireReady(t, dir, []string{blocked, needed, free, related})
	mustJSON(t, dir, nil, "issue", "close", needed)
	coordRequireReady(t, dir, []string{blocked, waiting, free, related})
	mustJSON(t, dir, nil, "issue", "reopen", needed)
	coordRequireReady(t, dir, []string{blocked, needed, free, related})

	// Filters narrow the same queue.
	coordRequireReady(t, dir, []string{blocked, free}, "--label", "x")
	var limited struct {
		Issues []summary `json:"issues"`
	}
	mustJSON(t, dir, &limited, "issue", "ready", "--limit", "2")
	if len(limited.Issues) != 2 || limited.Issues[0].IssueID != blocked || limited.Issues[1].IssueID != needed {
		t.Fatalf("ready --limit 2: %+v", limited.Issues)
	}
	mustFail(t, dir, "invalid_args", 2, "issue", "ready", "--limit", "-1")

	// A live claim hides an issue from everyone, its holder included
	// (claimed work is not ready); the holder lists it with --claimed-by.
	actors := coordActors(t, dir, "agentA", "agentB")
	mustJSON(t, dir, nil, actors[0].as("issue", "claim", free)...)
	coordRequireReady(t, dir, []string{blocked, needed, related}, actors[1].as()...)
	coordRequireReady(t, dir, []string{blocked, needed, related}, actors[0].as()...)
	coordRequireReady(t, dir, []string{}, append(actors[0].as(), "--assignee", "agentA")...)
	for _, who := range []string{"me", "agentA", actors[0].ID[:8]} {
		var mine struct {
			Issues []summary `json:"issues"`
		}
		mustJSON(t, dir, &mine, append(actors[0].as("issue", "list"), "--claimed-by", who)...)
		if len(mine.Issues) != 1 || mine.Issues[0].IssueID != free {
			t.Fatalf("issue list --claimed-by %s: %+v, want %s", who, mine.Issues, free)
		}
	}
	var theirs struct {
		Issues []summary `json:"issues"`
	}
	mustJSON(t, dir, &theirs, append(actors[1].as("issue", "list"), "--claimed-by", "me")...)
	if len(theirs.Issues) != 0 {
		t.Fatalf("agentB's --claimed-by me lists %+v", theirs.Issues)
	}
}

// Each clone's own check sees no cycle, so two edges written apart and
// merged by sync can close one: it is kept (the WAL never refuses a
// merge), and doctor and dep topo report it.
func TestDepCycleFromConcurrentClonesIsKeptAndReportedByDoctor(t *testing.T) {
	_, clones := syncRemoteAndClones(t, 2)
	x, y := clones[0], clones[1]
	a := create(t, x, "A")
	b := create(t, x, "B")
	mustSync(t, x)
	mustSync(t, y)
	mustJSON(t, x, nil, "issue", "dep", "add", a, "--target", b, "--type", "depends_on")
	mustJSON(t, y, nil, "issue", "dep", "add", a, "--target", b, "--type", "blocks")
	mustSync(t, x)
	mustSync(t, y)
	mustSync(t, x)

	want := sorted([]string{a, b})
	for _, dir := range []string{x, y} {
		if _, got := coordDepList(t, dir, a, false); !slices.Equal(got, []string{b + " blocks", b + " depends_on"}) {
			t.Fatalf("edges of A after sync: %v", got)
		}
		out, r := doctor(t, dir)
		requireFailingCheck(t, out, r, "dependency_cycles", "conflict", "")
		for _, c := range out.Checks {
			if c.Name == "dependency_cycles" && (!strings.Contains(c.Message, a) || !strings.Contains(c.Message, b)) {
				t.Fatalf("dependency_cycles does not name both issues: %s", c.Message)
			}
		}
		if _, cycles := coordTopo(t, dir); len(cycles) != 1 || !slices.Equal(cycles[0], want) {
			t.Fatalf("dep topo cycles %v, want [%v]", cycles, want)
		}
		coordRequireReady(t, dir, []string{})
	}

	// Removing either edge breaks the cycle.
	mustJSON(t, y, nil, "issue", "dep", "remove", a, "--target", b, "--type", "blocks")
	requireHealthy(t, y)
	coordRequireReady(t, y, []string{b})
}

// issue ready takes --label more than once (an issue must have every
// label), and -q prints the IDs alone, one a line, for scripts.
func TestReadyTakesRepeatedLabelsAndQuietPrintsIDs(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	both := create(t, dir, "both", "--label", "a", "--label", "b")
	create(t, dir, "only a", "--label", "a")
	coordRequireReady(t, dir, []string{both}, "--label", "a", "--label", "b")
	r := grite(t, dir, "issue", "ready", "-q", "--label", "b")
	if r.code != 0 || r.stdout != both+"\n" {
		t.Fatalf("issue ready -q: want %q\n%s", both+"\n", r)
	}
}
