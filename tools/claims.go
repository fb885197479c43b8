package tools

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"grite/event"
	"grite/gitdir"
	"grite/handoff"
	"grite/lock"
	"grite/store"
)

// IssueReadyInput filters the ready queue.
type IssueReadyInput struct {
	// Label and every one of Labels: an issue must have all of them.
	Label    string   `json:"label,omitempty"`
	Labels   []string `json:"labels,omitempty"`
	Assignee string   `json:"assignee,omitempty"`
	Limit    int      `json:"limit,omitempty"`
}

// IssueReadyOutput is the ready queue, oldest first.
type IssueReadyOutput struct {
	Issues []IssueSummary `json:"issues"`
}

var IssueReady = Op[IssueReadyInput, IssueReadyOutput]{
	Name: "issue_ready", Title: "List ready issues", ReadOnly: true, Idempotent: true,
	Description: "List ready issues: open, no open blocker, no live claim (yours included: see whoami for your claims); oldest first.",
	Run: func(ctx context.Context, s *Session, in IssueReadyInput) (IssueReadyOutput, error) {
		if in.Limit < 0 {
			return IssueReadyOutput{}, newErr(CodeInvalidArgs, "limit must not be negative")
		}
		rows, _, err := s.ready(ctx, store.ReadyFilter{Labels: append(nonEmpty(in.Label), in.Labels...), Assignee: in.Assignee, Limit: in.Limit})
		if err != nil {
			return IssueReadyOutput{}, err
		}
		if rows == nil {
			rows = []IssueSummary{}
		}
		return IssueReadyOutput{Issues: rows}, nil
	},
}

// ready reads the ready queue narrowed by f, leaving out the issues the
// lock refs say are claimed now, and returns the claims it left out.
func (s *Session) ready(ctx context.Context, f store.ReadyFilter) ([]IssueSummary, liveClaims, error) {
	claims, err := s.liveClaims()
	if err != nil {
		return nil, claims, err
	}
	f.Claimed = claims.issues
	rows, err := s.Store().Ready(ctx, f)
	return rows, claims, err
}

// liveClaims are the live issue locks, as the lock refs say.
type liveClaims struct {
	issues  []string        // the claimed issues' IDs
	holders map[string]bool // the claimants' actor IDs
}

func (s *Session) liveClaims() (liveClaims, error) {
	locks, err := s.Locks.Live(s.nowMS())
	if err != nil {
		return liveClaims{}, err
	}
	c := liveClaims{holders: map[string]bool{}}
	for _, l := range locks {
		if id, ok := strings.CutPrefix(l.Resource, "issue:"); ok {
			c.issues = append(c.issues, id)
			c.holders[l.Owner] = true
		}
	}
	return c, nil
}

// ClaimInput claims one issue or the next ready one.
type ClaimInput struct {
	ID   string `json:"id,omitempty"`
	Next bool   `json:"next,omitempty"`
	TTL  string `json:"ttl,omitempty"`
	// Wait, with Next, waits up to this long for an issue to become ready
	// (WaitForWork) instead of failing with not_found at once.
	Wait time.Duration `json:"-"`
}

// ClaimOutput reports a claim.
type ClaimOutput struct {
	IssueID       string   `json:"issue_id"`
	Title         string   `json:"title"`
	Resource      string   `json:"resource"`
	Owner         string   `json:"owner"`
	Assignee      string   `json:"assignee"`
	ExpiresUnixMS uint64   `json:"expires_unix_ms"`
	AlreadyHeld   bool     `json:"already_held"`
	TookOverFrom  string   `json:"took_over_from,omitempty"`
	EventIDs      []string `json:"event_ids"`
	WALHead       string   `json:"wal_head"`
	// Previous is the actor that held the issue before the caller, if
	// another did: so the new owner continues where it stopped.
	Previous *PreviousClaim `json:"previous,omitempty"`
}

// PreviousClaim is the claim an issue had before the caller's: who held
// it, when and how it ended, and what the holder left on the issue.
type PreviousClaim struct {
	Actor   string `json:"actor"`
	Label   string `json:"label,omitempty"`
	EndedTS uint64 `json:"ended_ts"`
	How     string `json:"how"` // released | expired
	// The holder's latest handoff on the issue, and its latest other
	// comment, if any.
	Handoff     *HandoffJSON `json:"handoff,omitempty"`
	LastComment *CommentJSON `json:"last_comment,omitempty"`
}

