package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"grite/board"
	"grite/tools"
)

// serveResult is what serve prints once it listens.
type serveResult struct {
	URL   string `json:"url"`
	Addr  string `json:"addr"`
	Token bool   `json:"token_required"`
	Actor string `json:"actor_id"`
}

func serveCmd(g *globals) *cobra.Command {
	var addr, token string
	var open bool
	c := &cobra.Command{
		Use:   "serve [--addr 127.0.0.1:7777] [--open] [--token SECRET|auto]",
		Short: "Serve a live web board of the repository",
		Long: "Serve a live web board of the repository: what is ready, who holds what and until when, " +
			"what is blocked on what, what just finished; pages update as any process writes. " +
			"It binds to loopback by default; any other address needs --token (auto generates one).",
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return g.serve(addr, token, open)
		},
	}
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:7777", "address to listen on (host:port; port 0 picks a free one)")
	c.Flags().StringVar(&token, "token", "", "secret every request must carry; auto generates one (required off loopback)")
	c.Flags().BoolVar(&open, "open", false, "open the board in a browser (xdg-open)")
	return c
}

func (g *globals) serve(addr, token string, open bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return g.reportErr(tools.InvalidArgs("--addr %q is not host:port: %v", addr, err))
	}
	loopback := isLoopback(host)
	if token == "auto" {
		var b [16]byte
		rand.Read(b[:])
		token = hex.EncodeToString(b[:])
	}
	if !loopback && token == "" {
		e := tools.InvalidArgs("--addr %s is not a loopback address: anyone who can reach it could read and write the issues, so it needs --token", addr)
		e.Details = map[string]any{"suggestions": []string{"Pass --token auto to have one generated and printed", "Bind 127.0.0.1 (the default) to serve this machine only"}}
		return g.reportErr(e)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := g.session(ctx, false)
	if err != nil {
		return g.reportErr(err)
	}
	defer func() { _ = s.Close() }()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return g.reportErr(&tools.Error{Code: tools.CodeIO, Message: fmt.Sprintf("listen on %s: %v", addr, err)})
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	opts := board.Options{Token: token, CookieName: "grite_token_" + port}
	if loopback {
		// Only names of this machine: a page of another site that a DNS
		// rebinding points at 127.0.0.1 names its own host.
		for _, h := range []string{host, "localhost", "127.0.0.1", "[::1]", "::1"} {
			opts.Hosts = append(opts.Hosts, strings.ToLower(net.JoinHostPort(strings.Trim(h, "[]"), port)))
		}
	}
	srv, err := board.New(ctx, s, opts)
	if err != nil {
		_ = ln.Close()
		return g.reportErr(err)
	}
	defer func() { _ = srv.Close() }()
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	urlHost := host
	if host == "" || host == "0.0.0.0" || host == "::" {
		urlHost = "localhost"
	}
	u := "http://" + net.JoinHostPort(urlHost, port) + "/"
	if token != "" {
		u += "?token=" + token
	}
	res := serveResult{URL: u, Addr: ln.Addr().String(), Token: token != "", Actor: s.Actor.ID.String()}
	_ = g.emit(res, func(w io.Writer) {
		fmt.Fprintf(w, "grite board: %s\n", u)
		if !loopback {
			fmt.Fprintf(w, "listening on %s; every request needs the token (the address above carries it once)\n", ln.Addr())
		}
		fmt.Fprintln(w, "Ctrl-C stops it")
	})
	if f, ok := g.stdout.(interface{ Flush() error }); ok {
		_ = f.Flush()
	}
	if open {
		if err := exec.Command("xdg-open", u).Start(); err != nil {
			g.warn("could not open a browser (" + err.Error() + "); open " + u)
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return g.reportErr(&tools.Error{Code: tools.CodeIO, Message: "serve: " + err.Error()})
		}
	case <-ctx.Done():
	}
	_ = srv.Close() // ends the event streams, which Shutdown would wait for
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(shut) // past its timeout, the process exits anyway
	return nil
}

// isLoopback reports whether host names this machine only.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
