package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"grite/tools"
)

// maxImportFile caps the file an import reads (a 5,000-issue beads export
// is a few MiB).
const maxImportFile = 1 << 30

func addImport(root *cobra.Command, g *globals) {
	var in tools.ImportInput
	imp := &cobra.Command{Use: "import beads|git-bug|github", Short: "Import issues from beads, git-bug or GitHub",
		Long: `Import issues from another tracker, in bulk: many issues per WAL commit.

  grite import beads FILE.jsonl     the JSONL of 'bd export' (or .beads/issues.jsonl)
  grite import git-bug              git-bug's bugs in this repository (refs/bugs/)
  grite import github FILE.json     gh issue list --state all --json number,title,body,
                                    state,labels,assignees,comments,createdAt,closedAt

FILE may be - for stdin. Each issue records where it came from (a link
imported:SOURCE:ID), so importing again creates nothing new and adds what
changed in the source. A record that cannot be read is reported with its
line and left out; the exit status is then 1.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error { return c.Help() },
	}
	run := func(source string) func(c *cobra.Command, args []string) error {
		return func(c *cobra.Command, args []string) error {
			in.Source = source
			if source != "git-bug" {
				data, err := readImportFile(args[0])
				if err != nil {
					return g.reportErr(err)
				}
				in.Data = data
			}
			// An interrupt stops between WAL commits: what is written stays
			// valid, and running the import again completes it.
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			g.ctx = ctx
			var out tools.ImportOutput
			err := withSession(g, func(ctx context.Context, s *tools.Session) (tools.ImportOutput, error) {
				var err error
				out, err = tools.Import.Call(ctx, s, in)
				return out, err
			}, printImport)
			if err == nil && len(out.Errors) > 0 {
				// On stderr even with --quiet: the exit status alone does
				// not say which records were left out. --json has them in
				// data.errors.
				if !g.json {
					for _, e := range out.Errors {
						fmt.Fprintf(g.stderr, "error: %s (left out)\n", e.Error())
					}
				}
				return &reported{exit: 1}
			}
			return err
		}
	}
	beads := &cobra.Command{Use: "beads FILE", Short: "Import beads JSONL ('bd export')", Args: exactArgs(1, "FILE"), RunE: run("beads")}
	github := &cobra.Command{Use: "github FILE", Short: "Import the JSON of 'gh issue list --json ...'", Args: exactArgs(1, "FILE"), RunE: run("github")}
	gitbug := &cobra.Command{Use: "git-bug [--ref-prefix refs/bugs/]", Short: "Import git-bug's bugs from this repository", Args: noArgs, RunE: run("git-bug")}
	gitbug.Flags().StringVar(&in.RefPrefix, "ref-prefix", tools.DefaultGitBugRefs, "where the bugs are")
	for _, c := range []*cobra.Command{beads, github, gitbug} {
		c.Flags().BoolVar(&in.DryRun, "dry-run", false, "read and report what would be imported; write nothing")
		imp.AddCommand(c)
	}
	root.AddCommand(imp)
}

func readImportFile(path string) ([]byte, error) {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxImportFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxImportFile {
		return nil, tools.InvalidArgs("%s is larger than %d bytes", path, maxImportFile)
	}
	return data, nil
}

// printImport prints the summary (the records left out go to stderr).
func printImport(w io.Writer, o tools.ImportOutput) {
	if o.DryRun {
		for _, is := range o.Issues {
			id := is.IssueID[:8]
			if is.Action == tools.ImportCreated {
				id = "(new)   "
			}
			fmt.Fprintf(w, "would %-7s %s %-12s %s\n", map[string]string{tools.ImportCreated: "create", tools.ImportUpdated: "update", tools.ImportSkipped: "skip"}[is.Action], id, is.SourceID, is.Title)
		}
		fmt.Fprintf(w, "%s, dry run: would create %d, update %d, skip %d (%s)\n", o.Source, o.Created, o.Updated, o.Skipped, tools.Plural(o.Events, "event"))
	} else {
		fmt.Fprintf(w, "%s: created %d, updated %d, skipped %d (%s in %s)\n", o.Source, o.Created, o.Updated, o.Skipped, tools.Plural(o.Events, "event"), tools.Plural(o.Commits, "WAL commit"))
	}
	if o.Ignored > 0 {
		fmt.Fprintf(w, "ignored %s that are not issues\n", tools.Plural(o.Ignored, "record"))
	}
}