var IssueClaim = Op[ClaimInput, ClaimOutput]{
	Name: "issue_claim", Title: "Claim an issue", WriteLast: true,
	Description: "Atomically claim an issue (or the next ready one) with a lease and assign it to yourself. " +
		"With next and wait_seconds, waits for an issue to become ready (created, unblocked, released, lease expired) and claims it, " +
		"or fails with not_found when the time is up: how an idle agent waits for work without polling.",
	Run: func(ctx context.Context, s *Session, in ClaimInput) (ClaimOutput, error) {
		ttl, err := ParseTTL(in.TTL, DefaultClaimTTL)
		if err != nil {
			return ClaimOutput{}, err
		}
		if strings.TrimSpace(in.TTL) == "" {
			ttl = 0 // a new claim gets DefaultClaimTTL, a held one keeps its lease
		}
		if in.Wait != 0 && !in.Next {
			return ClaimOutput{}, newErr(CodeInvalidArgs, "a wait is for claiming the next ready issue: give --next (MCP: next: true), not an ID")
		}
		if in.Next == (in.ID != "") {
			return ClaimOutput{}, newErr(CodeInvalidArgs, "give either an issue ID or next, not both or neither")
		}
		if !in.Next {
			id, err := s.ResolveIssue(ctx, in.ID)
			if err != nil {
				return ClaimOutput{}, err
			}
			return s.claim(ctx, id, ttl, false, nil)
		}
		if in.Wait > 0 {
			return WaitForWork(ctx, s.Repo, in.Wait, nil, func() (ClaimOutput, error) {
				if err := s.CatchUp(ctx); err != nil {
					return ClaimOutput{}, err
				}
				return s.claimNext(ctx, ttl)
			})
		}
		return s.claimNext(ctx, ttl)
	},
}

// WorkWait is a claim's wait for work, prepared with a session and run
// without it (see WaitForWork), for servers whose other calls go on.
type WorkWait struct {
	repo *gitdir.Repo
	wait time.Duration
}

// PrepareWorkWait checks the wait.
func (s *Session) PrepareWorkWait(wait time.Duration) (*WorkWait, error) {
	if wait <= 0 || wait > MaxClaimWait {
		return nil, newErr(CodeInvalidArgs, "a claim waits between 0 and %s, not %s", MaxClaimWait, wait)
	}
	return &WorkWait{s.Repo, wait}, nil
}

// Run is WaitForWork.
func (w *WorkWait) Run(ctx context.Context, progress func(done, total time.Duration), try func() (ClaimOutput, error)) (ClaimOutput, error) {
	return WaitForWork(ctx, w.repo, w.wait, progress, try)
}

// MaxClaimWait bounds how long one claim waits for work.
const MaxClaimWait = time.Hour

// claimRetryEvery is how often a waiting claim looks again without a
// change to the refs: leases expire without any file changing.
const claimRetryEvery = time.Second

// WaitForWork runs try (one claim-next) until it claims an issue, fails
// otherwise than with not_found, or wait passes (not_found then). It tries
// again as soon as the WAL or a lock ref moves (an issue created, closed,
// unblocked or released, by any process of the repository or a sync) and
// every second (a lease expiring). Each ready issue goes to one waiter:
// claims are exclusive. progress, if set, is called every ProgressEvery.
func WaitForWork(ctx context.Context, repo *gitdir.Repo, wait time.Duration, progress func(done, total time.Duration), try func() (ClaimOutput, error)) (ClaimOutput, error) {
	if wait > MaxClaimWait {
		return ClaimOutput{}, newErr(CodeInvalidArgs, "a claim waits at most %s, not %s", MaxClaimWait, wait)
	}
	// Watch before the first try, so that nothing between it and the
	// wait goes unnoticed.
	watch, err := watchIssuesAndLocks(repo)
	if err != nil {
		return ClaimOutput{}, err
	}
	defer func() { _ = watch.Close() }()
	start := time.Now()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	retry := time.NewTicker(claimRetryEvery)
	defer retry.Stop()
	var report <-chan time.Time // ticks only for a caller that asked
	if progress != nil {
		t := time.NewTicker(ProgressEvery)
		defer t.Stop()
		report = t.C
	}
	for {
		out, err := try()
		var te *Error
		if !errors.As(err, &te) || te.Code != CodeNotFound {
			return out, err
		}
		select {
		case <-watch.C:
		case <-retry.C:
		case <-report:
			progress(time.Since(start), wait)
		case <-deadline.C:
			return ClaimOutput{}, newErr(CodeNotFound, "no issue became ready to claim within %s", wait).
				suggest("Wait again, or run 'grite issue list --state open' to see what is blocked or claimed")
		case <-ctx.Done():
			return ClaimOutput{}, ctx.Err()
		}
	}
}

