package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"grite/tools"
)

func syncCmd(g *globals) *cobra.Command {
	var remote, budget, timeout string
	var pull, push bool
	c := &cobra.Command{Use: "sync [--remote NAME] [--pull|--push] [--retry-budget DURATION] [--timeout DURATION]", Short: "Pull and push issues through a git remote", Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			// A pull streams through its history: with the heap allowed to
			// grow four times between collections (main), it touched more
			// fresh memory than collecting costs, so a pull collects at
			// the default pace (docs/performance.md).
			if os.Getenv("GOGC") == "" {
				debug.SetGCPercent(100)
			}
			secs, err := tools.ParseSeconds("retry-budget", budget)
			if err != nil {
				return err
			}
			limit, err := tools.ParseSeconds("timeout", timeout)
			if err != nil {
				return err
			}
			in := tools.SyncInput{Remote: remote, Mode: "full", RetryBudgetSeconds: secs, TimeoutSeconds: limit}
			switch {
			case pull && push:
			case pull:
				in.Mode = "pull"
			case push:
				in.Mode = "push"
			}
			return withSession(g, func(ctx context.Context, s *tools.Session) (tools.SyncOutput, error) {
				return tools.Sync.Call(ctx, s, in)
			}, func(w io.Writer, o tools.SyncOutput) { fmt.Fprintln(w, o.Message) })
		}}
	c.Flags().StringVar(&remote, "remote", "origin", "git remote name or URL")
	c.Flags().BoolVar(&pull, "pull", false, "only pull")
	c.Flags().BoolVar(&push, "push", false, "only push")
	c.Flags().StringVar(&timeout, "timeout", "", "bound on each fetch or push with the remote (default 60s)")
	c.Flags().StringVar(&budget, "retry-budget", "", "how long a push keeps retrying while other clones push first (default 30s, or [sync] retry_budget_seconds)")
	return c
}
