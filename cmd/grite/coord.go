package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"grite/tools"
)

func depCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "dep", Short: "Dependencies between issues", Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error { return c.Help() }}
	for _, action := range []string{"add", "remove"} {
		var target, typ string
		var useLock bool
		sub := &cobra.Command{Use: action + " ID --target ID [--type blocks|depends_on|related_to]", Short: action + " a dependency", Args: argsAndFlag(1, "an issue ID", "other issue", "target"),
			RunE: func(c *cobra.Command, args []string) error {
				in := tools.DepInput{ID: args[0], Target: target, Type: typ, Action: action}
				return withSession(g, func(ctx context.Context, s *tools.Session) (tools.DepOutput, error) {
					return lockedIf(ctx, s, useLock, args[0], func() (tools.DepOutput, error) { return tools.IssueDep.Call(ctx, s, in) })
				}, func(w io.Writer, o tools.DepOutput) {
					if !o.Changed {
						fmt.Fprintf(w, "unchanged: %s\n", o.Message)
						return
					}
					fmt.Fprintf(w, "%s: %s %s %s\n", o.Action, o.IssueID[:8], o.DepType, o.Target[:8])
				})
			}}
		sub.Flags().StringVar(&target, "target", "", "the other issue (required)")
		sub.Flags().StringVar(&typ, "type", "depends_on", "blocks, depends_on or related_to")
		sub.Flags().BoolVar(&useLock, "lock", false, "hold issue:<id> during the write")
		c.AddCommand(sub)
	}
	var reverse bool
	list := &cobra.Command{Use: "list ID [--reverse]", Short: "List an issue's dependencies in both directions", Args: exactArgs(1, "an issue ID"),
		RunE: func(c *cobra.Command, args []string) error {
			return withSession(g, func(ctx context.Context, s *tools.Session) (tools.DepListOutput, error) {
				return tools.DepList.Call(ctx, s, tools.DepListInput{ID: args[0], Reverse: reverse})
			}, func(w io.Writer, o tools.DepListOutput) {
				// Both directions, each worded from this issue's side,
				// unless --reverse asks for the incoming edges only.
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				n := 0
				for _, r := range o.Relations {
					if reverse && !r.Incoming {
						continue
					}
					n++
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Phrase(), r.IssueID[:8], r.State, oneLine(r.Title, 60))
				}
				tw.Flush()
				if n == 0 && reverse {
					fmt.Fprintln(w, "no dependents")
				} else if n == 0 {
					fmt.Fprintln(w, "no dependencies in either direction")
				}
			})
		}}
	list.Flags().BoolVar(&reverse, "reverse", false, "only the issues that point at this one (JSON: deps holds these)")
	var topoIn tools.DepTopoInput
	topo := &cobra.Command{Use: "topo [--state S] [--label L]", Short: "Issues in dependency order", Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return withSession(g, func(ctx context.Context, s *tools.Session) (tools.DepTopoOutput, error) {
				return tools.DepTopo.Call(ctx, s, topoIn)
			}, func(w io.Writer, o tools.DepTopoOutput) {
				printList(w, tools.IssueListOutput{Issues: o.Issues, Total: len(o.Issues)}, g.colour)
				for _, cyc := range o.Cycles {
					fmt.Fprintf(w, "cycle: %s\n", strings.Join(cyc, " "))
				}
			})
		}}
	topo.Flags().StringVar(&topoIn.State, "state", "", "open or closed (default: all)")
	topo.Flags().StringVar(&topoIn.Label, "label", "", "only issues with this label")
	c.AddCommand(list, topo)
	return c
}

// lockedIf wraps a write in WithIssueLock when --lock was given.
func lockedIf[O any](ctx context.Context, s *tools.Session, use bool, id string, fn func() (O, error)) (O, error) {
	if !use {
		return fn()
	}
	return tools.WithIssueLock(ctx, s, id, fn)
}

func readyCmd(g *globals) *cobra.Command {
	var in tools.IssueReadyInput
	c := &cobra.Command{Use: "ready [--label L] [--assignee A] [--limit N]", Short: "Open, unblocked, unclaimed issues (oldest first)", Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return withSession(g, func(ctx context.Context, s *tools.Session) (tools.IssueReadyOutput, error) {
				return tools.IssueReady.Call(ctx, s, in)
			}, quietly(g, func(w io.Writer, o tools.IssueReadyOutput) {
				if len(o.Issues) == 0 {
					fmt.Fprintln(w, "nothing ready")
					return
				}
				printList(w, tools.IssueListOutput{Issues: o.Issues, Total: len(o.Issues)}, g.colour)
			}, func(w io.Writer, o tools.IssueReadyOutput) {
				printIDs(w, tools.IssueListOutput{Issues: o.Issues})
			}))
		}}
	c.Flags().StringArrayVar(&in.Labels, "label", nil, "only issues with this label (repeatable: all of them)")
	c.Flags().StringVar(&in.Assignee, "assignee", "", "only issues assigned to this name")
	c.Flags().IntVar(&in.Limit, "limit", 0, "at most this many")
	return c
}

func fmtExpiry(ms uint64) string {
	d := time.Until(time.UnixMilli(int64(ms))).Round(time.Second)
	if d <= 0 {
		return "expired"
	}
	return "expires in " + d.String()
}

