package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"grite/internal/testrepo"
)

// syncOutput is the data of `grite sync --json` (docs/cli.md decision 4).
type syncOutput struct {
	Pulled        bool       `json:"pulled"`
	Pushed        bool       `json:"pushed"`
	WALHead       string     `json:"wal_head"`
	RemoteWALHead string     `json:"remote_wal_head"`
	Remote        string     `json:"remote"`
	EventsPulled  int        `json:"events_pulled"`
	EventsPushed  int        `json:"events_pushed"`
	EventsRebased int        `json:"events_rebased"`
	Rebased       bool       `json:"rebased"`
	RemoteEmpty   bool       `json:"remote_was_empty"`
	Retries       int        `json:"retries"`
	Attempts      int        `json:"attempts"`
	LocksLost     []lockLost `json:"locks_lost"`
	Message       string     `json:"message"`
	// Warnings are on stderr too; --json adds them to data when there
	// are any.
	Warnings []string `json:"warnings,omitempty"`
}

// lockLost is a claim or lock this clone lost to the remote's.
type lockLost struct {
	Resource      string `json:"resource"`
	LocalOwner    string `json:"local_owner"`
	Holder        string `json:"holder"`
	ExpiresUnixMS uint64 `json:"expires_unix_ms"`
}

// syncRemoteAndClones makes a bare remote and n clones of it. Each clone
// gets its own actor from its first grite command.
func syncRemoteAndClones(t *testing.T, n int) (remote string, clones []string) {
	t.Helper()
	remote = testrepo.NewBare(t)
	for range n {
		clones = append(clones, testrepo.Clone(t, remote))
	}
	return remote, clones
}

// mustSync runs `grite sync --json` with extra flags and requires success.
// It decodes strictly (decodeStrict), so the copy of the output type
// cannot drift from what grite prints.
func mustSync(t *testing.T, dir string, flags ...string) syncOutput {
	t.Helper()
	var out syncOutput
	mustStrict(t, dir, &out, append([]string{"sync"}, flags...)...)
	return out
}

// parseEnvelopeErr is parseEnvelope for goroutines other than the test's:
// it returns an error instead of stopping the test.
func parseEnvelopeErr(r result) (envelope, error) {
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	var env envelope
	if err := dec.Decode(&env); err != nil {
		return env, fmt.Errorf("stdout is not a JSON envelope: %v\n%s", err, r)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return env, fmt.Errorf("stdout holds more than one JSON document\n%s", r)
	}
	if env.SchemaVersion != 1 || env.OK != (r.code == 0) || (env.OK && env.Data == nil) || (!env.OK && env.Error == nil) {
		return env, fmt.Errorf("malformed envelope or exit code\n%s", r)
	}
	return env, nil
}

// gritJSONData runs grite --json in a goroutine-safe way and decodes data
// into out on success.
func gritJSONData(t *testing.T, dir string, out any, args ...string) error {
	r := grite(t, dir, append(args, "--json")...)
	env, err := parseEnvelopeErr(r)
	if err != nil {
		return err
	}
	if !env.OK {
		return fmt.Errorf("want success\n%s", r)
	}
	if out != nil {
		if err := json.Unmarshal(env.Data, out); err != nil {
			return fmt.Errorf("decode data: %v\n%s", err, r)
		}
	}
	return nil
}