// claimNext claims the first ready issue it can lock. Ready excludes every
// live claim, so it never returns one the caller holds. Claimers that
// lose a race move on to the next candidate at once; and while other
// actors hold claims (a sign of concurrent claimers), each call starts at
// a random place among the first few candidates, one per such actor, so
// that claimers spread over the head of the queue instead of all racing
// for its first issue. A lone claimer takes the oldest ready issue.
func (s *Session) claimNext(ctx context.Context, ttl time.Duration) (ClaimOutput, error) {
	// The head of the queue is enough unless every issue in it is taken.
	out, err := s.claimFromHead(ctx, ttl, claimHead)
	if errors.Is(err, errHeadTaken) {
		out, err = s.claimFromHead(ctx, ttl, 0)
	}
	return out, err
}

// claimHead is how many ready issues claim next reads first.
const claimHead = 16

var errHeadTaken = errors.New("every issue at the head of the ready queue was taken")

// claimFromHead tries the first limit ready issues (all with 0).
func (s *Session) claimFromHead(ctx context.Context, ttl time.Duration, limit int) (ClaimOutput, error) {
	ready, claims, err := s.ready(ctx, store.ReadyFilter{Limit: limit})
	if err != nil {
		return ClaimOutput{}, err
	}
	cands := ready
	if len(cands) > 1 {
		others := len(claims.holders)
		if claims.holders[s.Actor.ID.String()] {
			others--
		}
		if window := min(len(cands), others+1); window > 1 {
			// Start at off, then the older ones of the window, then the
			// rest: a claimer that loses near the head stays near it.
			off := rand.IntN(window)
			order := make([]IssueSummary, 0, len(cands))
			order = append(order, cands[off:window]...)
			order = append(order, cands[:off]...)
			cands = append(order, cands[window:]...)
		}
	}
	for i, cand := range cands {
		id, err := event.ParseIssueID(cand.IssueID)
		if err != nil {
			return ClaimOutput{}, err
		}
		// The first candidate is as fresh as a read of it would be; after a
		// lost race, others may have taken and closed the next ones since
		// the queue was read, so those are read again.
		read := &cand
		if i > 0 {
			read = nil
		}
		out, err := s.claim(ctx, id, ttl, true, read)
		var te *Error
		switch {
		case errors.As(err, &te) && te.Code == CodeConflict, errors.Is(err, errHeld):
			continue // someone else got it first, it closed, or it is ours: try the next one
		}
		return out, err
	}
	if limit > 0 && len(ready) == limit {
		return ClaimOutput{}, errHeadTaken
	}
	return ClaimOutput{}, newErr(CodeNotFound, "no ready issue to claim").
		suggest("Run 'grite issue list --claimed-by me' to see your own claims", "Run 'grite issue list --state open' to see blocked or claimed work")
}

// errHeld: claimNext met an issue the caller holds already.
var errHeld = errors.New("claimed by the caller already")

