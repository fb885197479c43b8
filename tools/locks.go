package tools

// Lease locks: the lock operation and status, lock conflicts as errors,
// the view's lock cache and the lock policy of writes.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"grite/actor"
	"grite/event"
	"grite/lock"
	"grite/store"
)

// DefaultClaimTTL and DefaultLockTTL (docs/format.md §8, TTLs).
const (
	DefaultClaimTTL = 30 * time.Minute
	DefaultLockTTL  = 5 * time.Minute
	MaxTTL          = 7 * 24 * time.Hour
)

// ParseTTL accepts a Go-style duration ("90s", "15m", "2h") or a bare
// number of seconds; empty gives def.
func ParseTTL(s string, def time.Duration) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return def, nil
	}
	var d time.Duration
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		d = time.Duration(n * float64(time.Second))
	} else if d, err = time.ParseDuration(s); err != nil {
		return 0, newErr(CodeInvalidArgs, "ttl %q is neither a duration (90s, 15m, 2h) nor a number of seconds", s)
	}
	if d < time.Second || d > MaxTTL {
		return 0, newErr(CodeInvalidArgs, "ttl %s out of range (1s to %s)", d, MaxTTL)
	}
	return d, nil
}

// lockConflict maps a lock conflict onto the error taxonomy.
func lockConflict(err error) error {
	var ce *lock.ConflictError
	if !errors.As(err, &ce) {
		return err
	}
	e := (&Error{Code: CodeConflict, Message: err.Error(), cause: err}).
		with("resource", ce.Resource).with("holder", ce.Holder).with("expires_unix_ms", ce.ExpiresUnixMS).
		suggest("Wait until the lock expires or ask its holder to release it")
	if lock.Namespace(ce.Resource) == "issue" {
		return e.suggest("Run 'grite issue ready' to find unclaimed work")
	}
	return e.suggest("Run 'grite lock status' to see who holds what")
}

// refreshLocks brings the view's lock cache up to date with refs/grite/locks/*:
// the refs the lock Manager saw change since the last refresh (it re-reads
// only those, see lock.Manager.Changes), or every lock after a full
// listing. Comparing every lock with the view on every call read the
// whole lock table each time, which grew with every claim ever made.
func (s *Session) refreshLocks(ctx context.Context) (err error) {
	d, err := s.Locks.Changes()
	if err != nil {
		return err
	}
	full := d.Full || s.locksUnsure || len(d.Refs) > maxLockDelta
	if !full && len(d.Refs) == 0 {
		return nil
	}
	// A failure leaves the view unsure: the next refresh compares all.
	s.locksUnsure = true
	var cached map[string]string
	refs := d.Refs
	if full {
		if cached, err = s.Store().LockCommits(ctx); err != nil {
			return err
		}
		refs = refs[:0]
		for ref := range d.Entries {
			refs = append(refs, ref)
		}
		for ref := range cached {
			if _, ok := d.Entries[ref]; !ok {
				refs = append(refs, ref)
			}
		}
	} else if cached, err = s.Store().LockCommitsOf(ctx, refs); err != nil {
		return err
	}
	var changed []store.CachedLock
	var removed []string
	for _, ref := range refs {
		e, live := d.Entries[ref]
		_, inView := cached[ref]
		switch {
		case live && cached[ref] != e.Commit.String():
			changed = append(changed, store.CachedLock{Ref: e.Ref, Commit: e.Commit.String(), Resource: e.Lock.Resource, Owner: e.Lock.Owner, Expires: e.Lock.ExpiresUnixMS})
		case !live && inView:
			removed = append(removed, ref) // deleted, or unreadable: holds nothing
		}
	}
	if len(changed) > 0 || len(removed) > 0 {
		if err := s.Store().Update(ctx, func(tx *store.Tx) error { return tx.SetLocks(changed, removed) }); err != nil {
			return err
		}
	}
	s.locksUnsure = false
	return nil
}

// maxLockDelta: more changed refs than this are compared by reading the
// whole lock table once, not by naming each in a query.
const maxLockDelta = 256

