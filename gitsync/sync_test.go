package gitsync

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"grite/event"
	"grite/internal/testrepo"
	"grite/lock"
	"grite/wal"
)

// A pull fetches the remote's new WAL history into the tracking ref,
// validates it and fast-forwards the local WAL to it, reporting each new
// event once; a later pull brings only what is newer. Both transports give
// the same result.
func TestPullFastForwardsToNewRemoteHistory(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			remote := testrepo.NewBare(t)
			a := newClone(t, remote, false)
			first := append(a.write("one", "two"), a.write("three")...)
			pushed := a.mustPush()
			if !pushed.Pushed || pushed.EventsPushed != 3 || !pushed.RemoteEmpty || pushed.Attempts != 1 {
				t.Fatalf("first push: %+v", pushed)
			}

			b := newClone(t, remote, tr.git)
			if local := b.syncer(Config{}).localRemote() != nil; local == tr.git {
				t.Fatalf("fetch copies locally: %v, want %v", local, !tr.git)
			}
			res := b.mustPull()
			if !res.Pulled || res.EventsPulled != 3 || res.RemoteEmpty || res.Rebased || res.LocalHead != a.head() || res.RemoteHead != a.head() {
				t.Fatalf("pull: %+v, want 3 events pulled and the local WAL at %s", res, a.head())
			}
			var got []event.EventID
			for _, e := range res.NewEvents {
				got = append(got, e.ID)
			}
			if !slices.Equal(idStrings(got), idStrings(first)) {
				t.Fatalf("new events %v, want %v", idStrings(got), idStrings(first))
			}
			if b.head() != a.head() || refOf(t, b.repo, b.syncer(Config{}).TrackingRef()) != a.head() {
				t.Fatalf("local WAL %s, tracking ref %s, want both at %s", b.head(), refOf(t, b.repo, b.syncer(Config{}).TrackingRef()), a.head())
			}

			if again := b.mustPull(); again.EventsPulled != 0 || len(again.NewEvents) != 0 || !again.Pulled {
				t.Fatalf("pull with nothing new: %+v", again)
			}
			later := a.write("four")
			a.mustPush()
			res = b.mustPull()
			if res.EventsPulled != 1 || len(res.NewEvents) != 1 || res.NewEvents[0].ID != later[0] || b.head() != a.head() {
				t.Fatalf("pull of one newer commit: %+v", res)
			}
			if ids, _ := walEvents(t, b.repo); !slices.Equal(ids, idStrings(first, later)) {
				t.Fatalf("b's WAL holds %v", ids)
			}
		})
	}
}

// Local events the remote lacks, written on a history that the remote has
// since moved past, are re-appended by a pull as one new commit on top of
// the remote head: the same event IDs, this clone's actor, the old local
// commit left behind. The remote's history is only ever fast-forwarded.
func TestPullReappendsLocalOnlyEventsOnTheRemoteHead(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			remote := testrepo.NewBare(t)
			a := newClone(t, remote, false)
			base := a.write("base")
			a.mustPush()
			b := newClone(t, remote, tr.git)
			b.mustPull()

			x := a.write("x from a")
			a.mustPush()
			remoteHead := a.head()
			y := b.write("y from b", "z from b")
			diverged := b.head()

			res := b.mustPull()
			if !res.Rebased || res.EventsRebased != 2 || res.EventsPulled != 1 || len(res.NewEvents) != 1 || res.NewEvents[0].ID != x[0] {
				t.Fatalf("pull over diverged history: %+v, want x pulled and y, z re-appended", res)
			}
			head := b.head()
			if head == diverged || res.LocalHead != head || isAncestor(b.dir, diverged, head) {
				t.Fatalf("local WAL %s: want a new commit, not one descending from %s", head, diverged)
			}
			if parent := testrepo.Git(t, b.dir, "rev-parse", head.String()+"^"); parent != remoteHead.String() {
				t.Fatalf("re-appended commit's parent %s, want the remote head %s", parent, remoteHead)
			}
			ids, commits := walEvents(t, b.repo)
			if !slices.Equal(ids, idStrings(base, x, y)) {
				t.Fatalf("b's WAL holds %v, want base, x and y", ids)
			}
			var top []event.EventID
			newest := commits[len(commits)-1]
			for _, e := range newest.Events {
				top = append(top, e.ID)
			}
			if !slices.Equal(idStrings(top), idStrings(y)) || newest.Meta.ActorID != b.actor {
				t.Fatalf("re-appended commit holds %v by %s, want y's events by %s", idStrings(top), newest.Meta.ActorID, b.actor)
			}
			if got := refOf(t, openAt(t, remote), wal.Ref); got != remoteHead {
				t.Fatalf("a pull moved the remote to %s", got)
			}

			pushed := b.mustPush()
			if !pushed.Pushed || pushed.EventsPushed != 2 || pushed.Retries != 0 {
				t.Fatalf("push of the re-appended commit: %+v", pushed)
			}
			if got := refOf(t, openAt(t, remote), wal.Ref); got != head || !isAncestor(remote, remoteHead, got) {
				t.Fatalf("remote at %s, want a fast-forward from %s to %s", got, remoteHead, head)
			}
			if res := a.mustPull(); res.EventsPulled != 2 || res.Rebased || a.head() != head {
				t.Fatalf("a's pull of the re-appended commit: %+v", res)
			}
		})
	}
}