// rawData runs grite --json, requires success and returns data re-encoded
// canonically (sorted keys, no spacing), so two clones' answers can be
// compared byte for byte.
func rawData(t *testing.T, dir string, args ...string) string {
	t.Helper()
	var v any
	mustJSON(t, dir, &v, args...)
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// viewState is everything a clone's view says: the issue list and the full
// show of every issue, canonically encoded.
type viewState struct {
	list  string
	shows map[string]string // issue ID -> show data
}

func readViewState(t *testing.T, dir string) viewState {
	t.Helper()
	s := viewState{list: rawData(t, dir, "issue", "list"), shows: map[string]string{}}
	for _, id := range listIDs(t, dir) {
		s.shows[id] = rawData(t, dir, "issue", "show", id)
	}
	return s
}

// requireSameView fails unless two clones' views are identical.
func requireSameView(t *testing.T, nameA string, a viewState, nameB string, b viewState) {
	t.Helper()
	if a.list != b.list {
		t.Errorf("issue list differs between %s and %s:\n%s: %s\n%s: %s", nameA, nameB, nameA, a.list, nameB, b.list)
	}
	ids := sortedKeys(a.shows)
	if got := sortedKeys(b.shows); !slices.Equal(ids, got) {
		t.Fatalf("issue IDs differ between %s and %s: %v vs %v", nameA, nameB, ids, got)
	}
	for _, id := range ids {
		if a.shows[id] != b.shows[id] {
			t.Errorf("issue show %s differs between %s and %s:\n%s: %s\n%s: %s", id, nameA, nameB, nameA, a.shows[id], nameB, b.shows[id])
		}
	}
}

// exportedEventIDs returns the event IDs of `grite export --format json`
// and fails if any appears twice.
func exportedEventIDs(t *testing.T, dir string) []string {
	t.Helper()
	var out struct {
		Events []eventJSON `json:"events"`
	}
	mustJSON(t, dir, &out, "export", "--format", "json")
	var ids []string
	seen := map[string]bool{}
	for _, e := range out.Events {
		if seen[e.EventID] {
			t.Fatalf("export in %s lists event %s twice", dir, e.EventID)
		}
		seen[e.EventID] = true
		ids = append(ids, e.EventID)
	}
	slices.Sort(ids)
	return ids
}

// refOrEmpty is the commit ref points to in dir, or "" when it is absent.
func refOrEmpty(t *testing.T, dir, ref string) string {
	t.Helper()
	out, err := testrepo.GitErr(dir, "rev-parse", "--verify", "-q", ref)
	if err != nil {
		return ""
	}
	return out
}

// closedLoopbackPort returns a loopback TCP port nothing listens on (it was
// free a moment ago: the kernel hands out ephemeral ports round-robin, so it
// is not reused right away).
func closedLoopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// startGitDaemon serves every repository under base with `git daemon`
// (fetch and push) on a free loopback port and returns the port. The daemon
// is killed when the test ends. It skips the test when this git has no
// daemon.
func startGitDaemon(t *testing.T, base string) int {
	t.Helper()
	if out, err := exec.Command("git", "daemon", "--help").CombinedOutput(); err != nil {
		t.Skipf("git daemon is not available (git daemon --help: %v: %s)", err, bytes.TrimSpace(out))
	}
	logPath := filepath.Join(t.TempDir(), "daemon.log")
	for attempt := 0; attempt < 3; attempt++ {
		port := closedLoopbackPort(t)
		// A file, not a pipe: the daemon's per-connection children inherit
		// it, and Wait must not wait for them to close it.
		logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("git", "daemon", "--export-all", "--enable=receive-pack", "--informative-errors",
			"--base-path="+base, fmt.Sprintf("--port=%d", port), "--listen=127.0.0.1", "--reuseaddr", "--verbose")
		cmd.Env = testrepo.Env()
		cmd.Stdout, cmd.Stderr = logFile, logFile
		// `git daemon` runs git-daemon as a child, which forks one more
		// per connection: give them a process group of their own so the
		// cleanup ends exactly these processes.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			logFile.Close()
			t.Fatalf("start git daemon: %v", err)
		}
		exited := make(chan struct{}) // closed once the daemon has exited
		go func() { cmd.Wait(); logFile.Close(); close(exited) }()
		pgid := cmd.Process.Pid
		t.Cleanup(func() {
			select {
			case <-exited: // reaped: its pid may be reused, leave it alone
			default:
				syscall.Kill(-pgid, syscall.SIGKILL)
				<-exited
			}
		})
		if waitListening(port, exited) {
			return port
		}
		// It exited (most likely the port was taken meanwhile): try another.
	}
	log, _ := os.ReadFile(logPath)
	t.Fatalf("git daemon did not start listening:\n%s", log)
	return 0
}

// waitListening polls until the port accepts connections (true) or the
// daemon exits or 20 s pass (false).
func waitListening(port int, exited <-chan struct{}) bool {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return true
		}
		select {
		case <-exited:
			return false
		case <-tick.C:
		}
	}
	return false
}

// twoClonesSharing makes a bare remote and two clones that both hold one
// issue with title, synced; it returns the remote, the clones and the issue.
func twoClonesSharing(t *testing.T, title string) (remote, a, b, issue string) {
	t.Helper()
	remote, clones := syncRemoteAndClones(t, 2)
	a, b = clones[0], clones[1]
	issue = create(t, a, title)
	mustSync(t, a)
	mustSync(t, b)
	return remote, a, b, issue
}

// raceAfterFetch makes clone fetch from origin through an upload-pack
// wrapper that, once a fetch is served, has rival comment on issue and
// sync: another clone pushing between this clone's fetch and its push.
// times > 0 limits it to the first that many fetches. (The rival's output
// is discarded: the wrapper's stdout is the protocol.)
func raceAfterFetch(t *testing.T, clone, rival, issue string, times int) {
	t.Helper()
	bin := testrepo.BuildBinaries(t).Grite
	dir := t.TempDir()
	script := "#!/bin/sh\ngit upload-pack \"$@\" || exit $?\n"
	if times > 0 {
		script += fmt.Sprintf("n=$(cat %[1]q 2>/dev/null || echo 0)\n[ \"$n\" -ge %[2]d ] && exit 0\necho $((n+1)) >%[1]q\n", filepath.Join(dir, "count"), times)
	}
	script += fmt.Sprintf("(unset GIT_DIR GIT_PROTOCOL; cd %q && %q issue comment %s --body \"rival was faster\" && %q sync) >/dev/null 2>&1\n", rival, bin, issue, bin)
	wrapper := filepath.Join(dir, "upload-pack-then-race")
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	testrepo.Git(t, clone, "config", "remote.origin.uploadpack", wrapper)
}
