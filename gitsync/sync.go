// Package gitsync moves refs/grite/* between a clone and a remote. Network
// transport is the git executable (so every credential helper, SSH config,
// insteadOf rule and proxy the user set up for git applies); a remote that
// is a plain path on this machine is fetched by copying its objects
// directly (wal.CopyHistory). Incoming WAL history is fetched into a
// tracking ref and validated commit by commit before any local ref moves;
// local-only events are re-appended on top of the remote head (history on
// the remote is only ever fast-forwarded) and pushes retry with backoff.
// It never touches the working tree or the SQLite view.
package gitsync

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"grite/event"
	"grite/gitdir"
	"grite/lock"
	"grite/wal"
)

// Backoff is the schedule of the first push retries (a quarter of jitter is
// added): these always run, budget or not.
var Backoff = []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}

// MaxBackoff caps the wait before a retry after the scheduled ones. Those
// waits double from twice the last scheduled one and are drawn uniformly
// below the cap ("full jitter"), so clones that lost together spread out
// instead of colliding again.
const MaxBackoff = 2 * time.Second

// DefaultTimeout bounds one git fetch or push.
const DefaultTimeout = 60 * time.Second

// DefaultRetryBudget is how long a push keeps retrying rejections caused by
// concurrent pushers, counted from its first attempt.
const DefaultRetryBudget = 30 * time.Second

// retryDelay is the wait before retry number n (0-based).
func retryDelay(n int) time.Duration {
	if n < len(Backoff) {
		d := Backoff[n]
		return d + rand.N(d/4)
	}
	ceiling := MaxBackoff
	if shift := n - len(Backoff) + 1; shift < 8 {
		ceiling = min(ceiling, Backoff[len(Backoff)-1]<<shift)
	}
	return rand.N(ceiling)
}

// Config says how to sync.
type Config struct {
	Remote string
	Actor  event.ActorID // meta.actor_id of rebased commits
	// PublicKey returns a locally known key of an actor (nil if unknown);
	// events of such actors must carry a valid signature.
	PublicKey func(event.ActorID) ed25519.PublicKey
	// RequireSignatures rejects events whose signer has no known key.
	RequireSignatures bool
	// RetryBudget bounds the retries of a rejected push after the
	// scheduled ones (Backoff); zero allows only those.
	RetryBudget time.Duration
	// Timeout bounds each git fetch or push (zero: DefaultTimeout): a
	// remote that stops answering must not hang an agent's sync.
	Timeout time.Duration
	Now     func() time.Time
}

// Syncer syncs one repository with one remote.
type Syncer struct {
	repo *gitdir.Repo
	wal  *wal.WAL
	cfg  Config
	// fetched: a fetch of this Syncer succeeded, so the remote-tracking
	// refs are as fresh as a push's own answer would be.
	fetched bool
	// known holds the commits a local fetch found already here below the
	// remote's new history: each is an ancestor of the remote head.
	known map[plumbing.Hash]bool
	// copied holds the objects a local fetch copied, for the merge's
	// strict read of them.
	copied wal.Cache
	// pending is a local fetch whose last pack is still being written.
	pending *pendingFetch
}

// New returns a Syncer.
func New(repo *gitdir.Repo, cfg Config) *Syncer {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	return &Syncer{repo: repo, wal: wal.Open(repo), cfg: cfg}
}

// TrackingRef is where the remote's WAL is fetched before validation.
func (s *Syncer) TrackingRef() string { return s.tracking(wal.Ref) }

// tracking names where the remote's ref (or ref prefix) under refs/grite/
// is kept here: refs/grite/X -> refs/grite/remotes/<remote>/X.
func (s *Syncer) tracking(name string) string {
	return "refs/grite/remotes/" + TrackingName(s.cfg.Remote) + "/" + strings.TrimPrefix(name, "refs/grite/")
}