// claim takes id for the caller. A zero ttl gives a new claim
// DefaultClaimTTL and an issue the caller holds its own lease length again.
// With next, an issue the caller holds is errHeld, not renewed. read is
// the issue as the caller has just read it from the view (nil: read it).
func (s *Session) claim(ctx context.Context, id event.IssueID, ttl time.Duration, next bool, read *IssueSummary) (ClaimOutput, error) {
	if read == nil {
		sum, ok, err := s.Store().Issue(ctx, id.String())
		if err != nil {
			return ClaimOutput{}, err
		}
		if !ok {
			return ClaimOutput{}, newErr(CodeNotFound, "issue %s not found", id)
		}
		read = &sum
	}
	sum := *read
	if sum.State != string(event.StateOpen) {
		return ClaimOutput{}, newErr(CodeConflict, "issue %s is closed", id).suggest("Reopen it first with 'grite issue reopen " + id.String()[:8] + "'")
	}
	resource := "issue:" + id.String()
	lease := ttl
	if lease == 0 {
		lease = DefaultClaimTTL
	}
	acq, err := s.Locks.Acquire(resource, s.Actor.ID, lease, s.Now())
	if err != nil {
		return ClaimOutput{}, lockConflict(err)
	}
	if acq.Existing {
		if next {
			return ClaimOutput{}, errHeld
		}
		// Claiming what you hold renews the lease (and says so).
		if acq.Entry, err = s.Locks.Renew(resource, s.Actor.ID, ttl, s.Now()); err != nil {
			return ClaimOutput{}, lockConflict(err)
		}
	}
	me := s.Actor.DisplayName()
	out := ClaimOutput{IssueID: id.String(), Title: sum.Title, Resource: resource, Owner: s.Actor.ID.String(),
		Assignee: me, ExpiresUnixMS: acq.Entry.Lock.ExpiresUnixMS, AlreadyHeld: acq.Existing, EventIDs: []string{}}
	if acq.Previous != nil && acq.Previous.Owner != s.Actor.ID.String() {
		if out.Previous, err = s.previousClaim(ctx, id, *acq.Previous, acq.PreviousWritten); err != nil {
			return out, err
		}
	}
	var kinds []event.Kind
	if acq.Previous != nil && acq.Previous.Owner != s.Actor.ID.String() && acq.Previous.ExpiresUnixMS != 0 {
		// Taking over an expired claim: drop the stale claimant's assignment.
		stale, err := s.claimValue(ctx, id, acq.Previous.Owner)
		if err != nil {
			return out, err
		}
		if stale != "" && stale != me && contains(sum.Assignees, stale) {
			kinds = append(kinds, event.AssigneeRemoved{User: stale})
			out.TookOverFrom = acq.Previous.Owner
		}
	}
	if !contains(sum.Assignees, me) {
		kinds = append(kinds, event.AssigneeAdded{User: me})
	}
	if len(kinds) > 0 {
		// The claim's own assignment: the lease was set just now.
		s.skipHeartbeat = true
		r, err := s.writeEventsSeen(ctx, id, &sum.UpdatedTS, kinds...)
		s.skipHeartbeat = false
		if err != nil {
			if !acq.Existing {
				_, _ = s.Locks.Release(resource, s.Actor.ID, s.Now()) // best effort: do not strand the lease
			}
			return out, err
		}
		out.EventIDs = append(out.EventIDs, r.EventID)
		out.EventIDs = append(out.EventIDs, r.EventIDs...)
		out.WALHead = r.WALHead
	}
	if out.WALHead == "" {
		h, err := s.WAL.Head()
		if err != nil {
			return out, err
		}
		out.WALHead = hashOrEmpty(h)
	}
	out.EventIDs = dedupe(out.EventIDs)
	if !s.deferView {
		// Every reader of the view's lock cache (whoami, the board, a list
		// by claimant) refreshes it first, so a session that answers before
		// its view update leaves this to the next. The ready queue reads
		// the lock refs themselves.
		s.refreshLockCache(ctx)
	}
	return out, nil
}

// previousClaim describes the claim prev that the caller's took over.
func (s *Session) previousClaim(ctx context.Context, id event.IssueID, prev lock.Lock, written time.Time) (*PreviousClaim, error) {
	p := &PreviousClaim{Actor: prev.Owner, How: "expired", EndedTS: prev.ExpiresUnixMS}
	if prev.ExpiresUnixMS == 0 {
		p.How, p.EndedTS = "released", uint64(written.UnixMilli())
	}
	if a, err := s.Grite.Load(prev.Owner); err == nil {
		p.Label = a.Config.Label
	}
	events, err := s.Store().IssueEvents(ctx, id)
	if err != nil {
		return nil, err
	}
	SortByVersion(events)
	for i := len(events) - 1; i >= 0 && (p.Handoff == nil || p.LastComment == nil); i-- {
		e := events[i]
		c, ok := e.Kind.(event.CommentAdded)
		if !ok || e.Actor.String() != prev.Owner {
			continue
		}
		if h, ok := handoff.Parse(c.Body); ok {
			if p.Handoff == nil {
				h.Actor = prev.Owner
				p.Handoff = &HandoffJSON{EventID: e.ID.String(), TS: e.TS, Handoff: h}
			}
		} else if p.LastComment == nil {
			p.LastComment = &CommentJSON{e.ID.String(), prev.Owner, e.TS, oneLine(c.Body, MaxCommentExcerpt)}
		}
	}
	return p, nil
}

// Describe says in a few lines who held the issue before and what they
// left, for the CLI's and MCP's text.
func (p *PreviousClaim) Describe() string {
	var b strings.Builder
	who := p.Actor
	if len(who) > 8 {
		who = who[:8]
	}
	if p.Label != "" {
		who += " (" + p.Label + ")"
	}
	fmt.Fprintf(&b, "previously held by %s: %s at %s", who, p.How, time.UnixMilli(int64(p.EndedTS)).UTC().Format(time.RFC3339))
	if h := p.Handoff; h != nil {
		fmt.Fprintf(&b, "\ntheir handoff: done: %s; next: %s", oneLine(h.Done, 200), oneLine(h.Next, 200))
		if h.Blocker != "" {
			fmt.Fprintf(&b, "; blocker: %s", oneLine(h.Blocker, 200))
		}
	}
	if c := p.LastComment; c != nil {
		fmt.Fprintf(&b, "\ntheir last comment: %s", oneLine(c.Body, 200))
	}
	return b.String()
}

