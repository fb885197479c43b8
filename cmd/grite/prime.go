package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"grite/tools"
)

func primeCmd(g *globals) *cobra.Command {
	var in tools.WhoAmIInput
	c := &cobra.Command{Use: "prime [--max-chars N]",
		Short: "Print what an agent needs at the start of a session or after a compaction",
		Long: `Print the session primer: your actor; your live claims with expiry and their
latest handoffs; the top of the ready queue; counts (open, ready, blocked,
claimed); project context; events not yet pushed; and the change cursor to
wait on ('grite events --since CURSOR --wait 1m'). It fits in --max-chars
(text, and JSON with --json) by leaving out list items, and says what it left
out. MCP's whoami returns the same.

Wire it into an agent harness's session-start and pre-compaction hooks, so
that the agent starts each context with it (see the README).`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return withSession(g, func(ctx context.Context, s *tools.Session) (tools.WhoAmIOutput, error) {
				return tools.WhoAmI.Call(ctx, s, in)
			}, func(w io.Writer, o tools.WhoAmIOutput) { fmt.Fprint(w, o.Text()) })
		}}
	c.Flags().IntVar(&in.MaxChars, "max-chars", tools.DefaultPrimerChars, fmt.Sprintf("fit within this many characters (%d to %d)", tools.MinPrimerChars, tools.MaxPrimerChars))
	return c
}