// TrackingName is how the remote is named in its tracking refs: a remote's
// own name, or for a URL or path that cannot be part of a ref name (":",
// "//", a leading "/", ".."), "url-" and a hash of it. As part of a ref
// name, such a URL broke git fetch's refspec, or left a ref git refuses
// to read.
func TrackingName(remote string) string {
	if refNamePart(remote) {
		return remote
	}
	sum := sha256.Sum256([]byte(remote))
	return "url-" + hex.EncodeToString(sum[:8])
}

// refNamePart reports whether s may stand between two slashes of a ref
// name (git check-ref-format's rules), slashes of its own included.
func refNamePart(s string) bool {
	if s == "" || strings.ContainsAny(s, ":\\ ~^?*[\x7f") || strings.Contains(s, "..") || strings.Contains(s, "@{") {
		return false
	}
	for _, c := range []byte(s) {
		if c < 0x20 {
			return false
		}
	}
	for _, part := range strings.Split(s, "/") {
		if part == "" || part[0] == '.' || strings.HasSuffix(part, ".lock") || strings.HasSuffix(part, ".") {
			return false
		}
	}
	return s != "@"
}

// Result accumulates what a pull and/or push did.
type Result struct {
	Pulled        bool // the pull step ran and succeeded
	Pushed        bool // the push step ran and succeeded
	LocalHead     plumbing.Hash
	RemoteHead    plumbing.Hash
	EventsPulled  int           // events of remote commits new to this clone
	EventsPushed  int           // events in commits the remote did not have
	EventsRebased int           // distinct local-only events re-appended on the remote head
	Rebased       bool          // an auto-rebase happened
	RemoteEmpty   bool          // the remote had no WAL when this sync first reached it
	Retries       int           // push attempts after the first
	Attempts      int           // push attempts, the first included
	LocksLost     []LockLost    // local claims that lost to the remote's
	NewEvents     []event.Event // remote events to apply to the view
	NothingToPush bool

	// rebased holds the events counted in EventsRebased: every retry of a
	// push re-appends the same local events again, and they are counted
	// once per sync.
	rebased map[event.EventID]bool
	// reached is set once the remote's WAL was first seen (fetched or
	// pushed to), so RemoteEmpty describes the remote as this sync found it.
	reached bool
}

// sawRemote records the remote's WAL head the first time this sync sees it.
func (r *Result) sawRemote(head plumbing.Hash) {
	if !r.reached {
		r.reached, r.RemoteEmpty = true, head.IsZero()
	}
}

// Pull fetches the remote's grite refs, validates the new WAL commits and
// merges: fast-forward when possible, else the local-only events are
// re-appended as one commit on top of the remote head.
func (s *Syncer) Pull(ctx context.Context, res *Result) (err error) {
	if err := s.fetch(ctx); err != nil {
		return err
	}
	defer func() {
		// A failed merge still leaves the fetch done, as git fetch would.
		if cerr := s.completeFetch(); err == nil {
			err = cerr
		}
	}()
	if err := s.reconcileLocks(ctx, res); err != nil {
		return err
	}
	for attempt := 0; attempt < 20; attempt++ {
		err := s.merge(ctx, res)
		var changed *gitdir.ErrRefChanged
		if errors.As(err, &changed) {
			continue // a local writer appended meanwhile: merge again
		}
		if err == nil {
			res.Pulled = true
		}
		return err
	}
	return fmt.Errorf("pull: local WAL kept changing during the merge")
}