func claimCmd(g *globals) *cobra.Command {
	var next bool
	var ttl string
	var wait time.Duration
	c := &cobra.Command{Use: "claim [ID | --next [--wait 2m]] [--ttl 30m]", Short: "Atomically take an issue with a lease", Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			in := tools.ClaimInput{Next: next, TTL: ttl, Wait: wait}
			if len(args) == 1 {
				in.ID = args[0]
			}
			return withSession(g, func(ctx context.Context, s *tools.Session) (tools.ClaimOutput, error) {
				return tools.IssueClaim.Call(ctx, s, in)
			}, func(w io.Writer, o tools.ClaimOutput) {
				verb := "claimed"
				if o.AlreadyHeld {
					verb = "already held; renewed"
				}
				fmt.Fprintf(w, "%s %s %s (%s)\n", verb, o.IssueID[:8], oneLine(o.Title, 60), fmtExpiry(o.ExpiresUnixMS))
				if o.TookOverFrom != "" {
					fmt.Fprintf(w, "took over the expired claim of %s\n", o.TookOverFrom)
				}
				if o.Previous != nil {
					fmt.Fprintln(w, o.Previous.Describe())
				}
			})
		}}
	c.Flags().BoolVar(&next, "next", false, "claim the first ready issue")
	c.Flags().DurationVar(&wait, "wait", 0, "with --next: wait up to this long (e.g. 2m) for an issue to become ready")
	c.Flags().StringVar(&ttl, "ttl", "", "lease duration (90s, 30m, 2h or seconds; default 30m, and a claim you hold keeps its length)")
	return c
}

func releaseCmd(g *globals, name string) *cobra.Command {
	return &cobra.Command{Use: name + " ID", Short: "Release your claim on an issue", Args: exactArgs(1, "an issue ID"),
		RunE: func(c *cobra.Command, args []string) error {
			return withSession(g, func(ctx context.Context, s *tools.Session) (tools.ReleaseOutput, error) {
				return tools.IssueRelease.Call(ctx, s, tools.ReleaseInput{ID: args[0]})
			}, func(w io.Writer, o tools.ReleaseOutput) { fmt.Fprintf(w, "released %s\n", o.IssueID[:8]) })
		}}
}

func lockCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "lock", Short: "Lease locks on repo:, path: and issue: resources", Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error { return c.Help() }}
	printLock := func(w io.Writer, o tools.LockOutput) {
		l := o.Lock
		if !l.Live {
			fmt.Fprintf(w, "%s released\n", l.Resource)
			return
		}
		fmt.Fprintf(w, "%s held by %s (%s)\n", l.Resource, l.Owner, fmtExpiry(l.ExpiresUnixMS))
	}
	for _, action := range []string{"acquire", "renew", "release"} {
		var resource, ttl string
		sub := &cobra.Command{Use: action + " RESOURCE [--ttl 15m]", Short: action + " a lock", Args: cobra.MaximumNArgs(1),
			RunE: func(c *cobra.Command, args []string) error {
				r := resource
				if len(args) == 1 {
					if r != "" && r != args[0] {
						return g.reportErr(tools.InvalidArgs("give the resource once (argument or --resource)"))
					}
					r = args[0]
				}
				if r == "" {
					return g.reportErr(tools.InvalidArgs("a resource is required (e.g. repo:global, path:src/, issue:<id>)"))
				}
				return withSession(g, func(ctx context.Context, s *tools.Session) (tools.LockOutput, error) {
					return tools.Lock.Call(ctx, s, tools.LockInput{Action: action, Resource: r, TTL: ttl})
				}, printLock)
			}}
		sub.Flags().StringVar(&resource, "resource", "", "resource (or give it as the argument)")
		if action != "release" {
			sub.Flags().StringVar(&ttl, "ttl", "", "lease duration (90s, 15m, 2h or seconds; default 5m, and renew keeps the lease's length)")
		}
		c.AddCommand(sub)
	}
	var statusRes string
	status := &cobra.Command{Use: "status [--resource R]", Short: "List live locks", Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return withSession(g, func(ctx context.Context, s *tools.Session) (tools.LockStatusOutput, error) {
				return tools.LockStatus.Call(ctx, s, tools.LockStatusInput{Resource: statusRes})
			}, func(w io.Writer, o tools.LockStatusOutput) {
				if len(o.Locks) == 0 {
					fmt.Fprintln(w, "no live locks")
				}
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				for _, l := range o.Locks {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", l.Resource, l.Owner, fmtExpiry(l.ExpiresUnixMS))
				}
				tw.Flush()
				if statusRes == "" {
					return
				}
				if len(o.Conflicts) == 0 {
					fmt.Fprintf(w, "nothing conflicts with %s\n", statusRes)
					return
				}
				fmt.Fprintf(w, "conflicting with %s:\n", statusRes)
				for _, l := range o.Conflicts {
					fmt.Fprintf(w, "  %s held by %s (%s)\n", l.Resource, l.Owner, fmtExpiry(l.ExpiresUnixMS))
				}
			})
		}}
	status.Flags().StringVar(&statusRes, "resource", "", "also report locks conflicting with this resource")
	gc := &cobra.Command{Use: "gc", Short: "Delete local refs of expired locks", Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return withOp(g, tools.LockGC, tools.NoInput{}, func(w io.Writer, o tools.LockGCOutput) {
				fmt.Fprintf(w, "pruned %s\n", tools.Plural(o.ExpiredPruned, "expired lock"))
			})
		}}
	c.AddCommand(status, gc)
	return c
}