// refreshLockCache refreshes the view's lock cache after a lock change
// that has happened: a failure there does not undo it (the next read
// refreshes again), so it is a warning, not the operation's error.
func (s *Session) refreshLockCache(ctx context.Context) {
	if err := s.refreshLocks(ctx); err != nil {
		s.warn(fmt.Sprintf("the view's lock cache was not refreshed (%v); the next command refreshes it", err))
	}
}

// checkLockPolicy applies lock_policy to a write on issue: warn about or
// refuse a live issue lock held by another actor. A writer whose own claim
// on the issue was lost (it expired and was taken over, or lost at sync)
// is told so whatever the policy, with a warning that starts with
// "claim_lost:" (or, under require, the conflict's details.claim_lost):
// its event is kept, and it learns to stop. It returns the issue's lock as
// it read it (ok false: none), for the write's heartbeat.
func (s *Session) checkLockPolicy(ctx context.Context, issue event.IssueID) (e lock.Entry, ok bool, err error) {
	policy, e, ok, err := s.readLock("issue:" + issue.String())
	if err != nil {
		return e, ok, err
	}
	ce := s.heldByOther(e, ok)
	if ce == nil {
		s.warnExpiredClaim(issue, e, ok)
		return e, ok, nil
	}
	lost, err := s.hadClaim(ctx, issue)
	if err != nil {
		return e, ok, err
	}
	if !lost {
		return e, ok, s.applyPolicy(policy, ce)
	}
	holder := ce.Holder
	if a, err := s.Grite.Load(holder); err == nil && a.Config.Label != "" {
		holder += " (" + a.Config.Label + ")"
	}
	msg := fmt.Sprintf("claim_lost: your claim on issue %s is gone: %s holds it until %s; your event is kept, but stop working on the issue or ask its holder",
		issue, holder, time.UnixMilli(int64(ce.ExpiresUnixMS)).UTC().Format(time.RFC3339))
	if policy == actor.PolicyRequire {
		return e, ok, lockConflict(ce).(*Error).with("claim_lost", true)
	}
	s.warn(msg)
	return e, ok, nil
}

// warnExpiredClaim tells a writer whose own claim on issue ran out (and
// nobody took the issue since: e, ok is its lock as read) that it no
// longer holds it: anyone may claim it now. It starts "claim_expired:", as
// claim_lost does.
func (s *Session) warnExpiredClaim(issue event.IssueID, e lock.Entry, ok bool) {
	if !ok || e.Lock.Owner != s.Actor.ID.String() || e.Lock.ExpiresUnixMS == 0 || e.Lock.Live(s.nowMS()) {
		return
	}
	s.warn(fmt.Sprintf("claim_expired: your claim on issue %s expired at %s; your event is kept, but anyone may claim the issue now: claim it again to hold it ('grite issue claim %s')",
		issue, time.UnixMilli(int64(e.Lock.ExpiresUnixMS)).UTC().Format(time.RFC3339), issue.String()[:8]))
}

// hadClaim reports whether the caller ever claimed issue: a claim assigns
// the claimer, so the caller wrote an AssigneeAdded on it.
func (s *Session) hadClaim(ctx context.Context, issue event.IssueID) (bool, error) {
	events, err := s.Store().IssueEvents(ctx, issue)
	if err != nil {
		return false, err
	}
	for _, e := range events {
		if _, ok := e.Kind.(event.AssigneeAdded); ok && e.Actor == s.Actor.ID {
			return true, nil
		}
	}
	return false, nil
}

// applyLockPolicy warns about (warn) or refuses (require) a write while
// another actor holds a live lock on resource; writes check issue:<id>,
// sync's push checks repo:global (docs/format.md §8).
func (s *Session) applyLockPolicy(resource string) error {
	policy, e, ok, err := s.readLock(resource)
	if err != nil {
		return err
	}
	if ce := s.heldByOther(e, ok); ce != nil {
		return s.applyPolicy(policy, ce)
	}
	return nil
}

