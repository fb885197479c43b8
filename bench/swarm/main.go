// Command swarm is the claim half of bench/swarm.sh: it starts N grite-mcp
// sessions in one repository, each its own actor, and lets them drain the
// ready queue at once, each repeating issue_claim {next: true} and then
// issue_update {state: closed} until nothing is ready. It speaks the real
// MCP protocol over stdio (mcp-go's client), times every call from the
// client's side, and checks that no issue was claimed twice.
//
// With -count-wal it instead counts the events in a repository's WAL, all
// and distinct, for the sync half's duplicate check. With -probe-disk it
// times the creation of small files in a directory (which it leaves
// behind): every number of the bench moves with that, and on some disks
// it is several times slower for minutes after mass removals
// (docs/performance.md).
//
//	go run ./bench/swarm -mcp ./grite-mcp -dir REPO -sessions 8
//	go run ./bench/swarm -count-wal -dir REPO
//	go run ./bench/swarm -probe-disk -dir SCRATCH
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"grite/event"
	"grite/gitdir"
	"grite/wal"
)

func main() {
	bin := flag.String("mcp", "grite-mcp", "grite-mcp binary")
	dir := flag.String("dir", ".", "repository to drain")
	sessions := flag.Int("sessions", 8, "concurrent sessions, one actor each")
	deadline := flag.Duration("deadline", 2*time.Minute, "give up on the drain after this long")
	countWAL := flag.Bool("count-wal", false, "print the WAL's event count and distinct event count, and exit")
	probeDisk := flag.Bool("probe-disk", false, "print how long creating a small file in -dir takes, and exit")
	flag.Parse()
	if *probeDisk {
		if err := probe(*dir); err != nil {
			fmt.Fprintln(os.Stderr, "swarm:", err)
			os.Exit(1)
		}
		return
	}
	if *countWAL {
		if err := count(*dir); err != nil {
			fmt.Fprintln(os.Stderr, "swarm:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*bin, *dir, *sessions, *deadline); err != nil {
		fmt.Fprintln(os.Stderr, "swarm:", err)
		os.Exit(1)
	}
}

// session is one grite-mcp process and what it did.
type session struct {
	c       *client.Client
	claims  []time.Duration
	closes  []time.Duration
	claimed []string
}

func start(ctx context.Context, bin, dir string, n int) (*session, error) {
	tr := transport.NewStdioWithOptions(bin, nil, []string{"--actor-label", fmt.Sprintf("swarm%d", n)},
		transport.WithCommandFunc(func(ctx context.Context, command string, env, args []string) (*exec.Cmd, error) {
			cmd := exec.CommandContext(ctx, command, args...)
			cmd.Dir, cmd.Stderr = dir, os.Stderr
			return cmd, nil
		}))
	c := client.NewClient(tr)
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	req := mcpgo.InitializeRequest{}
	req.Params.ProtocolVersion = mcpgo.LATEST_PROTOCOL_VERSION
	req.Params.ClientInfo = mcpgo.Implementation{Name: "swarm-bench", Version: "1"}
	if _, err := c.Initialize(ctx, req); err != nil {
		return nil, err
	}
	s := &session{c: c}
	// One read first, so that opening the session's view is not timed.
	if _, _, err := s.call(ctx, "whoami", map[string]any{}); err != nil {
		return nil, err
	}
	return s, nil
}

// call runs a tool; a tool error comes back as its code.
func (s *session) call(ctx context.Context, name string, args map[string]any) (map[string]any, string, error) {
	req := mcpgo.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	res, err := s.c.CallTool(ctx, req)
	if err != nil {
		return nil, "", err
	}
	var data map[string]any
	b, _ := json.Marshal(res.StructuredContent)
	_ = json.Unmarshal(b, &data)
	if res.IsError {
		code, _ := data["code"].(string)
		if code == "" {
			if e, ok := data["error"].(map[string]any); ok {
				code, _ = e["code"].(string)
			}
		}
		return data, code, nil
	}
	return data, "", nil
}

// drain claims and closes until nothing is ready.
func (s *session) drain(ctx context.Context) error {
	for ctx.Err() == nil {
		t0 := time.Now()
		data, code, err := s.call(ctx, "issue_claim", map[string]any{"next": true})
		if err != nil {
			return err
		}
		s.claims = append(s.claims, time.Since(t0))
		switch code {
		case "":
		case "not_found":
			return nil
		default:
			return fmt.Errorf("issue_claim failed with %s: %v", code, data)
		}
		id, _ := data["issue_id"].(string)
		s.claimed = append(s.claimed, id)
		t0 = time.Now()
		if data, code, err := s.call(ctx, "issue_update", map[string]any{"id": id, "state": "closed"}); err != nil || code != "" {
			return fmt.Errorf("close %s: %v %s %v", id, err, code, data)
		}
		s.closes = append(s.closes, time.Since(t0))
	}
	return ctx.Err()
}

func run(bin, dir string, n int, deadline time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	ss := make([]*session, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ss[i], errs[i] = start(ctx, bin, dir, i+1)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	defer func() {
		for _, s := range ss {
			_ = s.c.Close()
		}
	}()
	go_ := make(chan struct{})
	began := time.Now()
	for i, s := range ss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-go_
			errs[i] = s.drain(ctx)
		}()
	}
	close(go_)
	wg.Wait()
	wall := time.Since(began)
	if err := errors.Join(errs...); err != nil {
		return err
	}
	var claims, closes []time.Duration
	var ids []string
	for _, s := range ss {
		claims = append(claims, s.claims...)
		closes = append(closes, s.closes...)
		ids = append(ids, s.claimed...)
	}
	slices.Sort(ids)
	doubles := len(ids) - len(slices.Compact(slices.Clone(ids)))
	slices.Sort(claims)
	slices.Sort(closes)
	fmt.Printf("sessions %d, issues claimed %d, double claims %d, wall %.2f s\n", n, len(ids), doubles, wall.Seconds())
	fmt.Printf("issue_claim (%d calls, the final not_found ones included): p50 %s  p90 %s  p99 %s  max %s\n",
		len(claims), ms(pct(claims, 50)), ms(pct(claims, 90)), ms(pct(claims, 99)), ms(pct(claims, 100)))
	fmt.Printf("issue_update close (%d calls): p50 %s  p99 %s  max %s\n", len(closes), ms(pct(closes, 50)), ms(pct(closes, 99)), ms(pct(closes, 100)))
	out, _ := json.Marshal(map[string]any{"sessions": n, "claimed": len(ids), "double_claims": doubles,
		"claim_p50_ms": msf(pct(claims, 50)), "claim_p99_ms": msf(pct(claims, 99)), "claim_max_ms": msf(pct(claims, 100)),
		"close_p50_ms": msf(pct(closes, 50)), "wall_s": wall.Seconds()})
	fmt.Printf("RESULT %s\n", out)
	if doubles > 0 {
		return fmt.Errorf("%d issues were claimed twice", doubles)
	}
	return nil
}

// count prints "<events> <distinct events>" of the WAL in dir.
func count(dir string) error {
	repo, err := gitdir.Discover(dir)
	if err != nil {
		return err
	}
	w := wal.Open(repo)
	head, err := w.Head()
	if err != nil {
		return err
	}
	all, distinct := 0, map[event.EventID]bool{}
	err = w.Walk(context.Background(), head, wal.ReadOptions{}, func(c wal.Commit) error {
		for _, e := range c.Events {
			all++
			distinct[e.ID] = true
		}
		return nil
	})
	fmt.Println(all, len(distinct))
	return err
}

// pct is the nearest-rank percentile of sorted durations.
func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := (p*len(d) + 99) / 100
	return d[max(i, 1)-1]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", msf(d)) }
func msf(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

// probe creates 200 small files under dir/probe (kept: removing them would
// slow the disk it measures) and prints the median time of one.
func probe(dir string) error {
	d, err := os.MkdirTemp(dir, "probe")
	if err != nil {
		return err
	}
	times := make([]time.Duration, 200)
	for i := range times {
		start := time.Now()
		if err := os.WriteFile(fmt.Sprintf("%s/%d", d, i), []byte("probe\n"), 0o644); err != nil {
			return err
		}
		times[i] = time.Since(start)
	}
	slices.Sort(times)
	fmt.Printf("disk: creating a small file takes %d µs (median of %d; 20-30 µs on a quiet disk of the 2-core machine)\n", times[len(times)/2].Microseconds(), len(times))
	return nil
}