func (s *Syncer) fetch(ctx context.Context) error {
	r := s.cfg.Remote
	// A fetch killed mid-update leaves a lock git never takes over.
	if err := s.repo.RemoveStaleRefLocks(s.tracking("refs/grite/")); err != nil {
		return err
	}
	if remote := s.localRemote(); remote != nil {
		if err := s.fetchLocal(remote); err != nil {
			return err
		}
		s.fetched = true
		return nil
	}
	args := []string{"fetch", "--no-tags", "--quiet"}
	partial := s.repo.Promisor()
	if partial {
		// A partial clone's fetch from its promisor remote leaves out
		// what the clone's filter says (blob:none: every blob), for git
		// to fetch when it needs one; grite reads its objects itself,
		// and needs every one. An explicit --no-filter overrides the
		// remote's filter (git 2.17 and later).
		args = append(args, "--no-filter")
	}
	_, stderr, err := s.runNetGit(ctx, append(args, r,
		"+refs/grite/wal*:"+s.tracking("refs/grite/wal*"),
		"+refs/grite/snapshots/*:"+s.tracking("refs/grite/snapshots/*"),
		"+refs/grite/locks/*:"+s.tracking("refs/grite/locks/*"))...)
	if err == nil {
		s.fetched = true
		if partial {
			return s.fetchMissing(ctx)
		}
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, errTimedOut) {
		return &RemoteError{Kind: TimedOut, Remote: r, Detail: "fetch", Timeout: s.cfg.Timeout}
	}
	if !s.remoteConfigured(ctx) {
		return &RemoteError{Kind: UnknownRemote, Remote: r}
	}
	return classifyFetchError(r, stderr, err)
}

// localRemote returns the remote when it is a repository on this machine
// that grite may read directly instead of running git fetch: a plain
// local path, with no url.*.insteadOf rule in git's config
// (which could send git elsewhere) and no upload-pack program of the
// remote's own (a wrapper or hook must run as it would for any fetch).
// git fetch from such a remote is git reading the same files; here it cost
// three processes and more time than all of grite's own work on the
// pulled history (bench/sync.sh times both; docs/performance.md).
func (s *Syncer) localRemote() *gitdir.Repo {
	url := s.cfg.Remote
	urls, ok := gitdir.PlainRemoteURLs(s.repo.CommonDir, url)
	if !ok {
		return nil
	}
	if !strings.ContainsAny(url, "/\\") {
		if len(urls) != 1 {
			return nil
		}
		url = urls[0]
	}
	url = strings.TrimPrefix(url, "file://")
	if !filepath.IsAbs(url) {
		return nil
	}
	remote, err := gitdir.At(url)
	if err != nil {
		return nil // git says what is wrong with it (or fetches it)
	}
	if s.repo.Promisor() || remote.Promisor() {
		// A partial clone: objects may be missing here (below what
		// this clone holds) or there, which only git can fetch.
		return nil
	}
	return remote
}

// fetchLocal does what the fetch refspecs do, from a local repository:
// copies the objects of the remote's WAL, snapshot and lock refs that are
// missing here, then sets the remote-tracking refs (forced, as "+" does;
// refs gone from the remote stay, as without --prune). A remote whose
// refs all equal the tracking refs costs a few ref reads.
func (s *Syncer) fetchLocal(remote *gitdir.Repo) error {
	s.known, s.copied = nil, nil // of an earlier fetch of this Syncer
	theirs, err := remote.ListRefs("refs/grite/")
	if err != nil {
		return &RemoteError{Kind: NotARepository, Remote: s.cfg.Remote, Detail: err.Error()}
	}
	var updates []refUpdate
	var tips []plumbing.Hash
	// What this clone's refs point at is here with its history.
	mine, err := s.repo.ListRefs("refs/grite/")
	if err != nil {
		return err
	}
	haves := make([]plumbing.Hash, 0, len(mine))
	for _, h := range mine {
		haves = append(haves, h)
	}
	for name, h := range theirs {
		rest := strings.TrimPrefix(name, "refs/grite/")
		if !strings.HasPrefix(rest, "wal") && !strings.HasPrefix(rest, "snapshots/") && !strings.HasPrefix(rest, "locks/") {
			continue
		}
		if old := mine[s.tracking(name)]; old != h {
			updates = append(updates, refUpdate{s.tracking(name), old, h})
			tips = append(tips, h)
		}
	}
	if len(updates) == 0 {
		return nil
	}
	res, err := wal.CopyHistory(s.repo, remote, tips, haves)
	if err != nil {
		return &RemoteError{Kind: RemoteCorrupt, Remote: s.cfg.Remote, Detail: err.Error()}
	}
	s.known, s.copied = res.Known, res.Cache
	// The last pack is written on the other core while the merge reads the
	// copied history from memory (the two took about as long): the
	// tracking refs move once it is written, before any ref names it.
	done := make(chan error, 1)
	go func() { done <- res.Flush() }()
	s.pending = &pendingFetch{done: done, refs: updates}
	for _, u := range updates {
		if !strings.HasPrefix(u.name, s.tracking("refs/grite/wal")) || res.Cache == nil {
			// Lock and snapshot refs are read through the repository.
			return s.completeFetch()
		}
	}
	return nil
}

