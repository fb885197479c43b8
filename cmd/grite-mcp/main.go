// Command grite-mcp is grite's stdio MCP server: one agent session, one
// actor. Only JSON-RPC goes to stdout; logs go to stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"grite/mcp"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// onePAfterStart narrows the runtime to one P once the session has
// started (its first call answered), unless GOMAXPROCS is set. A started
// session's calls run one at a time, so a second P only adds scheduler
// spinning and thread hand-offs, and a swarm runs one server per agent on
// the same cores: eight sessions on two cores claimed faster and used less
// CPU with one P each. Starting, the second P lets the view open beside the
// handshake: a new session on one P took 30 ms longer to answer its first
// call. Numbers in docs/performance.md, "Swarm, packing and the disk".
func onePAfterStart() func() {
	if os.Getenv("GOMAXPROCS") != "" {
		return nil
	}
	return func() { runtime.GOMAXPROCS(1) }
}

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("grite-mcp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	// --help is answered below, on stdout; a bad flag gets its error on
	// stderr and a pointer to --help rather than the whole text.
	fs.Usage = func() {}
	repo := fs.String("repo", envOr("GRITE_REPO", ""), "the repository at `PATH`, fixed for the session (env GRITE_REPO; default: the working directory)")
	actorID := fs.String("actor", envOr("GRITE_ACTOR", ""), "act as the existing actor `ID` (env GRITE_ACTOR)")
	label := fs.String("actor-label", envOr("GRITE_ACTOR_LABEL", ""), "act as the oldest actor labelled `NAME`, created if there is none (env GRITE_ACTOR_LABEL)")
	readOnly := fs.Bool("read-only", envOr("GRITE_READ_ONLY", "") == "1" || envOr("GRITE_READ_ONLY", "") == "true", "offer the read-only tools only (env GRITE_READ_ONLY=1)")
	toolList := fs.String("tools", envOr("GRITE_TOOLS", ""), "offer only the tools in `LIST`, comma-separated; an unknown name fails at start-up (env GRITE_TOOLS)")
	level := fs.String("log-level", envOr("GRITE_LOG_LEVEL", "warn"), "log at `LEVEL`: debug, info, warn (the default) or error; logs go to stderr (env GRITE_LOG_LEVEL)")
	version := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(fs, stdout)
			return 0
		}
		fmt.Fprintln(stderr, "Run 'grite-mcp --help' for the flags.")
		return 2
	}
	if *version {
		fmt.Fprintln(stdout, "grite-mcp", mcp.Version)
		return 0
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "grite-mcp: unexpected arguments %q\n", fs.Args())
		return 2
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(stderr, "grite-mcp: invalid --log-level %q (want debug, info, warn or error)\n", *level)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lv}))
	var names []string
	for _, n := range strings.Split(*toolList, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	srv, err := mcp.New(mcp.Options{
		Repo: *repo, ActorID: *actorID, ActorLabel: *label,
		ReadOnly: *readOnly, Tools: names, Logger: logger,
		AfterFirstCall: onePAfterStart(),
	})
	if err != nil {
		fmt.Fprintf(stderr, "grite-mcp: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	logger.Info("serving", "repo", srv.Repo())
	if err := srv.Serve(ctx, stdin, stdout); err != nil {
		logger.Error("serve", "error", err)
		return 1
	}
	return 0
}

func usage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprint(w, `grite-mcp is grite's stdio MCP server. An MCP client starts it and speaks
JSON-RPC on its stdin and stdout; logs go to stderr. Each process is one agent
session, with an actor of its own unless --actor or --actor-label picks one.

Usage: grite-mcp [flags]

Flags (each can also be set by the environment variable it names):
`)
	fs.VisitAll(func(f *flag.Flag) {
		name, help := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  --%s", f.Name)
		if name != "" {
			fmt.Fprintf(w, " %s", name)
		}
		fmt.Fprintf(w, "\n        %s\n", help)
	})
}
