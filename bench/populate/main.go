// Command populate fills a repository with issues for bench/cli.sh: it
// creates them in process through the tools layer, as the repository's
// default actor (made on first use), so the CLI run afterwards finds a view
// that is already up to date.
//
//	go run ./bench/populate -dir /path/to/repo -n 10000
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"grite/actor"
	"grite/event"
	"grite/tools"
)

func main() {
	dir := flag.String("dir", ".", "any directory inside the repository")
	n := flag.Int("n", 1000, "issues to create")
	comments := flag.Int("comments", 0, "comments to add to the first issue")
	deps := flag.Int("deps", 0, "random dependency edges to add (and every tenth issue closed)")
	flag.Parse()
	if err := run(*dir, *n, *comments, *deps); err != nil {
		fmt.Fprintln(os.Stderr, "populate:", err)
		os.Exit(1)
	}
}

func run(dir string, n, comments, deps int) error {
	ctx := context.Background()
	s, err := tools.Open(ctx, tools.OpenOptions{Dir: dir, Selection: actor.Selection{}})
	if err != nil {
		return err
	}
	defer func() { _ = s.Close() }()
	start := time.Now()
	var first string
	ids := make([]event.IssueID, 0, n)
	for i := range n {
		in := tools.IssueCreateInput{
			Title:  fmt.Sprintf("Issue %d: sync drops events when the remote was rewritten", i),
			Body:   "Steps to reproduce, what was expected and what happened instead.",
			Labels: []string{"bug", fmt.Sprintf("p%d", i%4)},
		}
		if i%3 == 0 {
			in.Assignees = []string{"alice"}
		}
		r, err := tools.IssueCreate.Call(ctx, s, in)
		if err != nil {
			return fmt.Errorf("create %d: %w", i, err)
		}
		if i == 0 {
			first = r.IssueID
		}
		id, err := event.ParseIssueID(r.IssueID)
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	if deps > 0 {
		if err := addDeps(ctx, s, ids, deps); err != nil {
			return err
		}
	}
	for i := range comments {
		if _, err := tools.IssueComment.Call(ctx, s, tools.IssueCommentInput{ID: first, Body: fmt.Sprintf("comment %d: looks like the same bug", i)}); err != nil {
			return fmt.Errorf("comment %d: %w", i, err)
		}
	}
	fmt.Fprintf(os.Stderr, "populate: %d issues, %d comments, %d dependency edges in %v\n", n, comments, deps, time.Since(start).Round(time.Millisecond))
	fmt.Println(first)
	return nil
}

// addDeps appends n random blocks/depends_on edges, each from a later to an
// earlier issue in wait order (so the graph stays acyclic), and closes
// every tenth issue, straight to the WAL in commits of 500 events (one
// checked `issue dep add` per edge would take minutes), then catches the
// view up.
func addDeps(ctx context.Context, s *tools.Session, ids []event.IssueID, n int) error {
	rng := rand.New(rand.NewPCG(1, 2))
	ts := uint64(time.Now().UnixMilli())
	var batch []event.Event
	add := func(issue event.IssueID, k event.Kind) error {
		ts++
		e := event.Event{IssueID: issue, Actor: s.Actor.ID, TS: ts, Kind: k}
		if err := e.Seal(s.Actor.Key); err != nil {
			return err
		}
		batch = append(batch, e)
		if len(batch) < 500 {
			return nil
		}
		return flush(ctx, s, &batch)
	}
	for i := 0; i < n; i++ {
		a, c := rng.IntN(len(ids)), rng.IntN(len(ids))
		if a == c {
			continue
		}
		lo, hi := min(a, c), max(a, c)
		var err error
		if i%2 == 0 { // hi waits for lo either way
			err = add(ids[hi], event.DependencyAdded{Target: ids[lo], Type: event.DepDependsOn})
		} else {
			err = add(ids[lo], event.DependencyAdded{Target: ids[hi], Type: event.DepBlocks})
		}
		if err != nil {
			return err
		}
	}
	for i := 0; i < len(ids); i += 10 {
		if err := add(ids[i], event.StateChanged{State: event.StateClosed}); err != nil {
			return err
		}
	}
	if err := flush(ctx, s, &batch); err != nil {
		return err
	}
	return s.CatchUp(ctx)
}

func flush(ctx context.Context, s *tools.Session, batch *[]event.Event) error {
	if len(*batch) == 0 {
		return nil
	}
	_, err := s.WAL.Append(ctx, s.Actor.ID, *batch, time.Now())
	*batch = (*batch)[:0]
	return err
}