// A push that finds the remote moved on (another clone pushed since this
// one last fetched) pulls, which re-appends the local events on the new
// remote head, and pushes again; a rival that keeps pushing in between is
// outlasted, or, once the retry budget is spent, the push gives up with
// PushRejected and the local events stay in the local WAL. Every loop is
// bounded: the scheduled retries always, more only within the budget.
func TestPushRetriesWhileOtherClonesPushInBetween(t *testing.T) {
	for _, tc := range []struct {
		name    string
		between int           // rival pushes between this clone's fetch and push
		budget  time.Duration // Config.RetryBudget
		fails   bool
	}{
		{"no rival after the first fetch", 0, DefaultRetryBudget, false},
		{"a rival after the first fetch", 1, DefaultRetryBudget, false},
		{"a rival after every fetch, no budget", len(Backoff), 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			remote := testrepo.NewBare(t)
			a := newClone(t, remote, false)
			base := a.write("base")
			a.mustPush()
			b := newClone(t, remote, false)
			b.mustPull()
			rival := newClone(t, remote, false)
			rival.mustPull()
			rivals := rivalCommits(rival, 1+tc.between)
			// The first rival push lands before b pushes at all.
			testrepo.Git(t, rival.dir, "push", "-q", remote, rivals[0].String()+":"+wal.Ref)
			count := raceOnFetch(t, b, remote, rival.dir, rivals[1:])

			mine := b.write("mine")
			res, err := b.push(Config{RetryBudget: tc.budget})
			remoteHead := refOf(t, openAt(t, remote), wal.Ref)
			if n, _ := os.ReadFile(count); tc.between > 0 && strings.TrimSpace(string(n)) != strconv.Itoa(tc.between) {
				t.Fatalf("the rival pushed %q times between fetch and push, want %d", n, tc.between)
			}
			if !isAncestor(remote, rivals[len(rivals)-1], remoteHead) {
				t.Fatalf("remote at %s lost the rival's %s", remoteHead, rivals[len(rivals)-1])
			}
			if ids, _ := walEvents(t, b.repo); !slices.Contains(ids, mine[0].String()) || !slices.Contains(ids, base[0].String()) {
				t.Fatalf("b's WAL lost its event: %v", ids)
			}
			if tc.fails {
				var re *RemoteError
				if !errors.As(err, &re) || re.Kind != PushRejected || re.Attempts != 1+len(Backoff) || re.RefLockRace {
					t.Fatalf("push against a rival that always wins: %v (%+v), want PushRejected after %d attempts", err, re, 1+len(Backoff))
				}
				if remoteHead != rivals[len(rivals)-1] {
					t.Fatalf("remote at %s, want the rival's last push %s", remoteHead, rivals[len(rivals)-1])
				}
				// Once the race stops, the next push delivers the event
				// (b last fetched before the rival's last push: one retry).
				testrepo.Git(t, b.dir, "config", "--unset", "remote.origin.uploadpack")
				if res := b.mustPush(); !res.Pushed || res.Retries != 1 {
					t.Fatalf("push after the race stopped: %+v", res)
				}
				if got := refOf(t, openAt(t, remote), wal.Ref); got != b.head() || !isAncestor(remote, remoteHead, got) {
					t.Fatalf("remote at %s, want b's %s fast-forwarded from %s", got, b.head(), remoteHead)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantRetries := 1 + tc.between
			if !res.Pushed || res.Retries != wantRetries || res.Attempts != wantRetries+1 || !res.Rebased ||
				res.EventsRebased != 1 || res.EventsPulled != 1+tc.between || res.EventsPushed != 1 {
				t.Fatalf("push: %+v, want %d retries, the local event re-appended and pushed once", res, wantRetries)
			}
			chain := firstParents(t, remote, wal.Ref)
			want := []string{b.head().String()}
			for i := len(rivals) - 1; i >= 0; i-- {
				want = append(want, rivals[i].String())
			}
			if !slices.Equal(chain[:len(want)], want) {
				t.Fatalf("remote history %v, want b's commit on the rivals' %v", chain, want)
			}
		})
	}
}

// A remote commit that fails validation stops the pull before the local
// WAL moves (the error names the commit), though the fetch into the
// tracking ref is done, as git fetch's would be.
func TestPullValidatesRemoteHistoryBeforeMovingTheLocalWAL(t *testing.T) {
	for _, tr := range transports {
		for _, tc := range []struct {
			name    string
			require bool                                                                  // RequireSignatures
			bad     func(t *testing.T, remote string, parent plumbing.Hash) plumbing.Hash // the remote's new head
			is      error
		}{
			{"garbage chunk", false, garbageCommit, nil},
			{"unsigned events where signatures are required", true, nil, event.ErrBadSignature},
		} {
			t.Run(tr.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				remote := testrepo.NewBare(t)
				a := newClone(t, remote, false)
				a.write("base")
				a.mustPush()
				bad := refOf(t, openAt(t, remote), wal.Ref)
				if tc.bad != nil {
					bad = tc.bad(t, remote, bad)
					testrepo.Git(t, remote, "update-ref", wal.Ref, bad.String())
				}
				b := newClone(t, remote, tr.git)
				b.write("b's own")
				before := b.head()

				var res Result
				s := b.syncer(Config{RequireSignatures: tc.require})
				err := s.Pull(ctx, &res)
				var we *wal.Error
				if !errors.As(err, &we) || we.Commit != bad || (tc.is != nil && !errors.Is(err, tc.is)) {
					t.Fatalf("pull: %v, want a *wal.Error naming %s and wrapping %v", err, bad, tc.is)
				}
				if res.Pulled || b.head() != before || len(res.NewEvents) != 0 {
					t.Fatalf("a failed pull moved the local WAL from %s to %s (%+v)", before, b.head(), res)
				}
				if got := refOf(t, b.repo, s.TrackingRef()); got != bad {
					t.Fatalf("tracking ref %s, want the fetched %s", got, bad)
				}
			})
		}
	}
}

