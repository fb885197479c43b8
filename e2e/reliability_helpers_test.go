package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"grite/crdt"
	"grite/event"
	"grite/internal/testrepo"
)

// Helpers of the reliability tests: seeded randomness, processes killed
// with SIGKILL, a raw stdio MCP client that can be killed mid-call, checks
// of a repository after crashes, an independent fold of every event, and
// the results report (scripts/reliability).

// relSeed is the seed of a reliability test: GRITE_RELIABILITY_SEED when
// set, else the clock. It is logged so that a failing run can be repeated
// (as far as process timing allows).
func relSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("GRITE_RELIABILITY_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("GRITE_RELIABILITY_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("seed %d (repeat with GRITE_RELIABILITY_SEED=%d)", seed, seed)
	return seed
}

func relRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) }

// relReport is one line of GRITE_RELIABILITY_REPORT: a scenario, its size
// and its outcome.
type relReport struct {
	Scenario   string  `json:"scenario"`
	Test       string  `json:"test"`
	Ops        int     `json:"ops"`
	Processes  int     `json:"processes"` // processes that wrote: CLI commands, MCP sessions
	Kills      int     `json:"kills"`
	Events     int     `json:"events"`
	Lost       int     `json:"lost"`
	Duplicated int     `json:"duplicated"`
	Converged  bool    `json:"converged"`
	Notes      string  `json:"notes"`
	Seed       uint64  `json:"seed,string"` // a string: jq's numbers are float64
	Short      bool    `json:"short"`
	Seconds    float64 `json:"seconds"`
}

var relReportMu sync.Mutex

// relWriteReport appends r as one JSON line to $GRITE_RELIABILITY_REPORT
// (nothing when unset). Call it once the scenario's checks have passed.
func relWriteReport(t *testing.T, r relReport) {
	t.Helper()
	r.Test, r.Short = t.Name(), testing.Short()
	t.Logf("report: %+v", r)
	path := os.Getenv("GRITE_RELIABILITY_REPORT")
	if path == "" {
		return
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	relReportMu.Lock()
	defer relReportMu.Unlock()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatalf("GRITE_RELIABILITY_REPORT: %v", err)
	}
	defer f.Close()
	if _, err := f.Write(append(b, '\n')); err != nil {
		t.Fatalf("GRITE_RELIABILITY_REPORT: %v", err)
	}
}

// relProcessLimit bounds one process of these tests, so a hang fails the
// test rather than the whole run.
const relProcessLimit = 3 * time.Minute

// relRun is a grite process that may have been killed.
type relRun struct {
	result
	killed  bool          // it died of the SIGKILL (it had not exited by itself)
	elapsed time.Duration // from the start to its exit
}

// relRunKilled runs grite in dir in a process group of its own and sends
// it SIGKILL after the delay (unless it exited before). Only grite itself
// is killed, the way an agent harness or the OOM killer ends one process:
// a `git fetch` or `git push` it started runs on as an orphan, and
// relRunKilled returns once every process of the group is gone, so the next
// command never overlaps the previous one's children.
func relRunKilled(t *testing.T, dir string, delay time.Duration, args ...string) relRun {
	t.Helper()
	cmd := exec.Command(testrepo.BuildBinaries(t).Grite, args...)
	cmd.Dir = dir
	cmd.Env = testrepo.Env()
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start grite %v: %v", args, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	timer := time.NewTimer(delay)
	defer timer.Stop()
	limit := time.NewTimer(relProcessLimit)
	defer limit.Stop()
	select {
	case <-done:
	case <-timer.C:
		cmd.Process.Signal(syscall.SIGKILL) // after an exit this is a no-op (pidfd)
		<-done
	case <-limit.C:
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
		t.Fatalf("grite %v still running after %v\nstderr: %s", args, relProcessLimit, e.String())
	}
	elapsed := time.Since(start)
	relWaitGroupGone(t, cmd.Process.Pid)
	r := relRun{result: result{args, o.String(), e.String(), cmd.ProcessState.ExitCode()}, elapsed: elapsed}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
		r.killed = true
	}
	return r
}