// pendingFetch is a local fetch whose last pack is still being written.
type pendingFetch struct {
	done chan error
	refs []refUpdate
}

type refUpdate struct {
	name     string
	old, new plumbing.Hash
}

// completeFetch waits for a local fetch's last pack and moves the
// tracking refs; every step that names fetched objects in the repository
// (a ref update, a new commit, git) comes after it.
func (s *Syncer) completeFetch() error {
	p := s.pending
	if p == nil {
		return nil
	}
	s.pending = nil
	if err := <-p.done; err != nil {
		return err
	}
	// Each local fetch writes a pack; merge small ones before they add up
	// (it never fails the fetch: the objects are in place either way).
	_, _ = s.repo.ConsolidatePacks(gitdir.PackLimit)
	for _, u := range p.refs {
		if err := s.repo.UpdateRef(u.name, u.new, u.old); err != nil {
			return fmt.Errorf("update %s: %w", u.name, err)
		}
	}
	return nil
}

// trackingHead is the remote's WAL head as fetched, including a local
// fetch still completing.
func (s *Syncer) trackingHead() (plumbing.Hash, error) {
	if p := s.pending; p != nil {
		for _, u := range p.refs {
			if u.name == s.TrackingRef() {
				return u.new, nil
			}
		}
	}
	return s.repo.ReadRef(s.TrackingRef())
}

// remoteConfigured reports whether the name is a configured remote (a URL or
// path given directly counts as configured).
func (s *Syncer) remoteConfigured(ctx context.Context) bool {
	r := s.cfg.Remote
	if strings.ContainsAny(r, "/:\\") {
		return true
	}
	_, _, err := s.runGit(ctx, "remote", "get-url", r)
	return err == nil
}

