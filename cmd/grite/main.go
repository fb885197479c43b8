// Command grite is the command-line interface of the grite issue tracker:
// flags, wiring and exit codes over the tools package; no logic of its own.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"grite/actor"
	"grite/tools"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// globals are the flags every command accepts.
type globals struct {
	json     bool
	quiet    bool
	dataDir  string
	actorID  string
	noDaemon bool
	// quietPrints: the command prints something under --quiet (quietly).
	quietPrints bool
	stdout      io.Writer
	stderr      io.Writer
	// colour: human output may mark the state of an issue in colour.
	colour bool
	// ctx, when set, is the context sessions run in (a command that stops
	// cleanly on an interrupt sets one); context.Background otherwise.
	ctx context.Context
}

// wantColour says whether human output may use colour: only for a person at
// a terminal, never when NO_COLOR is set to anything (https://no-color.org)
// nor on a terminal that declares it has none. --json never reaches the
// human printers, so it needs no check here.
func wantColour(terminal bool, getenv func(string) string) bool {
	return terminal && getenv("NO_COLOR") == "" && getenv("TERM") != "dumb"
}

// stdoutIsTerminal: a pipe or a file is not a person reading. (A character
// device such as /dev/null counts as a terminal; nobody reads that either.)
func stdoutIsTerminal() bool {
	fi, err := os.Stdout.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func main() {
	// A command lives for milliseconds: collecting garbage at the default
	// pace cost a 10k-issue JSON listing a quarter of its time (its live
	// heap is mostly the output being built). Let the heap grow four times
	// its live size between collections, but collect as usual past a soft
	// 64 MiB, so that large pulls stay small (a 100k-commit pull peaked at
	// 180 MB RSS, 206 MB with the defaults). GOGC and GOMEMLIMIT still win.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(64 << 20)
	}
	// Buffered: a 10k-issue listing is otherwise one write(2) per cell.
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	code := run(os.Args[1:], out, os.Stderr, wantColour(stdoutIsTerminal(), os.Getenv))
	if err := out.Flush(); err != nil && code == 0 {
		code = 1
	}
	os.Exit(code)
}

func run(args []string, stdout, stderr io.Writer, colour bool) int {
	g := &globals{stdout: stdout, stderr: stderr, colour: colour}
	root := newRoot(g)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var done *reported
	if errors.As(err, &done) {
		return done.exit
	}
	// Cobra's own failures (unknown flag or command, bad arity) are usage
	// errors. They can stop flag parsing before --json is seen (an unknown
	// flag in front of it, an unknown command), so look for it in args.
	if !g.json {
		g.json = wantsJSON(args)
	}
	te := tools.AsError(err)
	if te.Code == tools.CodeInternal {
		te = tools.InvalidArgs("%s", err.Error())
		te.Details = map[string]any{"suggestions": []string{"Run 'grite --help' or 'grite <command> --help' for usage"}}
	}
	return g.fail(te)
}

// wantsJSON reports whether args ask for --json before any "--".
func wantsJSON(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "--json", "--json=true", "--json=1":
			return true
		}
	}
	return false
}

// reported marks an error already printed, carrying its exit code.
type reported struct{ exit int }

func (r *reported) Error() string { return "reported" }

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:           "grite",
		Short:         "grite: a git-backed issue tracker for AI coding agents and people",
		Version:       version,
		SilenceErrors: true,
		SilenceUsage:  true,
		// Runnable, so that its arguments go through noArgs like those of
		// every other command that groups subcommands.
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error { return c.Help() },
	}
	// What 'grite version' prints, so that scripts can use either.
	root.SetVersionTemplate("grite {{.Version}}\n")
	pf := root.PersistentFlags()
	pf.BoolVar(&g.json, "json", false, "print one JSON envelope on stdout")
	pf.BoolVarP(&g.quiet, "quiet", "q", false, "print nothing on success but the IDs that issue create makes and issue list finds")
	pf.StringVar(&g.dataDir, "data-dir", "", "actor data directory (also GRITE_HOME)")
	pf.StringVar(&g.actorID, "actor", "", "actor ID to act as")
	pf.BoolVar(&g.noDaemon, "no-daemon", false, "accepted for compatibility; grite has no daemon")
	// Kept working for the original grite's scripts, not offered to new ones.
	_ = pf.MarkHidden("no-daemon")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		// "issue label ad ID --label x": the flag is unknown only because
		// the subcommand is, which is the thing to report.
		if args := c.Flags().Args(); len(args) > 0 && c.HasAvailableSubCommands() {
			return unknownCommand(c, args[0])
		}
		e := tools.InvalidArgs("%v", err)
		e.Details = map[string]any{"suggestions": []string{fmt.Sprintf("Run '%s --help' for usage", c.CommandPath())}}
		return e
	})
	root.AddCommand(
		versionCmd(g), initCmd(g), actorCmd(g), issueCmd(g), syncCmd(g), lockCmd(g), eventsCmd(g), primeCmd(g), gcCmd(g), serveCmd(g), contextCmd(g),
	)
	addMaintenance(root, g)
	addImport(root, g)
	// Cobra's completion command only groups one per shell: made now
	// rather than at Execute, it can check its arguments like the others.
	root.InitDefaultCompletionCmd()
	if comp, _, err := root.Find([]string{"completion"}); err == nil && comp != root {
		comp.Args = noArgs
		comp.RunE = func(c *cobra.Command, args []string) error { return c.Help() }
	}
	return root
}

func versionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "version", Short: "Print the version", Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return g.emit(map[string]string{"version": version}, func(w io.Writer) { fmt.Fprintln(w, "grite", version) })
		},
	}
}

// noArgs refuses arguments. Those of a command that groups others name
// one of them, misspelt or not there at all.
func noArgs(c *cobra.Command, args []string) error {
	switch {
	case len(args) == 0:
		return nil
	case c.HasAvailableSubCommands():
		return unknownCommand(c, args[0])
	}
	return argsAndFlag(0, "", "", "")(c, args)
}

// unknownCommand is cobra's "unknown command" with its suggestions, as one
// line: commands that group others have arguments checked by noArgs, so
// cobra's own check does not run for them.
func unknownCommand(c *cobra.Command, name string) error {
	e := tools.InvalidArgs("unknown command %q for %q", name, c.CommandPath())
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2 // cobra's default, which only its own check sets
	}
	if s := c.SuggestionsFor(name); len(s) > 0 {
		for i := range s {
			s[i] = strconv.Quote(s[i])
		}
		alts := s[len(s)-1]
		if len(s) > 1 {
			alts = strings.Join(s[:len(s)-1], ", ") + " or " + alts
		}
		e.Message += "; did you mean " + alts + "?"
	}
	e.Details = map[string]any{"suggestions": []string{fmt.Sprintf("Run '%s --help' for its commands", c.CommandPath())}}
	return e
}

func exactArgs(n int, names string) cobra.PositionalArgs {
	return argsAndFlag(n, names, "", "")
}

// argsAndFlag is exactArgs for a command that takes a value in --flag: an
// argument too many is most likely that value, so the error says where it
// goes rather than that the n arguments are missing.
func argsAndFlag(n int, names, what, flag string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) < n {
			return tools.InvalidArgs("%s needs %s", c.CommandPath(), names)
		}
		if len(args) == n {
			return nil
		}
		takes := "takes no arguments"
		if n > 0 {
			takes = "takes only " + names
		}
		extra := args[n:]
		for i := range extra {
			extra[i] = strconv.Quote(extra[i])
		}
		noun := "argument"
		if len(extra) > 1 {
			noun += "s"
		}
		e := tools.InvalidArgs("%s %s, unexpected %s %s", c.CommandPath(), takes, noun, strings.Join(extra, " "))
		if flag != "" && !c.Flags().Changed(flag) {
			e.Message += fmt.Sprintf("; give the %s with --%s", what, flag)
		}
		e.Details = map[string]any{"suggestions": []string{fmt.Sprintf("Run '%s --help' for usage", c.CommandPath())}}
		return e
	}
}

// selection builds actor selection from flags and environment.
func (g *globals) selection() actor.Selection {
	sel := actor.Selection{DataDir: g.dataDir, ActorID: g.actorID}
	if sel.DataDir == "" {
		if env := os.Getenv("GRITE_HOME"); env != "" {
			sel.DataDir, sel.FromEnv = env, true
		}
	}
	return sel
}

func (g *globals) warn(msg string) {
	fmt.Fprintln(g.stderr, "warning:", msg)
}

// session opens the repository as the selected actor.
func (g *globals) session(ctx context.Context, writeFirst bool) (*tools.Session, error) {
	return tools.Open(ctx, tools.OpenOptions{Dir: ".", Selection: g.selection(), Warn: g.warn, WriteFirst: writeFirst})
}

