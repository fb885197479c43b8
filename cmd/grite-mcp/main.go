// Command grite-mcp is grite's stdio MCP server: one agent session, one
// actor. Only JSON-RPC goes to stdout; logs go to stderr.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"grite/mcp"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
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
	repo := fs.String("repo", envOr("GRITE_REPO", ""), "repository path (env GRITE_REPO; default: working directory)")
	actorID := fs.String("actor", envOr("GRITE_ACTOR", ""), "act as this existing actor (env GRITE_ACTOR)")
	label := fs.String("actor-label", envOr("GRITE_ACTOR_LABEL", ""), "reuse the oldest actor with this label or create it (env GRITE_ACTOR_LABEL)")
	readOnly := fs.Bool("read-only", envOr("GRITE_READ_ONLY", "") == "1" || envOr("GRITE_READ_ONLY", "") == "true", "register read-only tools only (env GRITE_READ_ONLY=1)")
	toolList := fs.String("tools", envOr("GRITE_TOOLS", ""), "comma-separated allow-list of tools (env GRITE_TOOLS)")
	level := fs.String("log-level", envOr("GRITE_LOG_LEVEL", "warn"), "debug, info, warn or error (env GRITE_LOG_LEVEL); logs go to stderr")
	version := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
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