func (s *Syncer) merge(ctx context.Context, res *Result) error {
	remote, err := s.trackingHead()
	if err != nil {
		return err
	}
	local, err := s.wal.Head()
	if err != nil {
		return err
	}
	res.RemoteHead, res.LocalHead = remote, local
	res.sawRemote(remote)
	if remote.IsZero() || remote == local {
		return nil
	}
	base := plumbing.ZeroHash
	switch {
	case local.IsZero():
	case s.known[local]:
		// The local fetch reached the local head from the remote's: it is
		// the merge base, and git merge-base need not run.
		base = local
	default:
		if err := s.completeFetch(); err != nil { // git reads the objects
			return err
		}
		if base, err = s.mergeBase(ctx, local, remote); err != nil {
			return err
		}
	}
	if base == remote {
		return nil // the remote is behind: nothing to pull
	}
	keys := s.cfg.PublicKey
	var remoteCommits []wal.Commit
	err = wal.OpenRef(s.repo, s.TrackingRef()).Walk(ctx, remote, wal.ReadOptions{
		Strict:    true,
		PublicKey: keys,
		Cache:     s.copied,
		Stop:      func(h plumbing.Hash) bool { return h == base },
	}, func(c wal.Commit) error {
		if s.cfg.RequireSignatures {
			for i := range c.Events {
				if keys == nil || keys(c.Events[i].Actor) == nil {
					return &wal.Error{Commit: c.Hash, Err: fmt.Errorf("event %s: signer %s has no known key (verify_signatures = require): %w", c.Events[i].ID, c.Events[i].Actor, event.ErrBadSignature)}
				}
			}
		}
		remoteCommits = append(remoteCommits, c)
		return nil
	})
	if err != nil {
		return err // a *wal.Error names the bad commit; no local ref moved
	}
	if err := s.completeFetch(); err != nil {
		return err
	}
	remoteIDs := map[event.EventID]bool{}
	var newEvents []event.Event
	for i := len(remoteCommits) - 1; i >= 0; i-- {
		for _, e := range remoteCommits[i].Events {
			if !remoteIDs[e.ID] {
				remoteIDs[e.ID] = true
				newEvents = append(newEvents, e)
			}
		}
	}
	var localOnly []event.Event
	if local != base {
		localCommits, err := s.wal.ReadSince(ctx, local, base, wal.ReadOptions{})
		if err != nil {
			return err
		}
		seen := map[event.EventID]bool{}
		for _, c := range localCommits {
			for _, e := range c.Events {
				if !remoteIDs[e.ID] && !seen[e.ID] {
					seen[e.ID] = true
					localOnly = append(localOnly, e)
				}
			}
		}
	}
	newHead := remote
	if len(localOnly) > 0 {
		ar, err := s.wal.AppendOnto(ctx, s.cfg.Actor, localOnly, s.cfg.Now(), wal.Onto{Parent: remote, Expected: local})
		if err != nil {
			return err
		}
		newHead = ar.Commit
		res.Rebased = true
		if res.rebased == nil {
			res.rebased = map[event.EventID]bool{}
		}
		for _, e := range localOnly {
			if !res.rebased[e.ID] {
				res.rebased[e.ID] = true
				res.EventsRebased++
			}
		}
	} else if err := s.repo.UpdateRef(wal.Ref, remote, local); err != nil {
		return err
	}
	res.LocalHead = newHead
	res.EventsPulled += len(newEvents)
	res.NewEvents = append(res.NewEvents, newEvents...)
	return nil
}

func (s *Syncer) mergeBase(ctx context.Context, a, b plumbing.Hash) (plumbing.Hash, error) {
	out, stderr, err := s.runGit(ctx, "merge-base", a.String(), b.String())
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 1 && strings.TrimSpace(stderr) == "" {
			return plumbing.ZeroHash, nil // unrelated histories
		}
		return plumbing.ZeroHash, fmt.Errorf("git merge-base: %v: %s", err, lastLines(stderr, 2))
	}
	return plumbing.NewHash(strings.TrimSpace(out)), nil
}

