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
			return withSession(g, func(ctx context.Context, s *tools.Session) (tools.RebuildOutput, error) {
				return tools.Rebuild(ctx, s, fromSnapshot)
			}, func(w io.Writer, o tools.RebuildOutput) {
				if o.FromSnapshot {
					fmt.Fprintf(w, "rebuilt from %s: %s + %d newer\n", o.SnapshotRef, tools.Plural(o.SnapshotEvents, "snapshot event"), o.EventCount-o.SnapshotEvents)
				} else {
					fmt.Fprintf(w, "rebuilt view: %s\n", tools.Plural(o.EventCount, "event"))
				}
			})
		}}
	rebuild.Flags().BoolVar(&fromSnapshot, "from-snapshot", false, "start from the newest snapshot")

	snapshotCreate := func(c *cobra.Command, args []string) error {
		return withSession(g, tools.SnapshotCreate, func(w io.Writer, o tools.SnapshotCreateOutput) {
			fmt.Fprintf(w, "created %s (%s)\n", o.SnapshotRef, tools.Plural(o.EventCount, "event"))
		})
	}
	snapshot := &cobra.Command{Use: "snapshot [create|list|gc]", Short: "Create, list or prune snapshots", Args: noArgs, RunE: snapshotCreate}
	var keep int
	gc := &cobra.Command{Use: "gc [--keep N]", Short: "Delete all but the newest N snapshot refs (local)", Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return withSession(g, func(ctx context.Context, s *tools.Session) (tools.SnapshotGCOutput, error) {
				return tools.SnapshotGC(ctx, s, keep)
			}, func(w io.Writer, o tools.SnapshotGCOutput) {
				fmt.Fprintf(w, "deleted %s, kept %d\n", tools.Plural(len(o.Deleted), "snapshot"), o.Kept)
			})
		}}
	gc.Flags().IntVar(&keep, "keep", 5, "snapshots to keep")
	snapshot.AddCommand(
		&cobra.Command{Use: "create", Short: "Create a snapshot of the WAL", Args: noArgs, RunE: snapshotCreate},
		&cobra.Command{Use: "list", Short: "List snapshots, newest first", Args: noArgs,
			RunE: func(c *cobra.Command, args []string) error {
				return withSession(g, tools.SnapshotList, func(w io.Writer, o tools.SnapshotListOutput) {
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
			return withSession(g, tools.DBStats, func(w io.Writer, st tools.DBStatsOutput) {
				fmt.Fprintf(w, "path:    %s\nsize:    %d bytes\nevents:  %d\nissues:  %d\nlabels:  %d\ndeps:    %d\nwal:     %s\n",
					st.Path, st.SizeBytes, st.Events, st.Issues, st.Labels, st.Deps, st.AppliedWAL)
			})
		}})

	var format, since string
	export := &cobra.Command{Use: "export --format md|json|beads-jsonl [--since TS_OR_EVENT_ID]", Short: "Export issues", Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return withSession(g, func(ctx context.Context, s *tools.Session) (tools.ExportOutput, error) {
				return tools.Export(ctx, s, format, since)
			}, func(w io.Writer, o tools.ExportOutput) {
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
				out, err = tools.Doctor(ctx, s, fix)
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
	root.AddCommand(rebuild, snapshot, db, export, doctor)
}