// MaxCommentExcerpt bounds the comment a claim result quotes.
const MaxCommentExcerpt = 2000

// heartbeat renews the caller's live claim on issue (e: its lock, as read
// before the write) after it wrote to the issue: an agent that keeps reporting keeps its claim, one that goes
// silent loses it when the lease runs out. The lease gets its own length
// again; a claim renewed within the last tenth of its length (at most a
// minute) is left as it is, so a burst of writes renews once. Best effort:
// the write is done, so a failure only warns.
func (s *Session) heartbeat(issue event.IssueID, e lock.Entry) {
	resource := "issue:" + issue.String()
	now := s.Now()
	if !e.Lock.Live(uint64(now.UnixMilli())) || e.Lock.Owner != s.Actor.ID.String() {
		return
	}
	lease := e.Lease()
	// Written is the lock commit's time, whole seconds: a second of slack
	// keeps a write right after the claim from renewing it again.
	if lease <= 0 || now.Sub(e.Written) < min(lease/10, time.Minute)+time.Second {
		return
	}
	if _, err := s.Locks.Renew(resource, s.Actor.ID, lease, now); err != nil {
		s.warn(fmt.Sprintf("your claim on %s was not renewed (%v); it expires at %s unless renewed", issue, err,
			time.UnixMilli(int64(e.Lock.ExpiresUnixMS)).UTC().Format(time.RFC3339)))
	}
}

// claimValue finds the assignee value an actor's claim wrote on an issue:
// the latest AssigneeAdded by that actor (its label is not known locally
// when it is another clone's actor).
func (s *Session) claimValue(ctx context.Context, id event.IssueID, owner string) (string, error) {
	if a, err := s.Grite.Load(owner); err == nil {
		return a.DisplayName(), nil
	}
	events, err := s.Store().IssueEvents(ctx, id)
	if err != nil {
		return "", err
	}
	SortByVersion(events)
	val := ""
	for _, e := range events {
		if k, ok := e.Kind.(event.AssigneeAdded); ok && e.Actor.String() == owner {
			val = k.User
		}
	}
	if val == "" {
		val = owner
	}
	return val, nil
}

func contains(vs []string, v string) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

// ReleaseInput releases a claim.
type ReleaseInput struct {
	ID string `json:"id"`
}

// ReleaseOutput reports a released claim.
type ReleaseOutput struct {
	IssueID  string `json:"issue_id"`
	Resource string `json:"resource"`
	Released bool   `json:"released"`
	EventID  string `json:"event_id,omitempty"`
	WALHead  string `json:"wal_head"`
}

var IssueRelease = Op[ReleaseInput, ReleaseOutput]{
	Name: "issue_release", Title: "Release a claim", Idempotent: true,
	Description: "Release your claim on an issue.",
	Run: func(ctx context.Context, s *Session, in ReleaseInput) (ReleaseOutput, error) {
		id, err := s.ResolveIssue(ctx, in.ID)
		if err != nil {
			return ReleaseOutput{}, err
		}
		resource := "issue:" + id.String()
		out := ReleaseOutput{IssueID: id.String(), Resource: resource}
		if _, err := s.Locks.Release(resource, s.Actor.ID, s.Now()); err != nil {
			var ce *lock.ConflictError
			if errors.As(err, &ce) {
				return out, lockConflict(ce)
			}
			return out, err
		}
		sum, _, err := s.Store().Issue(ctx, id.String())
		if err != nil {
			return out, err
		}
		out.Released = true
		if me := s.Actor.DisplayName(); contains(sum.Assignees, me) {
			r, err := s.writeEvents(ctx, id, event.AssigneeRemoved{User: me})
			if err != nil {
				return out, err
			}
			out.EventID, out.WALHead = r.EventID, r.WALHead
		} else {
			h, err := s.WAL.Head()
			if err != nil {
				return out, err
			}
			out.WALHead = hashOrEmpty(h)
		}
		s.refreshLockCache(ctx)
		return out, nil
	},
}

// nonEmpty is s alone, or nothing when s is empty.
func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}