// Push pushes the WAL (and snapshot and lock refs) fast-forward only. A
// rejection caused by a concurrent pusher (non-fast-forward, or the
// remote's ref lock held by another push) pulls, which re-appends local-only
// events on the remote head, and retries: first on the Backoff schedule,
// then with capped, fully jittered backoff until the retry budget is spent.
func (s *Syncer) Push(ctx context.Context, res *Result) error {
	if err := s.completeFetch(); err != nil {
		return err
	}
	began := time.Now()
	for retry := 0; ; retry++ {
		local, err := s.wal.Head()
		if err != nil {
			return err
		}
		if local.IsZero() {
			res.NothingToPush = true
			return nil
		}
		tracked, err := s.repo.ReadRef(s.TrackingRef())
		if err != nil {
			return err
		}
		if tracked == local && s.fetched {
			// The fetch of this sync shows the remote holding our WAL
			// head; if it also holds every lock and snapshot ref as we
			// have it, a push would change nothing (and costs a git
			// process and a receive-pack on the remote).
			same, err := s.refsOnRemote()
			if err != nil {
				return err
			}
			if same {
				res.Pushed, res.LocalHead, res.RemoteHead = true, local, local
				return nil
			}
		}
		pending := 0
		if tracked != local {
			if pending, err = s.countSince(ctx, local, tracked); err != nil {
				return err
			}
		}
		res.Attempts++
		status, detail, walLine, err := s.push(ctx, local)
		if err != nil {
			return err
		}
		switch status {
		case pushOK:
			res.Pushed, res.LocalHead, res.RemoteHead = true, local, local
			// Without a fetch in this sync (push only), the tracking ref
			// can be behind the remote: git's report of the WAL ref says
			// what the remote really had.
			if pending, err = s.pushedCount(ctx, local, walLine, pending, res); err != nil {
				return err
			}
			res.EventsPushed += pending
			if tracked == local {
				return nil
			}
			// Remember what the remote holds now (our own bookkeeping ref).
			return s.repo.UpdateRef(s.TrackingRef(), local, tracked)
		case pushRefused:
			return &RemoteError{Kind: PushRefused, Remote: s.cfg.Remote, Detail: detail}
		}
		d := retryDelay(retry)
		if spent := time.Since(began); retry >= len(Backoff) && spent+d > s.cfg.RetryBudget {
			return &RemoteError{Kind: PushRejected, Remote: s.cfg.Remote, Detail: detail,
				Attempts: res.Attempts, Elapsed: spent, RefLockRace: status == pushRefLocked}
		}
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return ctx.Err()
		}
		res.Retries++
		if err := s.Pull(ctx, res); err != nil {
			return err
		}
	}
}

// pushedCount is the number of events the push gave the remote, from
// git's porcelain line for the WAL ref ("=" up to date, "*" new, " " a
// fast-forward from "old..new"); without such a line it keeps counted.
func (s *Syncer) pushedCount(ctx context.Context, local plumbing.Hash, line pushLine, counted int, res *Result) (int, error) {
	switch line.flag {
	case "=":
		res.sawRemote(local)
		return 0, nil
	case "*":
		res.sawRemote(plumbing.ZeroHash)
		return s.countSince(ctx, local, plumbing.ZeroHash)
	case " ":
		old, _, ok := strings.Cut(line.summary, "..")
		if !ok || old == "" {
			return counted, nil
		}
		res.sawRemote(local) // not zero: the remote had a WAL
		n := 0
		err := s.wal.Walk(ctx, local, wal.ReadOptions{Stop: func(h plumbing.Hash) bool { return strings.HasPrefix(h.String(), old) }},
			func(c wal.Commit) error { n += len(c.Events); return nil })
		return n, err
	}
	return counted, nil
}

// pushLine is git push's porcelain report for one ref.
type pushLine struct{ flag, summary string }

// refsOnRemote reports whether every local snapshot and lock ref has the
// same value in the remote-tracking refs the last fetch wrote.
func (s *Syncer) refsOnRemote() (bool, error) {
	for _, prefix := range []string{wal.SnapshotPrefix, lock.Prefix} {
		local, err := s.repo.ListRefs(prefix)
		if err != nil {
			return false, err
		}
		remote, err := s.repo.ListRefs(s.tracking(prefix))
		if err != nil {
			return false, err
		}
		for name, h := range local {
			if remote[s.tracking(name)] != h {
				return false, nil
			}
		}
	}
	return true, nil
}

// countSince counts events in local commits after since (all if since is
// not an ancestor or zero).
func (s *Syncer) countSince(ctx context.Context, head, since plumbing.Hash) (int, error) {
	n := 0
	err := s.wal.Walk(ctx, head, wal.ReadOptions{Stop: func(h plumbing.Hash) bool { return h == since }},
		func(c wal.Commit) error { n += len(c.Events); return nil })
	return n, err
}

type pushStatus int

const (
	pushOK pushStatus = iota
	pushNonFastForward
	pushRefLocked // another push held the remote's ref lock
	pushRefused
)

