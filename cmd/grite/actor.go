package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"grite/tools"
)

func initCmd(g *globals) *cobra.Command {
	var in tools.InitInput
	c := &cobra.Command{Use: "init [--no-agents-md]", Short: "Set up grite in this repository", Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return withBare(g, func(ctx context.Context, s *tools.Session) (tools.InitOutput, error) {
				return tools.Init(ctx, s, in)
			}, func(w io.Writer, o tools.InitOutput) {
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
			return withBare(g, func(ctx context.Context, s *tools.Session) (tools.ActorInfo, error) {
				return tools.ActorInit(ctx, s, in)
			}, printActor)
		}}
	initC.Flags().StringVar(&in.Label, "label", "", "a name for the actor (labels need not be unique)")
	initC.Flags().BoolVar(&in.GenerateKey, "generate-key", false, "give the actor an Ed25519 signing key")
	initC.Flags().BoolVar(&in.MakeDefault, "default", false, "make it the repository default")
	list := &cobra.Command{Use: "list", Short: "List actors", Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return withBare(g, tools.ActorList, func(w io.Writer, o tools.ActorListOutput) {
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				for _, a := range o.Actors {
					def := ""
					if a.Default {
						def = "(default)"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\n", a.ActorID, a.Label, def)
				}
				tw.Flush()
			})
		}}
	show := &cobra.Command{Use: "show [ID]", Short: "Show an actor", Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return withSession(g, func(ctx context.Context, s *tools.Session) (tools.ActorInfo, error) {
					return tools.ActorCurrent(ctx, s)
				}, printActor)
			}
			return withBare(g, func(ctx context.Context, s *tools.Session) (tools.ActorInfo, error) {
				return tools.ActorShow(ctx, s, args[0])
			}, printActor)
		}}
	current := &cobra.Command{Use: "current", Short: "Show the actor commands act as", Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return withSession(g, tools.ActorCurrent, printActor)
		}}
	use := &cobra.Command{Use: "use ID", Short: "Make an actor the repository default", Args: exactArgs(1, "an actor ID"),
		RunE: func(c *cobra.Command, args []string) error {
			return withBare(g, func(ctx context.Context, s *tools.Session) (tools.ActorInfo, error) {
				return tools.ActorUse(ctx, s, args[0])
			}, printActor)
		}}
	c.AddCommand(initC, list, show, current, use)
	return c
}
