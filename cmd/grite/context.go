package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"grite/event"
	"grite/tools"
)

func contextCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "context", Short: "The context store: indexed files and symbols, and project facts",
		Long: `The context store: a record of each source file git tracks (its language,
its symbols with their lines, a one-line summary) and key/value project facts,
kept in the WAL and synced like issues. Every clone sees the latest record of
each file and the latest value of each key.`,
		Args: noArgs, RunE: func(c *cobra.Command, args []string) error { return c.Help() }}
	c.AddCommand(contextIndexCmd(g), contextQueryCmd(g), contextShowCmd(g), contextProjectCmd(g), contextSetCmd(g))
	return c
}

func contextIndexCmd(g *globals) *cobra.Command {
	var in tools.ContextIndexInput
	c := &cobra.Command{Use: "index [--path P]... [--pattern GLOB] [--force]", Short: "Index the files git tracks (changed ones only, unless --force)",
		Long: `Index the files git tracks (git ls-files, so .gitignore applies): for each file
of a known language whose content changed since its record, extract its symbols
and summary and record them (one event per file, one WAL commit for the run).
Files that git no longer lists, or that are gone from the working tree, within
what was asked (--path, --pattern), are recorded as deleted.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			dir, err := os.Getwd()
			if err != nil {
				return g.reportErr(err)
			}
			in.Dir = dir
			bar := &progressBar{}
			if !g.quiet {
				bar = newProgressBar(g.stderr, "indexing")
			}
			in.Progress = bar.update
			return withSession(g, func(ctx context.Context, s *tools.Session) (tools.ContextIndexOutput, error) {
				out, err := tools.ContextIndex.Call(ctx, s, in)
				bar.clear()
				return out, err
			}, func(w io.Writer, o tools.ContextIndexOutput) {
				fmt.Fprintf(w, "indexed %d, skipped %d of %s", o.Indexed, o.Skipped, tools.Plural(o.TotalFiles, "file"))
				var why []string
				for _, n := range []struct {
					n    int
					what string
				}{{o.Unchanged, "unchanged"}, {o.Unsupported, "of no known language"}, {len(o.Problems), "with problems (below)"}} {
					if n.n > 0 {
						why = append(why, fmt.Sprintf("%d %s", n.n, n.what))
					}
				}
				if len(why) > 0 {
					fmt.Fprintf(w, " (%s)", strings.Join(why, ", "))
				}
				fmt.Fprintln(w)
				for _, d := range o.Deleted {
					fmt.Fprintf(w, "deleted: %s\n", d)
				}
				for _, p := range o.Problems {
					fmt.Fprintf(w, "skipped %s: %s\n", p.Path, p.Reason)
				}
			})
		}}
	c.Flags().StringArrayVar(&in.Paths, "path", nil, "index only these files or directories (git pathspecs; repeatable)")
	c.Flags().StringVar(&in.Pattern, "pattern", "", "index only the files whose path matches this glob (\"*.rs\", \"src/**/*.go\")")
	c.Flags().BoolVar(&in.Force, "force", false, "index unchanged files too")
	return c
}

func contextQueryCmd(g *globals) *cobra.Command {
	var in tools.ContextQueryInput
	c := &cobra.Command{Use: "query QUERY [--limit N] [--offset N]", Short: "Find symbols by name: exact, then prefix, then substring matches",
		Args: exactArgs(1, "a query"),
		RunE: func(c *cobra.Command, args []string) error {
			in.Query = args[0]
			return withOp(g, tools.ContextQuery, in, func(w io.Writer, o tools.ContextQueryOutput) {
				if o.Total == 0 {
					fmt.Fprintf(w, "no symbol matches %q\n", o.Query)
					return
				}
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				for _, m := range o.Matches {
					fmt.Fprintf(tw, "%s\t%s\t%s:%d-%d\n", m.Symbol, m.Kind, m.Path, m.LineStart, m.LineEnd)
				}
				tw.Flush()
				if o.Count < o.Total {
					fmt.Fprintf(w, "(%d of %d matches", o.Count, o.Total)
					if o.NextOffset > 0 {
						fmt.Fprintf(w, "; more with --offset %d", o.NextOffset)
					}
					fmt.Fprintln(w, ")")
				}
			})
		}}
	c.Flags().IntVar(&in.Limit, "limit", tools.DefaultContextQueryLimit, fmt.Sprintf("at most this many matches (1 to %d)", tools.MaxContextQueryLimit))
	c.Flags().IntVar(&in.Offset, "offset", 0, "skip this many matches (next_offset of the previous page)")
	return c
}

func contextShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{Use: "show PATH", Short: "Show a file's record: language, summary and symbols", Args: exactArgs(1, "a path"),
		RunE: func(c *cobra.Command, args []string) error {
			dir, err := os.Getwd()
			if err != nil {
				return g.reportErr(err)
			}
			return withOp(g, tools.ContextShow, tools.ContextShowInput{Path: args[0], Dir: dir}, func(w io.Writer, o tools.FileContextJSON) {
				fmt.Fprintf(w, "%s (%s): %s\n", o.Path, o.Language, o.Summary)
				// By line, as one reads the file (the JSON keeps the
				// record's order).
				symbols := slices.Clone(o.Symbols)
				slices.SortStableFunc(symbols, func(a, b event.Symbol) int { return cmp.Compare(a.LineStart, b.LineStart) })
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				for _, s := range symbols {
					fmt.Fprintf(tw, "  %d-%d\t%s\t%s\n", s.LineStart, s.LineEnd, s.Kind, s.Name)
				}
				tw.Flush()
			})
		}}
}

func contextProjectCmd(g *globals) *cobra.Command {
	return &cobra.Command{Use: "project [KEY]", Short: "Show the project context, or one key's value",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 1 {
				return argsAndFlag(1, "at most a key", "", "")(c, args)
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 1 {
				return withOp(g, tools.ContextGet, tools.ContextGetInput{Key: args[0]}, func(w io.Writer, o tools.ContextEntry) {
					fmt.Fprintln(w, o.Value)
				})
			}
			return withOp(g, tools.ContextProject, struct{}{}, func(w io.Writer, o tools.ContextProjectOutput) {
				if o.Count == 0 {
					fmt.Fprintln(w, "no project context (set some with 'grite context set KEY VALUE')")
					return
				}
				for _, e := range o.Entries {
					fmt.Fprintf(w, "%s: %s\n", e.Key, oneLine(e.Value, 200))
				}
			})
		}}
}

func contextSetCmd(g *globals) *cobra.Command {
	return &cobra.Command{Use: "set KEY VALUE", Short: "Set a project context value", Args: exactArgs(2, "a key and a value"),
		RunE: func(c *cobra.Command, args []string) error {
			return withOp(g, tools.ContextSet, tools.ContextSetInput{Key: args[0], Value: args[1]}, func(w io.Writer, o tools.ContextSetOutput) {
				if !o.Changed {
					fmt.Fprintf(w, "%s unchanged: it already has that value\n", o.Key)
					return
				}
				fmt.Fprintf(w, "set %s\n", o.Key)
			})
		}}
}

// progressBar draws a run's progress on a terminal's line, once the run
// has taken long enough for one to help; elsewhere it draws nothing.
type progressBar struct {
	w     io.Writer
	what  string
	start time.Time
	drawn time.Time
	shown bool
}

// progressAfter is how long a run goes before its bar appears.
const progressAfter = 500 * time.Millisecond

func newProgressBar(w io.Writer, what string) *progressBar {
	if f, ok := w.(*os.File); !ok || !isTerminal(f) || os.Getenv("TERM") == "dumb" {
		return &progressBar{}
	}
	return &progressBar{w: w, what: what, start: time.Now()}
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func (p *progressBar) update(done, total int) {
	if p.w == nil {
		return
	}
	now := time.Now()
	if now.Sub(p.start) < progressAfter || (now.Sub(p.drawn) < 100*time.Millisecond && done < total) {
		return
	}
	p.drawn, p.shown = now, true
	const width = 30
	filled := width * done / max(total, 1)
	fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d files", p.what, strings.Repeat("=", filled), strings.Repeat(" ", width-filled), done, total)
}

// clear erases the bar, if it was drawn.
func (p *progressBar) clear() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}
