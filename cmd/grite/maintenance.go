package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"grite/tools"
)

func addMaintenance(root *cobra.Command, g *globals) {
	var fromSnapshot bool
	rebuild := &cobra.Command{Use: "rebuild [--from-snapshot]", Short: "Rebuild the local view from the WAL", Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return withOp(g, tools.Rebuild, tools.RebuildInput{FromSnapshot: fromSnapshot}, func(w io.Writer, o tools.RebuildOutput) {
				if o.FromSnapshot {
					fmt.Fprintf(w, "rebuilt from %s: %s + %d newer\n", o.SnapshotRef, tools.Plural(o.SnapshotEvents, "snapshot event"), o.EventCount-o.SnapshotEvents)
				} else {
					fmt.Fprintf(w, "rebuilt view: %s\n", tools.Plural(o.EventCount, "event"))
				}
			})
		}}
	rebuild.Flags().BoolVar(&fromSnapshot, "from-snapshot", false, "start from the newest snapshot")

	snapshotCreate := func(c *cobra.Command, args []string) error {
		return withOp(g, tools.SnapshotCreate, tools.NoInput{}, func(w io.Writer, o tools.SnapshotCreateOutput) {
			fmt.Fprintf(w, "created %s (%s)\n", o.SnapshotRef, tools.Plural(o.EventCount, "event"))
		})
	}
	snapshot := &cobra.Command{Use: "snapshot [create|list|gc]", Short: "Create, list or prune snapshots", Args: noArgs, RunE: snapshotCreate}
	var keep int
	gc := &cobra.Command{Use: "gc [--keep N]", Short: "Delete all but the newest N snapshot refs (local)", Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return withOp(g, tools.SnapshotGC, tools.SnapshotGCInput{Keep: keep}, func(w io.Writer, o tools.SnapshotGCOutput) {
				fmt.Fprintf(w, "deleted %s, kept %d\n", tools.Plural(len(o.Deleted), "snapshot"), o.Kept)
			})
		}}
	gc.Flags().IntVar(&keep, "keep", 5, "snapshots to keep")
	snapshot.AddCommand(
		&cobra.Command{Use: "create", Short: "Create a snapshot of the WAL", Args: noArgs, RunE: snapshotCreate},
		&cobra.Command{Use: "list", Short: "List snapshots, newest first", Args: noArgs,
			RunE: func(c *cobra.Command, args []string) error {
				return withOp(g, tools.SnapshotList, tools.NoInput{}, func(w io.Writer, o tools.SnapshotListOutput) {
					for _, s := range o.Snapshots {
						fmt.Fprintf(w, "%s  %s\n", s.Ref, s.Commit[:12])
					}
				})
			}},
		gc)

	db := &cobra.Command{Use: "db", Short: "Local view maintenance", Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error { return c.Help() }}
	db.AddCommand(&cobra.Command{Use: "stats", Short: "Counts of the local view", Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return withOp(g, tools.DBStats, tools.NoInput{}, func(w io.Writer, st tools.DBStatsOutput) {
				fmt.Fprintf(w, "path:    %s\nsize:    %d bytes\nevents:  %d\nissues:  %d\nlabels:  %d\ndeps:    %d\nwal:     %s\n",
					st.Path, st.SizeBytes, st.Events, st.Issues, st.Labels, st.Deps, st.AppliedWAL)
			})
		}})
	var verifyParents bool
	check := &cobra.Command{Use: "check [--verify-parents]", Short: "Check that the view's events hash to their IDs", Args: noArgs,
		Long: `Check every event of the local view (the SQLite cache): its ID must be the
hash of its content; with --verify-parents, its parent must be an event of the
same issue. Exits 1 when an event fails; 'grite doctor --fix' rebuilds the view
from the WAL.`,
		RunE: func(c *cobra.Command, args []string) error {
			var out tools.DBCheckOutput
			err := withSession(g, func(ctx context.Context, s *tools.Session) (tools.DBCheckOutput, error) {
				var err error
				out, err = tools.DBCheck.Call(ctx, s, tools.DBCheckInput{VerifyParents: verifyParents})
				return out, err
			}, func(w io.Writer, o tools.DBCheckOutput) {
				fmt.Fprintf(w, "%s checked, %d valid, %d corrupt\n", tools.Plural(o.EventsChecked, "event"), o.EventsValid, o.CorruptCount)
				for _, e := range o.Errors {
					fmt.Fprintf(w, "  %s (issue %s): %s\n", e.EventID, e.IssueID, e.Error)
				}
			})
			if err == nil && !out.Healthy() {
				return &reported{exit: 1}
			}
			return err
		}}
	check.Flags().BoolVar(&verifyParents, "verify-parents", false, "also check that every event's parent is in the view")
	var verbose bool
	verify := &cobra.Command{Use: "verify [--verbose]", Short: "Verify the signatures of the view's events", Args: noArgs,
		Long: `Verify the Ed25519 signature of every event of the local view against the
public keys of this clone's actors. As in the original grite, an unsigned event
and one whose actor's key is unknown here are listed too; signing is optional,
so the report does not fail the command. The first ten problems are listed
unless --verbose.`,
		RunE: func(c *cobra.Command, args []string) error {
			return withOp(g, tools.DBVerify, tools.DBVerifyInput{Verbose: verbose}, func(w io.Writer, o tools.DBVerifyOutput) {
				fmt.Fprintf(w, "%s checked: %d signatures valid, %d invalid, %d by actors with no key here, %d unsigned\n",
					tools.Plural(o.EventsChecked, "event"), o.SignaturesValid, o.Invalid, o.UnknownKey, o.Unsigned)
				for _, e := range o.Errors {
					fmt.Fprintf(w, "  %s (actor %s): %s\n", e.EventID, e.ActorID, e.Error)
				}
				if n := o.ErrorCount - len(o.Errors); n > 0 {
					fmt.Fprintf(w, "  ... and %d more (--verbose lists all)\n", n)
				}
			})
		}}
	verify.Flags().BoolVar(&verbose, "verbose", false, "list every problem, not only the first ten")
	db.AddCommand(check, verify)

	var format, since string
	export := &cobra.Command{Use: "export --format md|json|beads-jsonl [--since TS_OR_EVENT_ID]", Short: "Export issues", Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return withOp(g, tools.Export, tools.ExportInput{Format: format, Since: since}, func(w io.Writer, o tools.ExportOutput) {
				if format == "md" {
					fmt.Fprint(w, o.Markdown)
					return
				}
				if format == tools.FormatBeadsJSONL {
					fmt.Fprint(w, o.BeadsJSONL)
					return
				}
				g.writeJSON(o)
			})
		}}
	export.Flags().StringVar(&format, "format", "json", "json, md or beads-jsonl (for 'bd import')")
	export.Flags().StringVar(&since, "since", "", "only events at or after this ms timestamp or event ID")

	var fix bool
	doctor := &cobra.Command{Use: "doctor [--fix]", Short: "Check the repository, WAL, actor and view", Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			var out tools.DoctorOutput
			err := withSession(g, func(ctx context.Context, s *tools.Session) (tools.DoctorOutput, error) {
				var err error
				out, err = tools.Doctor.Call(ctx, s, tools.DoctorInput{Fix: fix})
				return out, err
			}, func(w io.Writer, o tools.DoctorOutput) {
				for _, ch := range o.Checks {
					mark := "ok  "
					if !ch.OK {
						mark = "FAIL"
					}
					fmt.Fprintf(w, "%s %-20s %s\n", mark, ch.Name, ch.Message)
				}
				if o.Fixed {
					fmt.Fprintln(w, "rebuilt the local view")
				}
			})
			if err == nil && !out.Healthy && !out.Fixed {
				return &reported{exit: 1}
			}
			return err
		}}
	doctor.Flags().BoolVar(&fix, "fix", false, "rebuild local state (never touches refs)")
	var skill tools.InstallSkillInput
	installSkill := &cobra.Command{Use: "install-skill [--global] [--force]", Short: "Install the grite skill for agent harnesses", Args: noArgs,
		Long: `Write the grite skill (how to use the tracker, through the CLI and the MCP
tools) to .claude/skills/grite/SKILL.md at the top of this repository's
working tree, or in your home directory with --global, where agent harnesses
read skills. An existing skill is kept unless --force.`,
		RunE: func(c *cobra.Command, args []string) error {
			return withBareOp(g, tools.InstallSkill, skill, func(w io.Writer, o tools.InstallSkillOutput) {
				fmt.Fprintf(w, "%s skill at %s\n", o.Action, o.Path)
			})
		}}
	installSkill.Flags().BoolVar(&skill.Global, "global", false, "install in your home directory instead of this repository")
	installSkill.Flags().BoolVar(&skill.Force, "force", false, "overwrite an existing skill file")
	root.AddCommand(rebuild, snapshot, db, export, doctor, installSkill)
}
