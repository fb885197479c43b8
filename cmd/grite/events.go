package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"grite/tools"
)

// maxEventsWait bounds --wait: a script that waits longer loops.
const maxEventsWait = time.Hour

func eventsCmd(g *globals) *cobra.Command {
	var in tools.ChangesInput
	var wait time.Duration
	c := &cobra.Command{Use: "events [--since CURSOR] [--issue ID] [--kind KIND]... [--limit N] [--wait DURATION]",
		Short: "List events after a cursor, or wait for the next ones",
		Long: `List the events of this clone in a stable order (oldest first), with the
cursor to continue from (next_cursor). A cursor stays valid across
processes, restarts, rebuilds and syncs: events a sync brings appear after
it, none twice. Without --since the list starts at the beginning of
history; --since now starts at the current head.

--wait blocks until a matching event is written by any process of the
repository (worktrees included) or brought by a sync, and returns it, or
returns nothing when the duration passes.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if wait < 0 || wait > maxEventsWait {
				return g.reportErr(tools.InvalidArgs("--wait must be between 0 and %s, got %s", maxEventsWait, wait))
			}
			// 0 stands for "not given" below this point; given, it is out
			// of range, as the MCP changes tool says.
			if c.Flags().Changed("limit") && in.Limit == 0 {
				return g.reportErr(tools.InvalidArgs("limit must be between 1 and %d, got 0", tools.MaxChangesLimit))
			}
			in.Wait = wait
			return withSession(g, func(ctx context.Context, s *tools.Session) (tools.ChangesOutput, error) {
				return tools.Changes.Call(ctx, s, in)
			}, quietly(g, printEvents, func(w io.Writer, o tools.ChangesOutput) {
				fmt.Fprintln(w, o.NextCursor)
			}))
		}}
	c.Flags().StringVar(&in.Since, "since", "", `continue after this cursor (a next_cursor value), or "now"`)
	c.Flags().StringVar(&in.Issue, "issue", "", "only this issue's events (ID or prefix)")
	c.Flags().StringArrayVar(&in.Kinds, "kind", nil, "only events of this kind, e.g. CommentAdded (repeatable: any of them)")
	c.Flags().IntVar(&in.Limit, "limit", 0, fmt.Sprintf("at most this many (default %d, at most %d)", tools.DefaultChangesLimit, tools.MaxChangesLimit))
	c.Flags().DurationVar(&wait, "wait", 0, "wait up to this long (e.g. 30s, 2m) for a matching event")
	return c
}

// printEvents prints one line per event and the cursor last: -q prints
// the cursor alone, for scripts that loop.
func printEvents(w io.Writer, o tools.ChangesOutput) {
	now := time.Now()
	for _, e := range o.Events {
		who := e.ActorLabel
		if who == "" {
			who = e.Actor[:8]
		}
		fmt.Fprintf(w, "%-9s %s %-15s %-12s %s\n", ago(now, e.TS), e.IssueID[:8], e.Kind, who, e.Summary)
	}
	if len(o.Events) == 0 {
		fmt.Fprintln(w, "no events")
	}
	more := ""
	if o.HasMore {
		more = " (more follow)"
	}
	fmt.Fprintf(w, "next cursor: %s%s\n", o.NextCursor, more)
}