// garbageCommit writes, with git plumbing in remote, a WAL commit on parent
// whose meta.json is valid and whose chunk is not a chunk.
func garbageCommit(t *testing.T, remote string, parent plumbing.Hash) plumbing.Hash {
	t.Helper()
	chunk := []byte("GRITECNK this is not a chunk \x00\x01\x02\xff")
	meta := wal.MarshalMeta(wal.Meta{SchemaVersion: 1, ActorID: event.ActorID{7}, ChunkHash: event.ChunkHash(chunk), PrevWAL: parent})
	obj := func(data []byte) string {
		return strings.TrimSpace(string(testrepo.GitStdin(t, remote, data, "hash-object", "-w", "--stdin")))
	}
	mktree := func(entries string) string {
		return strings.TrimSpace(string(testrepo.GitStdin(t, remote, []byte(entries+"\n"), "mktree")))
	}
	path := event.ChunkPath(1_700_000_000_000, event.ChunkHash(chunk)) // events/YYYY/MM/DD/<hash>.bin
	parts := strings.Split(path, "/")
	tree := mktree("100644 blob " + obj(chunk) + "\t" + parts[len(parts)-1])
	for i := len(parts) - 2; i >= 1; i-- {
		tree = mktree("040000 tree " + tree + "\t" + parts[i])
	}
	root := mktree("040000 tree " + tree + "\t" + parts[0] + "\n100644 blob " + obj(meta) + "\tmeta.json")
	return plumbing.NewHash(testrepo.Git(t, remote, "commit-tree", root, "-p", parent.String(), "-m", "WAL: hand-made"))
}