func (s *Syncer) push(ctx context.Context, local plumbing.Hash) (pushStatus, string, pushLine, error) {
	// Not --quiet: it drops the porcelain lines of refs that were pushed
	// or up to date, and the WAL ref's line says what the remote had.
	args := []string{"push", "--porcelain", s.cfg.Remote, local.String() + ":" + wal.Ref}
	snaps, err := s.repo.ListRefs(wal.SnapshotPrefix)
	if err != nil {
		return 0, "", pushLine{}, err
	}
	for name := range snaps {
		args = append(args, name+":"+name)
	}
	locks, err := s.repo.ListRefs(lock.Prefix)
	if err != nil {
		return 0, "", pushLine{}, err
	}
	for name := range locks {
		args = append(args, name+":"+name)
	}
	stdout, stderr, err := s.runNetGit(ctx, args...)
	if ctx.Err() != nil {
		return 0, "", pushLine{}, ctx.Err()
	}
	if errors.Is(err, errTimedOut) {
		return 0, "", pushLine{}, &RemoteError{Kind: TimedOut, Remote: s.cfg.Remote, Detail: "push", Timeout: s.cfg.Timeout}
	}
	// Porcelain lines: "<flag>\t<src>:<dst>\t<summary>"; '!' is a rejection.
	var rejected, raced, refused []string
	var walLine pushLine
	sawAny := false
	for _, line := range strings.Split(stdout, "\n") {
		f := strings.SplitN(line, "\t", 3)
		if len(f) != 3 || !strings.Contains(f[1], ":refs/grite/") {
			continue
		}
		sawAny = true
		if strings.HasSuffix(f[1], ":"+wal.Ref) {
			walLine = pushLine{flag: f[0], summary: f[2]}
		}
		if f[0] != "!" {
			continue
		}
		dst := f[1][strings.Index(f[1], ":")+1:]
		switch {
		case strings.Contains(f[2], "remote rejected") && lostRefRace(stderr, dst):
			// A concurrent push moved the ref between receive-pack's
			// check and its update: a lost race, like a non-fast-forward.
			raced = append(raced, dst)
		case strings.Contains(f[2], "remote rejected"):
			refused = append(refused, dst+": "+f[2])
		case strings.Contains(f[2], "non-fast-forward"), strings.Contains(f[2], "fetch first"), strings.Contains(f[2], "stale info"):
			rejected = append(rejected, dst+": "+f[2])
		default:
			refused = append(refused, dst+": "+f[2])
		}
	}
	if !sawAny {
		if err != nil {
			if !s.remoteConfigured(ctx) {
				return 0, "", pushLine{}, &RemoteError{Kind: UnknownRemote, Remote: s.cfg.Remote}
			}
			return 0, "", pushLine{}, classifyFetchError(s.cfg.Remote, stderr, err)
		}
		return pushOK, "", walLine, nil
	}
	switch {
	case len(refused) > 0:
		detail := strings.Join(refused, "; ")
		if said := remoteSaid(stderr, 5); said != "" {
			detail += "; the remote said: " + said
		} else if l := lastLines(stderr, 2); l != "" {
			detail += " " + l
		}
		return pushRefused, detail, walLine, nil
	case len(rejected) > 0:
		return pushNonFastForward, strings.Join(rejected, "; "), walLine, nil
	case len(raced) > 0:
		return pushRefLocked, strings.Join(raced, ", "), walLine, nil
	}
	return pushOK, "", walLine, nil
}

// lostRefRace reports whether receive-pack failed to update ref only
// because a concurrent push held, moved or created it ("cannot lock ref
// '<ref>': is at X but expected Y", "...: File exists", "...: reference
// already exists").
func lostRefRace(stderr, ref string) bool {
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "cannot lock ref '"+ref+"'") && (strings.Contains(l, "but expected") ||
			strings.Contains(l, "File exists") || strings.Contains(l, "reference already exists")) {
			return true
		}
	}
	return false
}