// relWaitGroupGone polls until no live process is left in process group
// pgid (zombies, which a container's init may never reap, do not count).
func relWaitGroupGone(t *testing.T, pgid int) {
	t.Helper()
	deadline := time.Now().Add(relProcessLimit)
	for relGroupAlive(pgid) {
		if time.Now().After(deadline) {
			t.Fatalf("processes of group %d still running after %v", pgid, relProcessLimit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func relGroupAlive(pgid int) bool {
	if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true // no /proc: kill(2) said the group still exists
	}
	want := strconv.Itoa(pgid)
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || i+2 > len(s) {
			continue
		}
		// After "pid (comm) ": state ppid pgrp ...
		f := strings.Fields(s[i+2:])
		if len(f) > 2 && f[2] == want && f[0] != "Z" && f[0] != "X" {
			return true
		}
	}
	return false
}

// relStaleRefLocks lists the <ref>.lock files under refs/ of the clone's
// git dir: what a writer killed between creating and renaming its lock
// leaves behind.
func relStaleRefLocks(t *testing.T, dir string) []string {
	t.Helper()
	var locks []string
	root := filepath.Join(gitDir(t, dir), "refs")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking
			}
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".lock") {
			locks = append(locks, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return locks
}

// relAgeLocks sets the lock files' mtime far enough back that gitdir takes
// them for what they are, a dead writer's (its stale age is 10 s): this
// stands for the time passing, so the test needs not sleep.
func relAgeLocks(t *testing.T, locks []string) {
	t.Helper()
	old := time.Now().Add(-time.Minute)
	for _, l := range locks {
		if err := os.Chtimes(l, old, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
}

// relRequireIntactRepo checks a clone after crashes: the WAL ref resolves to
// a commit, git fsck finds nothing wrong, `issue list` catches the view up
// without a word on stderr, and doctor reports every check healthy.
func relRequireIntactRepo(t *testing.T, dir string) {
	t.Helper()
	testrepo.Git(t, dir, "rev-parse", "--verify", "refs/grite/wal^{commit}")
	if out, err := testrepo.GitErr(dir, "fsck", "--no-dangling", "--no-progress"); err != nil || strings.Contains(out, "error") || strings.Contains(out, "missing") || strings.Contains(out, "broken") {
		t.Fatalf("git fsck --no-dangling: %v\n%s", err, out)
	}
	r := grite(t, dir, "issue", "list", "--json")
	if env := parseEnvelope(t, r); !env.OK || r.code != 0 || strings.TrimSpace(r.stderr) != "" {
		t.Fatalf("issue list after the crashes\n%s", r)
	}
	requireHealthy(t, dir)
}

// relWALRecords counts the event records in every commit of the clone's
// WAL (from the commit messages): more records than distinct events means
// an event was appended twice.
func relWALRecords(t *testing.T, dir string) int {
	t.Helper()
	if refOrEmpty(t, dir, "refs/grite/wal") == "" {
		return 0
	}
	_, records := remoteWALEvents(t, dir)
	return records
}

// relMissing returns the IDs of want that have is missing.
func relMissing(want, have []string) []string {
	set := map[string]bool{}
	for _, id := range have {
		set[id] = true
	}
	var out []string
	for _, id := range want {
		if !set[id] {
			out = append(out, id)
		}
	}
	return out
}

// relEventsOfWAL decodes every chunk of every commit of the clone's WAL
// with the event package, bypassing grite's reader and view.
func relEventsOfWAL(t *testing.T, dir string) []event.Event {
	t.Helper()
	var blobs []string
	for _, line := range strings.Split(testrepo.Git(t, dir, "rev-list", "--objects", "refs/grite/wal"), "\n") {
		f := strings.SplitN(line, " ", 2)
		if len(f) == 2 && strings.HasPrefix(f[1], "events/") && strings.HasSuffix(f[1], ".bin") {
			blobs = append(blobs, f[0])
		}
	}
	var events []event.Event
	for i, b := range catBatch(t, dir, blobs) {
		es, err := event.DecodeChunk(b)
		if err != nil {
			t.Fatalf("chunk %s: %v", blobs[i], err)
		}
		events = append(events, es...)
	}
	return events
}

// relRequireViewIsFold checks the clone's view against crdt.Fold of the
// given events, computed here: the same issues, and each issue's show data
// field by field.
func relRequireViewIsFold(t *testing.T, dir string, events []event.Event) {
	t.Helper()
	issues := crdt.Fold(events).Issues()
	var want []string
	for _, is := range issues {
		want = append(want, is.ID.String())
	}
	requireIDs(t, dir, want)
	for _, is := range issues {
		var got showOutput
		mustJSON(t, dir, &got, "issue", "show", is.ID.String())
		g := got.Issue
		var gotComments, wantComments, gotLinks, wantLinks, gotDeps, wantDeps []string
		for _, c := range g.Comments {
			gotComments = append(gotComments, c.EventID+" "+c.Actor+" "+c.Body)
		}
		for _, c := range is.Comments {
			wantComments = append(wantComments, c.EventID.String()+" "+c.Actor.String()+" "+c.Body)
		}
		for _, l := range g.Links {
			gotLinks = append(gotLinks, l.EventID+" "+l.URL)
		}
		for _, l := range is.Links {
			wantLinks = append(wantLinks, l.EventID.String()+" "+l.URL)
		}
		for _, d := range g.Deps {
			gotDeps = append(gotDeps, d.Target+" "+d.DepType)
		}
		for _, d := range is.Deps {
			wantDeps = append(wantDeps, d.Target.String()+" "+string(d.Type))
		}
		diffs := []struct {
			field     string
			got, want any
			same      bool
		}{
			{"title", g.Title, is.Title, g.Title == is.Title},
			{"body", g.Body, is.Body, g.Body == is.Body},
			{"state", g.State, is.State, g.State == string(is.State)},
			{"labels", g.Labels, is.Labels, slices.Equal(g.Labels, is.Labels)},
			{"assignees", g.Assignees, is.Assignees, slices.Equal(g.Assignees, is.Assignees)},
			{"comments", gotComments, wantComments, slices.Equal(gotComments, wantComments)},
			{"links", gotLinks, wantLinks, slices.Equal(gotLinks, wantLinks)},
			{"deps", gotDeps, wantDeps, slices.Equal(gotDeps, wantDeps)},
			{"created_by", g.CreatedBy, is.CreatedBy.String(), g.CreatedBy == is.CreatedBy.String()},
			{"created_ts", g.CreatedTS, is.CreatedTS, g.CreatedTS == is.CreatedTS},
			{"updated_ts", g.UpdatedTS, is.UpdatedTS, g.UpdatedTS == is.UpdatedTS},
			{"event_count", g.EventCount, is.EventCount, g.EventCount == is.EventCount},
		}
		for _, d := range diffs {
			if !d.same {
				t.Errorf("issue %s: %s is %v in the view, %v in the fold of every event", is.ID, d.field, d.got, d.want)
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// relMCP is a grite-mcp process spoken to over raw stdio (newline-delimited
// JSON-RPC), so that it can be killed at any moment and every answer that
// arrived whole before the kill is known.
type relMCP struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *lockedBuffer
	exited chan struct{} // closed once the process is reaped
	eof    chan struct{} // closed once stdout reached EOF

	mu      sync.Mutex
	answers map[int]relAnswer
	last    time.Time     // when the latest answer arrived
	arrived chan struct{} // closed and replaced on each answer
}

// relAnswer is one JSON-RPC response.
type relAnswer struct {
	Result *struct {
		IsError           bool            `json:"isError"`
		StructuredContent json.RawMessage `json:"structuredContent"`
		Content           []struct {
			Text string `json:"text"`
		} `json:"content"`
	} `json:"result"`
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// relStartMCP spawns grite-mcp in dir (in a process group of its own) and
// starts reading its answers.
func relStartMCP(t *testing.T, dir string, args ...string) *relMCP {
	t.Helper()
	m := &relMCP{stderr: &lockedBuffer{}, exited: make(chan struct{}), eof: make(chan struct{}),
		answers: map[int]relAnswer{}, arrived: make(chan struct{})}
	m.cmd = exec.Command(testrepo.BuildBinaries(t).MCP, args...)
	m.cmd.Dir = dir
	m.cmd.Env = testrepo.Env()
	m.cmd.Stderr = m.stderr
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var err error
	if m.stdin, err = m.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := m.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.cmd.Start(); err != nil {
		t.Fatalf("start grite-mcp: %v", err)
	}
	go m.read(stdout)
	go func() {
		<-m.eof // Wait closes stdout: read it all first
		m.cmd.Wait()
		close(m.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-m.exited:
		default:
			m.cmd.Process.Signal(syscall.SIGKILL)
			<-m.exited
		}
	})
	return m
}

// read records every complete answer line; a line cut off by the kill is
// not an answer.
func (m *relMCP) read(stdout io.Reader) {
	defer close(m.eof)
	r := bufio.NewReader(stdout)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return
		}
		var msg struct {
			ID *int `json:"id"`
			relAnswer
		}
		if json.Unmarshal(line, &msg) != nil || msg.ID == nil {
			continue // a notification, or not JSON-RPC
		}
		m.mu.Lock()
		m.answers[*msg.ID] = msg.relAnswer
		m.last = time.Now()
		close(m.arrived)
		m.arrived = make(chan struct{})
		m.mu.Unlock()
	}
}

// send writes one JSON-RPC message; an error means the process is gone.
func (m *relMCP) send(msg map[string]any) error {
	msg["jsonrpc"] = "2.0"
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	_, err = m.stdin.Write(append(b, '\n'))
	return err
}

// initialize sends initialize (id 0) and, once answered, the initialized
// notification. It returns false when the process died first.
func (m *relMCP) initialize(client string) bool {
	if m.send(map[string]any{"id": 0, "method": "initialize", "params": map[string]any{
		"protocolVersion": "2025-06-18", "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": client, "version": "1.0"},
	}}) != nil {
		return false
	}
	if _, ok := m.wait(0); !ok {
		return false
	}
	return m.send(map[string]any{"method": "notifications/initialized"}) == nil
}

// callTool sends tools/call with the id without waiting for the answer.
func (m *relMCP) callTool(id int, name string, args map[string]any) error {
	return m.send(map[string]any{"id": id, "method": "tools/call", "params": map[string]any{"name": name, "arguments": args}})
}

// wait returns the answer to id, or false once stdout ended without it
// (or after relProcessLimit).
func (m *relMCP) wait(id int) (relAnswer, bool) {
	limit := time.After(relProcessLimit)
	for {
		m.mu.Lock()
		a, ok := m.answers[id]
		arrived := m.arrived
		m.mu.Unlock()
		if ok {
			return a, true
		}
		select {
		case <-arrived:
		case <-m.eof:
			m.mu.Lock()
			a, ok := m.answers[id]
			m.mu.Unlock()
			return a, ok
		case <-limit:
			return relAnswer{}, false
		}
	}
}

// answered returns a copy of the answers so far.
func (m *relMCP) answered() map[int]relAnswer {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[int]relAnswer, len(m.answers))
	for k, v := range m.answers {
		out[k] = v
	}
	return out
}

// kill sends SIGKILL and returns once the process and every process of its
// group are gone and its stdout is read to the end.
func (m *relMCP) kill(t *testing.T) {
	t.Helper()
	m.cmd.Process.Signal(syscall.SIGKILL)
	<-m.exited
	relWaitGroupGone(t, m.cmd.Process.Pid)
}

// close ends the session cleanly (stdin closed) and requires exit 0.
func (m *relMCP) close(t *testing.T) {
	t.Helper()
	m.stdin.Close()
	<-m.exited
	if code := m.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("grite-mcp exited %d after stdin closed\nstderr: %s", code, m.stderr.String())
	}
}

// relToolOK decodes a successful tool answer's structured content into out.
func relToolOK(a relAnswer, out any) error {
	switch {
	case a.Error != nil:
		return fmt.Errorf("JSON-RPC error %d: %s", a.Error.Code, a.Error.Message)
	case a.Result == nil:
		return errors.New("answer without result")
	case a.Result.IsError:
		return fmt.Errorf("isError: %s", a.Result.StructuredContent)
	}
	return json.Unmarshal(a.Result.StructuredContent, out)
}