// Failures of the remote are classified as the CLI and MCP report them: a
// name that is no remote, a path that is no repository, a push a hook
// refuses, a corrupt object on the remote. Nothing local moves.
func TestRemoteFailuresAreClassified(t *testing.T) {
	notARepo := func(t *testing.T, remote string) string { return t.TempDir() }
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, remote string) string // returns the Config.Remote to sync with
		push  bool                                     // Push, else Pull
		kind  RemoteErrorKind
		says  string // in the error message
	}{
		{"pull from an unknown remote", func(*testing.T, string) string { return "nosuch" }, false, UnknownRemote, `"nosuch" is not configured`},
		{"push to an unknown remote", func(*testing.T, string) string { return "nosuch" }, true, UnknownRemote, `"nosuch" is not configured`},
		{"pull from a directory that is no repository", notARepo, false, NotARepository, "is not a git repository"},
		{"push to a directory that is no repository", notARepo, true, NotARepository, "is not a git repository"},
		{"pull from a path that does not exist", func(t *testing.T, _ string) string { return filepath.Join(t.TempDir(), "gone") }, false, NotARepository, "is not a git repository"},
		{"push refused by a hook", refusingHook, true, PushRefused, "grite refs are read-only here"},
		{"pull of a corrupt remote object", corruptRemoteHead, false, RemoteCorrupt, "holds a corrupt object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			remote := testrepo.NewBare(t)
			a := newClone(t, remote, false)
			a.write("on the remote")
			a.mustPush()
			// A push from the clone that is up to date with the remote
			// (nothing to pull first), a pull into a fresh one.
			c := a
			if !tc.push {
				c = newClone(t, remote, false)
			}
			name := tc.setup(t, remote)
			c.write("local")
			before := c.head()
			var res Result
			s := c.syncer(Config{Remote: name})
			var err error
			if tc.push {
				err = s.Push(ctx, &res)
			} else {
				err = s.Pull(ctx, &res)
			}
			var re *RemoteError
			if !errors.As(err, &re) || re.Kind != tc.kind || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("got %v, want kind %d saying %q", err, tc.kind, tc.says)
			}
			if c.head() != before || res.Pulled || res.Pushed || res.Retries != 0 {
				t.Fatalf("a failed sync moved the local WAL or reported success: %+v", res)
			}
		})
	}
}

// refusingHook makes the remote refuse every push of grite refs.
func refusingHook(t *testing.T, remote string) string {
	t.Helper()
	hook := "#!/bin/sh\necho 'grite refs are read-only here' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(remote, "hooks", "pre-receive"), []byte(hook), 0o755); err != nil {
		t.Fatal(err)
	}
	return "origin"
}

// corruptRemoteHead overwrites the loose object of the remote's WAL head
// with bytes that do not inflate.
func corruptRemoteHead(t *testing.T, remote string) string {
	t.Helper()
	head := testrepo.Git(t, remote, "rev-parse", wal.Ref)
	path := filepath.Join(remote, "objects", head[:2], head[2:])
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the remote's WAL head is not a loose object: %v", err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("not zlib at all"), 0o444); err != nil {
		t.Fatal(err)
	}
	return "origin"
}

// Lock refs travel with the WAL: a pull brings the remote's locks into the
// tracking refs and the local lock refs, and a local live lock on the same
// resource loses to the remote's (the first to publish wins), reported in
// LocksLost.
func TestPullFetchesLockRefs(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			remote := testrepo.NewBare(t)
			a := newClone(t, remote, false)
			a.write("base")
			const resource = "issue:0123456789abcdef0123456789abcdef"
			now := time.Now()
			if _, err := lock.New(a.repo).Acquire(resource, a.actor, time.Hour, now); err != nil {
				t.Fatal(err)
			}
			a.mustPush()
			ref := lock.RefName(resource)
			held := refOf(t, openAt(t, remote), ref)
			if held.IsZero() {
				t.Fatalf("the push did not carry %s", ref)
			}

			b := newClone(t, remote, tr.git)
			if res := b.mustPull(); len(res.LocksLost) != 0 {
				t.Fatalf("pull without a local lock lost %+v", res.LocksLost)
			}
			s := b.syncer(Config{})
			if refOf(t, b.repo, ref) != held || refOf(t, b.repo, s.tracking(ref)) != held {
				t.Fatalf("b's lock ref %s, tracking %s, want %s", refOf(t, b.repo, ref), refOf(t, b.repo, s.tracking(ref)), held)
			}

			c := newClone(t, remote, tr.git)
			if _, err := lock.New(c.repo).Acquire(resource, c.actor, time.Hour, now); err != nil {
				t.Fatal(err)
			}
			res := c.mustPull()
			want := []LockLost{{Resource: resource, LocalOwner: c.actor.String(), Holder: a.actor.String()}}
			if len(res.LocksLost) != 1 {
				t.Fatalf("locks lost %+v, want %+v", res.LocksLost, want)
			}
			want[0].ExpiresUnixMS = res.LocksLost[0].ExpiresUnixMS
			if res.LocksLost[0] != want[0] || refOf(t, c.repo, ref) != held {
				t.Fatalf("locks lost %+v, lock ref %s; want %+v and the remote's %s", res.LocksLost, refOf(t, c.repo, ref), want, held)
			}
		})
	}
}
