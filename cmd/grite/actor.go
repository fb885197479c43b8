package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"grite/tools"
)

func initCmd(g *globals) *cobra.Command {
	var in tools.InitInput
	c := &cobra.Command{Use: "init [--no-agents-md]", Short: "Set up grite in this repository", Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return withBareOp(g, tools.Init, in, func(w io.Writer, o tools.InitOutput) {
				fmt.Fprintln(w, o.Message)
			})
		}}
	c.Flags().BoolVar(&in.NoAgentsMD, "no-agents-md", false, "do not write the Grite section of AGENTS.md")
	c.Flags().StringVar(&in.Label, "label", "", "label of the new actor")
	c.Flags().BoolVar(&in.GenerateKey, "generate-key", false, "give the actor an Ed25519 signing key")
	return c
}

func printActor(w io.Writer, a tools.ActorInfo) {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintf(tw, "actor:\t%s\n", a.ActorID)
	if a.Label != "" {
		fmt.Fprintf(tw, "label:\t%s\n", a.Label)
	}
	fmt.Fprintf(tw, "data dir:\t%s\n", a.DataDir)
	if a.PublicKey != "" {
		fmt.Fprintf(tw, "public key:\t%s\n", a.PublicKey)
	}
	if a.Source != "" {
		fmt.Fprintf(tw, "source:\t%s\n", a.Source)
	}
	tw.Flush()
}

func actorCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "actor", Short: "Manage actors (identities)", Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error { return c.Help() }}
	var in tools.ActorInitInput
	initC := &cobra.Command{Use: "init [--label L] [--generate-key]", Short: "Create an actor", Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return withBareOp(g, tools.ActorInit, in, printActor)
		}}
	initC.Flags().StringVar(&in.Label, "label", "", "a name for the actor (labels need not be unique)")
	initC.Flags().BoolVar(&in.GenerateKey, "generate-key", false, "give the actor an Ed25519 signing key")
	initC.Flags().BoolVar(&in.MakeDefault, "default", false, "make it the repository default")
	list := &cobra.Command{Use: "list", Short: "List actors with their last activity", Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return withOp(g, tools.ActorList, tools.NoInput{}, func(w io.Writer, o tools.ActorListOutput) {
				now := time.Now()
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "ACTOR\tLABEL\tLAST ACTIVE\tLAST EVENT\t")
				for _, a := range o.Actors {
					def := ""
					if a.Default {
						def = "(default)"
					}
					lastEvent := "none"
					if a.LastEventTS != 0 {
						lastEvent = ago(now, a.LastEventTS)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.ActorID, a.Label, ago(now, a.LastActiveTS), lastEvent, def)
				}
				tw.Flush()
			})
		}}
	var gcIn tools.ActorGCInput
	var olderThan string
	gc := &cobra.Command{Use: "gc [--older-than 30d] [--dry-run]", Short: "Remove the local data of idle actors (their events stay)", Args: noArgs,
		Long: `Remove the local data (config and view) of actors idle for longer than
--older-than: no event written, no use of their view, not created since.
Every unlabelled grite-mcp session is an actor of its own, so an
orchestrator leaves many behind. Their events stay in the WAL.

Kept whatever their age: the repository default, the actor running gc,
actors holding a live lock or claim, actors with a signing key, and actors
a running session uses.`,
		RunE: func(c *cobra.Command, args []string) error {
			d, err := tools.ParseAge(olderThan)
			if err != nil {
				return g.reportErr(err)
			}
			gcIn.OlderThan = d
			return withOp(g, tools.ActorGC, gcIn, printActorGC)
		}}
	gc.Flags().StringVar(&olderThan, "older-than", "30d", "remove actors idle for longer than this (30d, 12h, 90m)")
	gc.Flags().BoolVar(&gcIn.DryRun, "dry-run", false, "say what would be removed, remove nothing")
	show := &cobra.Command{Use: "show [ID]", Short: "Show an actor", Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return withOp(g, tools.ActorCurrent, tools.NoInput{}, printActor)
			}
			return withBareOp(g, tools.ActorShow, tools.ActorIDInput{ID: args[0]}, printActor)
		}}
	current := &cobra.Command{Use: "current", Short: "Show the actor commands act as", Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return withOp(g, tools.ActorCurrent, tools.NoInput{}, printActor)
		}}
	use := &cobra.Command{Use: "use ID", Short: "Make an actor the repository default", Args: exactArgs(1, "an actor ID"),
		RunE: func(c *cobra.Command, args []string) error {
			return withBareOp(g, tools.ActorUse, tools.ActorIDInput{ID: args[0]}, printActor)
		}}
	c.AddCommand(initC, list, show, current, use, gc)
	return c
}

func printActorGC(w io.Writer, o tools.ActorGCOutput) {
	verb := "removed"
	if o.DryRun {
		verb = "would remove"
	}
	for _, a := range o.Removed {
		fmt.Fprintf(w, "%s %s %s (last active %s)\n", verb, a.ActorID, a.Label, ago(time.Now(), a.LastActiveTS))
	}
	old := 0
	for _, k := range o.Kept {
		if k.LastActiveTS < o.Cutoff {
			fmt.Fprintf(w, "kept %s %s: %s\n", k.ActorID, k.Label, k.Reason)
			old++
		}
	}
	fmt.Fprintf(w, "%s %s; kept %d (%d idle but kept as above); their events stay in the WAL\n",
		verb, tools.Plural(len(o.Removed), "actor"), len(o.Kept), old)
}
