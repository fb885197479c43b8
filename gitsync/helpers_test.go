package gitsync

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"grite/event"
	"grite/gitdir"
	"grite/internal/testrepo"
	"grite/wal"
)

// The Syncer runs git itself: give it the tests' fixed identity and no user
// or system config, as testrepo does for child processes.
func TestMain(m *testing.M) {
	testrepo.IsolateProcess()
	testrepo.RunMain(m)
}

var ctx = context.Background()

// transports are the two ways a fetch from a remote on this machine runs:
// grite copying the objects itself, and git fetch (which a remote with an
// upload-pack program of its own always goes through). Both must give the
// same result.
var transports = []struct {
	name string
	git  bool // set remote.origin.uploadpack, which sends the fetch through git
}{
	{"local copy", false},
	{"git fetch", true},
}

// clone is a clone of a bare remote with its own actor.
type clone struct {
	t     *testing.T
	dir   string
	repo  *gitdir.Repo
	actor event.ActorID
	clock uint64 // timestamp of the next event (ms)
}

func newClone(t *testing.T, remote string, viaGit bool) *clone {
	t.Helper()
	dir := testrepo.Clone(t, remote)
	if viaGit {
		testrepo.Git(t, dir, "config", "remote.origin.uploadpack", "git-upload-pack")
	}
	repo, err := gitdir.Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := &clone{t: t, dir: dir, repo: repo, clock: 1_700_000_000_000}
	if _, err := rand.Read(c.actor[:]); err != nil {
		t.Fatal(err)
	}
	return c
}

// write appends one WAL commit holding one new issue per title and returns
// the events' IDs.
func (c *clone) write(titles ...string) []event.EventID {
	c.t.Helper()
	var events []event.Event
	var ids []event.EventID
	for _, title := range titles {
		var issue event.IssueID
		if _, err := rand.Read(issue[:]); err != nil {
			c.t.Fatal(err)
		}
		c.clock++
		e := event.Event{IssueID: issue, Actor: c.actor, TS: c.clock, Kind: event.IssueCreated{Title: title, Labels: []string{}}}
		if err := e.Seal(nil); err != nil {
			c.t.Fatal(err)
		}
		events = append(events, e)
		ids = append(ids, e.ID)
	}
	if _, err := wal.Open(c.repo).Append(ctx, c.actor, events, time.UnixMilli(int64(c.clock))); err != nil {
		c.t.Fatal(err)
	}
	return ids
}

func (c *clone) syncer(cfg Config) *Syncer {
	if cfg.Remote == "" {
		cfg.Remote = "origin"
	}
	cfg.Actor = c.actor
	return New(c.repo, cfg)
}

// pull runs one Pull with a fresh Syncer.
func (c *clone) pull() (Result, error) {
	var res Result
	err := c.syncer(Config{}).Pull(ctx, &res)
	return res, err
}

// push runs one Push (no pull before it) with a fresh Syncer.
func (c *clone) push(cfg Config) (Result, error) {
	var res Result
	err := c.syncer(cfg).Push(ctx, &res)
	return res, err
}

func (c *clone) mustPull() Result {
	c.t.Helper()
	res, err := c.pull()
	if err != nil {
		c.t.Fatalf("pull: %v", err)
	}
	return res
}

func (c *clone) mustPush() Result {
	c.t.Helper()
	res, err := c.push(Config{})
	if err != nil {
		c.t.Fatalf("push: %v", err)
	}
	return res
}

func (c *clone) head() plumbing.Hash { return refOf(c.t, c.repo, wal.Ref) }

// refOf reads a ref of repo (zero when absent).
func refOf(t *testing.T, repo *gitdir.Repo, name string) plumbing.Hash {
	t.Helper()
	h, err := repo.ReadRef(name)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// openAt opens a bare remote (anew each time: a push changed it).
func openAt(t *testing.T, dir string) *gitdir.Repo {
	t.Helper()
	r, err := gitdir.At(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// walEvents lists the event IDs of a repository's WAL, sorted, with the
// commits holding them (newest first).
func walEvents(t *testing.T, repo *gitdir.Repo) (ids []string, commits []wal.Commit) {
	t.Helper()
	w := wal.Open(repo)
	head, err := w.Head()
	if err != nil {
		t.Fatal(err)
	}
	if head.IsZero() {
		return nil, nil
	}
	commits, err = w.ReadSince(ctx, head, plumbing.ZeroHash, wal.ReadOptions{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range commits {
		for _, e := range c.Events {
			ids = append(ids, e.ID.String())
		}
	}
	slices.Sort(ids)
	return ids, commits
}

func idStrings(groups ...[]event.EventID) []string {
	var out []string
	for _, g := range groups {
		for _, id := range g {
			out = append(out, id.String())
		}
	}
	slices.Sort(out)
	return out
}

// isAncestor reports whether a is an ancestor of (or equal to) b in dir.
func isAncestor(dir string, a, b plumbing.Hash) bool {
	_, err := testrepo.GitErr(dir, "merge-base", "--is-ancestor", a.String(), b.String())
	return err == nil
}

// firstParents lists the commits of ref in dir, newest first.
func firstParents(t *testing.T, dir, ref string) []string {
	t.Helper()
	out := testrepo.Git(t, dir, "rev-list", "--first-parent", ref)
	return strings.Split(out, "\n")
}

// raceOnFetch makes the remote of c serve each fetch through a wrapper
// that, once the fetch is served, pushes the next of rivals (commits
// already in rivalDir, each on top of the one before) to the remote's
// WAL, as another clone pushing between this clone's fetch and push.
// It returns the file counting the rival pushes.
func raceOnFetch(t *testing.T, c *clone, remote, rivalDir string, rivals []plumbing.Hash) string {
	t.Helper()
	dir := t.TempDir()
	count := filepath.Join(dir, "count")
	var list strings.Builder
	for _, h := range rivals {
		list.WriteString(h.String() + " ")
	}
	script := fmt.Sprintf(`#!/bin/sh
git upload-pack "$@" || exit $?
n=$(cat %[1]q 2>/dev/null || echo 0)
set -- %[2]s
[ "$n" -lt $# ] || exit 0
shift "$n"
echo $((n+1)) >%[1]q
(unset GIT_DIR GIT_PROTOCOL; git -C %[3]q push -q %[4]q "$1:refs/grite/wal") >/dev/null 2>&1
`, count, list.String(), rivalDir, remote)
	wrapper := filepath.Join(dir, "upload-pack-then-race")
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	testrepo.Git(t, c.dir, "config", "remote.origin.uploadpack", wrapper)
	return count
}

// rivalCommits appends n one-event commits in rival and returns them,
// oldest first.
func rivalCommits(rival *clone, n int) []plumbing.Hash {
	rival.t.Helper()
	var out []plumbing.Hash
	for i := range n {
		rival.write(fmt.Sprintf("rival %d", i))
		out = append(out, rival.head())
	}
	return out
}