// readLock reads lock_policy and the lock on resource (ok false: none).
func (s *Session) readLock(resource string) (actor.Policy, lock.Entry, bool, error) {
	cfg, err := s.Grite.LoadRepoConfig()
	if err != nil {
		return "", lock.Entry{}, false, err
	}
	e, ok, err := s.Locks.Read(lock.RefName(resource))
	return cfg.LockPolicyValue(), e, ok, err
}

// heldByOther is the conflict of a live lock (e, as read) that another
// actor holds, nil if none.
func (s *Session) heldByOther(e lock.Entry, ok bool) *lock.ConflictError {
	now := s.nowMS()
	if !ok || !e.Lock.Live(now) || e.Lock.Owner == s.Actor.ID.String() {
		return nil
	}
	return &lock.ConflictError{Resource: e.Lock.Resource, Holder: e.Lock.Owner, ExpiresUnixMS: e.Lock.ExpiresUnixMS, NowMS: now}
}

func (s *Session) applyPolicy(policy actor.Policy, ce *lock.ConflictError) error {
	switch policy {
	case actor.PolicyOff:
		return nil
	case actor.PolicyRequire:
		return lockConflict(ce)
	}
	s.warn(ce.Error())
	return nil
}

// LockInput acquires, renews or releases a lease lock.
type LockInput struct {
	Action   string `json:"action"`
	Resource string `json:"resource"`
	TTL      string `json:"ttl,omitempty"`
}

// LockJSON is a lock in output.
type LockJSON struct {
	Resource      string `json:"resource"`
	Owner         string `json:"owner"`
	Nonce         string `json:"nonce"`
	ExpiresUnixMS uint64 `json:"expires_unix_ms"`
	Live          bool   `json:"live"`
}

// LockOutput reports one lock.
type LockOutput struct {
	Lock LockJSON `json:"lock"`
}

func (s *Session) lockJSON(l lock.Lock) LockJSON {
	return LockJSON{l.Resource, l.Owner, l.Nonce, l.ExpiresUnixMS, l.Live(s.nowMS())}
}

var Lock = Op[LockInput, LockOutput]{
	Name: "lock", Title: "Acquire, renew or release a lock",
	Description: "Acquire, renew or release a lease lock on repo:NAME, path:PATH or issue:ID.",
	Run: func(ctx context.Context, s *Session, in LockInput) (LockOutput, error) {
		resource, err := s.resolveResource(ctx, in.Resource)
		if err != nil {
			return LockOutput{}, err
		}
		in.Resource = resource
		def := DefaultLockTTL
		if in.Action == "renew" {
			def = 0 // keep the lease's own length
		}
		ttl, err := ParseTTL(in.TTL, def)
		if err != nil {
			return LockOutput{}, err
		}
		var e lock.Entry
		switch in.Action {
		case "acquire":
			var a lock.Acquired
			a, err = s.Locks.Acquire(in.Resource, s.Actor.ID, ttl, s.Now())
			e = a.Entry
		case "renew":
			e, err = s.Locks.Renew(in.Resource, s.Actor.ID, ttl, s.Now())
		case "release":
			e, err = s.Locks.Release(in.Resource, s.Actor.ID, s.Now())
		default:
			return LockOutput{}, newErr(CodeInvalidArgs, "action must be acquire, renew or release, got %q", in.Action)
		}
		var nh *lock.NotHeldError
		if errors.As(err, &nh) {
			return LockOutput{}, (&Error{Code: CodeNotFound, Message: err.Error(), cause: err}).with("resource", in.Resource).
				suggest("Acquire it with 'grite lock acquire " + in.Resource + "' (MCP: lock with action acquire)")
		}
		if err != nil {
			return LockOutput{}, lockConflict(err)
		}
		return LockOutput{Lock: s.lockJSON(e.Lock)}, nil
	},
}