// withSession runs fn in a session and prints its result.
func withSession[O any](g *globals, fn func(ctx context.Context, s *tools.Session) (O, error), human func(io.Writer, O)) error {
	return runSession(g, false, fn, human)
}

// withOp runs one operation in a session and prints its result; an
// operation marked WriteFirst has its view opened while it writes.
func withOp[I, O any](g *globals, op tools.Op[I, O], in I, human func(io.Writer, O)) error {
	return runSession(g, op.WriteFirst, func(ctx context.Context, s *tools.Session) (O, error) { return op.Call(ctx, s, in) }, human)
}

func runSession[O any](g *globals, writeFirst bool, fn func(ctx context.Context, s *tools.Session) (O, error), human func(io.Writer, O)) error {
	ctx := g.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	s, err := g.session(ctx, writeFirst)
	if err != nil {
		return g.reportErr(err)
	}
	defer func() { _ = s.Release() }() // the process exits next
	out, err := fn(ctx, s)
	if err != nil {
		return g.reportErr(err)
	}
	if s.PackDue() {
		packInBackground(s.RepoPath())
	}
	// Warnings went to stderr as they came; --json also carries them in
	// data.warnings, for scripts that read only stdout (claim_lost, say).
	if w := s.TakeWarnings(); len(w) > 0 && g.json {
		return g.emit(withWarnings(out, w), nil)
	}
	return g.emit(out, func(w io.Writer) { human(w, out) })
}

// withWarnings is data as a JSON object with a warnings list added.
func withWarnings(data any, warnings []string) any {
	b, err := json.Marshal(data)
	obj := map[string]json.RawMessage{}
	if err != nil || json.Unmarshal(b, &obj) != nil {
		return data // not an object: nowhere to put them (they are on stderr)
	}
	obj["warnings"], _ = json.Marshal(warnings)
	return obj
}

// withBareOp runs one operation in a session without an actor (init, actor
// commands, gc) and prints its result.
func withBareOp[I, O any](g *globals, op tools.Op[I, O], in I, human func(io.Writer, O)) error {
	s, err := tools.OpenBare(".", nil)
	if err != nil {
		return g.reportErr(err)
	}
	out, err := op.Call(context.Background(), s, in)
	if err != nil {
		return g.reportErr(err)
	}
	return g.emit(out, func(w io.Writer) { human(w, out) })
}

type envelope struct {
	SchemaVersion int          `json:"schema_version"`
	OK            bool         `json:"ok"`
	Data          any          `json:"data,omitempty"`
	Error         *tools.Error `json:"error,omitempty"`
}

func (g *globals) writeJSON(v any) {
	if err := writePrettyJSON(g.stdout, v); err != nil {
		fmt.Fprintln(g.stderr, "error: encode output:", err)
	}
}

func (g *globals) emit(data any, human func(io.Writer)) error {
	switch {
	case g.json:
		g.writeJSON(envelope{SchemaVersion: 1, OK: true, Data: data})
	case g.quiet && !g.quietPrints:
	default:
		human(g.stdout)
	}
	return nil
}

// quietly prints with human, or under --quiet with quiet: what a script
// needs from the command (the ID of a new issue, the IDs of a listing),
// which --quiet must not take away.
func quietly[O any](g *globals, human, quiet func(io.Writer, O)) func(io.Writer, O) {
	g.quietPrints = true
	return func(w io.Writer, o O) {
		if g.quiet {
			quiet(w, o)
			return
		}
		human(w, o)
	}
}

func (g *globals) reportErr(err error) error {
	return &reported{exit: g.fail(tools.AsError(err))}
}

func (g *globals) fail(e *tools.Error) int {
	if g.json {
		g.writeJSON(envelope{SchemaVersion: 1, OK: false, Error: e})
		fmt.Fprintf(g.stderr, "error: %s\n", e.Message)
	} else {
		fmt.Fprintf(g.stderr, "error: %s\n", e.Message)
		if c, ok := e.Details["candidates"].([]string); ok {
			fmt.Fprintf(g.stderr, "candidates:\n  %s\n", strings.Join(c, "\n  "))
		}
		if s := e.Suggestions(); len(s) > 0 {
			fmt.Fprintf(g.stderr, "Suggestions:\n  - %s\n", strings.Join(s, "\n  - "))
		}
	}
	return e.Code.ExitCode()
}
