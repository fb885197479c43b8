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
	"os"
	"time"

	"grite/actor"
	"grite/tools"
)

func main() {
	dir := flag.String("dir", ".", "any directory inside the repository")
	n := flag.Int("n", 1000, "issues to create")
	comments := flag.Int("comments", 0, "comments to add to the first issue")
	flag.Parse()
	if err := run(*dir, *n, *comments); err != nil {
		fmt.Fprintln(os.Stderr, "populate:", err)
		os.Exit(1)
	}
}

func run(dir string, n, comments int) error {
	ctx := context.Background()
	s, err := tools.Open(ctx, tools.OpenOptions{Dir: dir, Selection: actor.Selection{}})
	if err != nil {
		return err
	}
	defer s.Close()
	start := time.Now()
	var first string
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
	}
	for i := range comments {
		if _, err := tools.IssueComment.Call(ctx, s, tools.IssueCommentInput{ID: first, Body: fmt.Sprintf("comment %d: looks like the same bug", i)}); err != nil {
			return fmt.Errorf("comment %d: %w", i, err)
		}
	}
	fmt.Fprintf(os.Stderr, "populate: %d issues, %d comments in %v\n", n, comments, time.Since(start).Round(time.Millisecond))
	fmt.Println(first)
	return nil
}