// resolveResource checks a lock resource and gives an issue: resource its
// issue's full ID, so that a prefix and the full ID name one lock, and a
// lock on an issue that does not exist is refused like any use of its ID.
func (s *Session) resolveResource(ctx context.Context, resource string) (string, error) {
	if err := lock.ValidateResource(resource); err != nil {
		return "", newErr(CodeInvalidArgs, "%v", err)
	}
	idText, ok := strings.CutPrefix(resource, "issue:")
	if !ok {
		return resource, nil
	}
	id, err := s.ResolveIssue(ctx, idText)
	if err != nil {
		return "", err
	}
	return "issue:" + id.String(), nil
}

// LockStatusInput filters lock status.
type LockStatusInput struct {
	Resource string `json:"resource,omitempty"`
}

// LockStatusOutput lists live locks and those that conflict with the
// resource asked about (held by other actors).
type LockStatusOutput struct {
	Locks     []LockJSON `json:"locks"`
	Conflicts []LockJSON `json:"conflicts"`
}

var LockStatus = Op[LockStatusInput, LockStatusOutput]{
	Name: "lock_status", Title: "Show locks", ReadOnly: true, Idempotent: true,
	Description: "List live locks; with resource, also those conflicting with it.",
	Run: func(ctx context.Context, s *Session, in LockStatusInput) (LockStatusOutput, error) {
		if in.Resource != "" {
			r, err := s.resolveResource(ctx, in.Resource)
			if err != nil {
				return LockStatusOutput{}, err
			}
			in.Resource = r
		}
		all, err := s.Locks.List()
		if err != nil {
			return LockStatusOutput{}, err
		}
		out := LockStatusOutput{Locks: []LockJSON{}, Conflicts: []LockJSON{}}
		now := s.nowMS()
		for _, e := range all {
			if !e.Lock.Live(now) {
				continue
			}
			out.Locks = append(out.Locks, s.lockJSON(e.Lock))
			if in.Resource != "" && e.Lock.Owner != s.Actor.ID.String() && lock.Conflicts(e.Lock.Resource, in.Resource) {
				out.Conflicts = append(out.Conflicts, s.lockJSON(e.Lock))
			}
		}
		sortLocks(out.Locks)
		sortLocks(out.Conflicts)
		return out, nil
	},
}

func sortLocks(ls []LockJSON) {
	for i := 1; i < len(ls); i++ {
		for j := i; j > 0 && ls[j].Resource < ls[j-1].Resource; j-- {
			ls[j], ls[j-1] = ls[j-1], ls[j]
		}
	}
}

// LockGCOutput reports pruned locks.
type LockGCOutput struct {
	ExpiredPruned int        `json:"expired_pruned"`
	Pruned        []LockJSON `json:"pruned"`
}

// LockGC deletes local refs of expired or released locks.
var LockGC = Op[NoInput, LockGCOutput]{
	Name: "lock_gc", Title: "Prune expired locks", Idempotent: true,
	Description: "Delete this clone's refs of expired or released locks.",
	Run: func(ctx context.Context, s *Session, in NoInput) (LockGCOutput, error) {
		pruned, err := s.Locks.GC(s.Now())
		out := LockGCOutput{Pruned: []LockJSON{}}
		for _, e := range pruned {
			out.Pruned = append(out.Pruned, s.lockJSON(e.Lock))
		}
		out.ExpiredPruned = len(out.Pruned)
		return out, err
	},
}

// WithIssueLock runs fn holding issue:<id> (the --lock flag): it acquires the
// lock only if this actor does not hold it already and releases only a lock
// it acquired, so a claimant writing with --lock keeps its claim.
func WithIssueLock[O any](ctx context.Context, s *Session, idText string, fn func() (O, error)) (O, error) {
	var zero O
	id, err := s.ResolveIssue(ctx, idText)
	if err != nil {
		return zero, err
	}
	resource := "issue:" + id.String()
	acq, err := s.Locks.Acquire(resource, s.Actor.ID, DefaultLockTTL, s.Now())
	if err != nil {
		return zero, lockConflict(err)
	}
	out, err := fn()
	if !acq.Existing {
		if _, rerr := s.Locks.Release(resource, s.Actor.ID, s.Now()); rerr != nil && err == nil {
			s.warn(fmt.Sprintf("could not release %s: %v", resource, rerr))
		}
	}
	return out, err
}
