package tools

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"grite/actor"
	"grite/crdt"
	"grite/event"
	"grite/lock"
	"grite/store"
)

// DefaultClaimTTL and DefaultLockTTL (locks-and-claims notes; FORMAT.md §8).
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

// refreshLocks brings the view's lock cache up to date with refs/grite/locks/*
// (the lock Manager re-reads only the lock refs changed since it last looked).
func (s *Session) refreshLocks(ctx context.Context) error {
	locks, err := s.Locks.List()
	if err != nil {
		return err
	}
	cached, err := s.Store.LockCommits(ctx)
	if err != nil {
		return err
	}
	var changed []store.CachedLock
	var removed []string
	live := make(map[string]bool, len(locks))
	for _, e := range locks {
		live[e.Ref] = true
		if cached[e.Ref] != e.Commit.String() {
			changed = append(changed, store.CachedLock{Ref: e.Ref, Commit: e.Commit.String(), Resource: e.Lock.Resource, Owner: e.Lock.Owner, Expires: e.Lock.ExpiresUnixMS})
		}
	}
	for ref := range cached {
		if !live[ref] {
			removed = append(removed, ref) // deleted, or unreadable: holds nothing
		}
	}
	if len(changed) == 0 && len(removed) == 0 {
		return nil
	}
	return s.Store.Update(ctx, func(tx *store.Tx) error { return tx.SetLocks(changed, removed) })
}

// refreshLockCache refreshes the view's lock cache after a lock change
// that has happened: a failure there does not undo it (the next read
// refreshes again), so it is a warning, not the operation's error.
func (s *Session) refreshLockCache(ctx context.Context) {
	if err := s.refreshLocks(ctx); err != nil {
		s.warn(fmt.Sprintf("the view's lock cache was not refreshed (%v); the next command refreshes it", err))
	}
}

// checkLockPolicy applies lock_policy to a write on issue: warn about or
// refuse a live issue lock held by another actor.
func (s *Session) checkLockPolicy(issue event.IssueID) error {
	return s.applyLockPolicy("issue:" + issue.String())
}

// applyLockPolicy warns about (warn) or refuses (require) a write while
// another actor holds a live lock on resource; writes check issue:<id>,
// sync's push checks repo:global (FORMAT.md §8).
func (s *Session) applyLockPolicy(resource string) error {
	cfg, err := s.Grite.LoadRepoConfig()
	if err != nil {
		return err
	}
	policy := cfg.LockPolicyValue()
	if policy == actor.PolicyOff {
		return nil
	}
	e, ok, err := s.Locks.Read(lock.RefName(resource))
	if err != nil || !ok {
		return err
	}
	now := s.nowMS()
	if !e.Lock.Live(now) || e.Lock.Owner == s.Actor.ID.String() {
		return nil
	}
	ce := &lock.ConflictError{Resource: e.Lock.Resource, Holder: e.Lock.Owner, ExpiresUnixMS: e.Lock.ExpiresUnixMS, NowMS: now}
	if policy == actor.PolicyRequire {
		return lockConflict(ce)
	}
	s.warn(ce.Error())
	return nil
}

// DepInput adds or removes a dependency.
type DepInput struct {
	ID     string `json:"id"`
	Target string `json:"target"`
	Type   string `json:"type"`
	Action string `json:"action"`
}

// DepOutput reports a dependency change.
type DepOutput struct {
	EventID string `json:"event_id"`
	IssueID string `json:"issue_id"`
	Target  string `json:"target"`
	DepType string `json:"dep_type"`
	Action  string `json:"action"` // added | removed | unchanged
	WALHead string `json:"wal_head"`
	// Changed is false when the edge already was as asked (no event
	// written, event_id empty); Message says so.
	Changed bool   `json:"changed"`
	Message string `json:"message,omitempty"`
}

var IssueDep = Op[DepInput, DepOutput]{
	Name: "issue_dep", Title: "Add or remove a dependency", Idempotent: true,
	Description: "Add or remove a dependency edge: 'A blocks B' (B waits for A), 'A depends_on B' (A waits for B), or related_to.",
	Run: func(ctx context.Context, s *Session, in DepInput) (DepOutput, error) {
		if in.Action != "add" && in.Action != "remove" {
			return DepOutput{}, newErr(CodeInvalidArgs, "action must be add or remove, got %q", in.Action)
		}
		if in.Type == "" {
			in.Type = string(event.DepDependsOn)
		}
		dt, err := event.ParseDepType(in.Type)
		if err != nil {
			return DepOutput{}, newErr(CodeInvalidArgs, "%v", err)
		}
		src, err := s.ResolveIssue(ctx, in.ID)
		if err != nil {
			return DepOutput{}, err
		}
		tgt, err := s.ResolveIssue(ctx, in.Target)
		if err != nil {
			return DepOutput{}, err
		}
		if in.Action == "add" && src == tgt {
			// Bad input, not a cycle: no existing edge is to blame. Removing
			// one stays allowed, for edges written before this check.
			return DepOutput{}, newErr(CodeInvalidArgs, "issue %s cannot have a dependency on itself: the target must be another issue", src)
		}
		if s.ViewBehind() {
			if err := s.CatchUp(ctx); err != nil {
				return DepOutput{}, err
			}
		}
		deps, err := s.Store.Deps(ctx, src.String(), false)
		if err != nil {
			return DepOutput{}, err
		}
		exists := slices.ContainsFunc(deps, func(d store.Dep) bool { return d.IssueID == tgt.String() && d.DepType == string(dt) })
		if exists == (in.Action == "add") {
			// Already as asked: an event would report a change that did
			// not happen.
			head, err := s.WAL.Head()
			if err != nil {
				return DepOutput{}, err
			}
			msg := fmt.Sprintf("%s already %s %s", src.String()[:8], strings.ReplaceAll(string(dt), "_", " "), tgt.String()[:8])
			if !exists {
				msg = fmt.Sprintf("%s has no %s edge to %s", src.String()[:8], dt, tgt.String()[:8])
			}
			return DepOutput{IssueID: src.String(), Target: tgt.String(), DepType: string(dt), Action: "unchanged", WALHead: hashOrEmpty(head), Message: msg}, nil
		}
		var k event.Kind = event.DependencyRemoved{Target: tgt, Type: dt}
		if in.Action == "add" {
			if err := s.checkCycle(ctx, src, tgt, dt); err != nil {
				return DepOutput{}, err
			}
			k = event.DependencyAdded{Target: tgt, Type: dt}
		}
		r, err := s.writeEvents(ctx, src, k)
		if err != nil {
			return DepOutput{}, err
		}
		return DepOutput{EventID: r.EventID, IssueID: src.String(), Target: tgt.String(), DepType: string(dt), Action: map[string]string{"add": "added", "remove": "removed"}[in.Action], WALHead: r.WALHead, Changed: true}, nil
	},
}

func waitEdges(edges []store.Edge) []crdt.WaitEdge {
	out := make([]crdt.WaitEdge, 0, len(edges))
	for _, e := range edges {
		src, err1 := event.ParseIssueID(e.Source)
		tgt, err2 := event.ParseIssueID(e.Target)
		if err1 != nil || err2 != nil {
			continue
		}
		if w, ok := crdt.WaitEdgeOf(src, tgt, event.DepType(e.DepType)); ok {
			out = append(out, w)
		}
	}
	return out
}

// checkCycle refuses an edge that would make issues wait on each other. It
// checks blocks and depends_on together (both mean "waits for"), which is
// stricter than the original's same-type check and catches mixed cycles.
func (s *Session) checkCycle(ctx context.Context, src, tgt event.IssueID, dt event.DepType) error {
	w, ok := crdt.WaitEdgeOf(src, tgt, dt)
	if !ok {
		return nil
	}
	edges, err := s.Store.AllDeps(ctx)
	if err != nil {
		return err
	}
	cycle := crdt.CycleWith(waitEdges(edges), w)
	if cycle == nil {
		return nil
	}
	ids := make([]string, len(cycle))
	for i, c := range cycle {
		ids[i] = c.String()
	}
	short := make([]string, len(ids))
	for i, id := range ids {
		short[i] = id[:8]
	}
	return newErr(CodeConflict, "dependency would create a cycle: %s (each waits for the next)", strings.Join(short, " -> ")).
		with("cycle", ids).suggest("Remove one of the existing edges first with 'grite issue dep remove'")
}

// DepListInput selects an issue's edges.
type DepListInput struct {
	ID      string `json:"id"`
	Reverse bool   `json:"reverse,omitempty"`
}

// DepListItem is one edge in a listing.
type DepListItem struct {
	IssueID string `json:"issue_id"`
	DepType string `json:"dep_type"`
	Title   string `json:"title"`
	State   string `json:"state"`
}

// DepRelation is one edge seen from the listed issue: an edge stored as
// "A blocks B" reads "blocks B" on A and "blocked by A" on B.
type DepRelation struct {
	// Relation is blocks, blocked_by, depends_on, needed_by or related_to.
	Relation string `json:"relation"`
	IssueID  string `json:"issue_id"`
	DepType  string `json:"dep_type"`
	// Incoming is set when the edge is stored on the other issue.
	Incoming bool   `json:"incoming"`
	Title    string `json:"title"`
	State    string `json:"state"`
}

// Phrase is the relation in words, for human output.
func (r DepRelation) Phrase() string { return strings.ReplaceAll(r.Relation, "_", " ") }

// DepListOutput lists an issue's dependencies or dependents (Deps, as
// Direction says) and, in Relations, its edges in both directions.
type DepListOutput struct {
	IssueID   string        `json:"issue_id"`
	Direction string        `json:"direction"`
	Deps      []DepListItem `json:"deps"`
	Relations []DepRelation `json:"relations"`
}

// relationOf words an edge from the listed issue's side.
func relationOf(depType string, incoming bool) string {
	switch {
	case !incoming:
		return depType
	case depType == string(event.DepBlocks):
		return "blocked_by"
	case depType == string(event.DepDependsOn):
		return "needed_by"
	}
	return depType
}

// relations lists an issue's edges both ways: those it stores, then those
// other issues store pointing at it.
func (s *Session) relations(ctx context.Context, id string) ([]DepRelation, error) {
	out := []DepRelation{}
	for _, incoming := range []bool{false, true} {
		deps, err := s.Store.Deps(ctx, id, incoming)
		if err != nil {
			return nil, err
		}
		for _, d := range deps {
			out = append(out, DepRelation{relationOf(d.DepType, incoming), d.IssueID, d.DepType, incoming, d.Title, d.State})
		}
	}
	return out, nil
}

var DepList = Op[DepListInput, DepListOutput]{
	Name: "dep_list", Title: "List dependencies", ReadOnly: true, Idempotent: true,
	Run: func(ctx context.Context, s *Session, in DepListInput) (DepListOutput, error) {
		id, err := s.ResolveIssue(ctx, in.ID)
		if err != nil {
			return DepListOutput{}, err
		}
		deps, err := s.Store.Deps(ctx, id.String(), in.Reverse)
		if err != nil {
			return DepListOutput{}, err
		}
		out := DepListOutput{IssueID: id.String(), Direction: "dependencies", Deps: []DepListItem{}}
		if in.Reverse {
			out.Direction = "dependents"
		}
		for _, d := range deps {
			out.Deps = append(out.Deps, DepListItem{d.IssueID, d.DepType, d.Title, d.State})
		}
		if out.Relations, err = s.relations(ctx, id.String()); err != nil {
			return DepListOutput{}, err
		}
		return out, nil
	},
}

// DepTopoInput filters the topological listing.
type DepTopoInput struct {
	State string `json:"state,omitempty"`
	Label string `json:"label,omitempty"`
}

// DepTopoOutput lists issues so that each comes after what it waits for.
type DepTopoOutput struct {
	Issues []IssueSummary `json:"issues"`
	Order  string         `json:"order"`
	Cycles [][]string     `json:"cycles"`
}

var DepTopo = Op[DepTopoInput, DepTopoOutput]{
	Name: "dep_topo", Title: "Issues in dependency order", ReadOnly: true, Idempotent: true,
	Run: func(ctx context.Context, s *Session, in DepTopoInput) (DepTopoOutput, error) {
		list, err := IssueList.Run(ctx, s, IssueListInput{State: in.State, Label: in.Label})
		if err != nil {
			return DepTopoOutput{}, err
		}
		edges, err := s.Store.AllDeps(ctx)
		if err != nil {
			return DepTopoOutput{}, err
		}
		we := waitEdges(edges)
		byID := map[event.IssueID]IssueSummary{}
		nodes := make([]event.IssueID, 0, len(list.Issues))
		for _, i := range list.Issues {
			id, _ := event.ParseIssueID(i.IssueID)
			byID[id] = i
			nodes = append(nodes, id)
		}
		out := DepTopoOutput{Order: "topological", Issues: make([]IssueSummary, 0, len(nodes)), Cycles: [][]string{}}
		for _, id := range crdt.Topo(nodes, we) {
			out.Issues = append(out.Issues, byID[id])
		}
		for _, c := range crdt.Cycles(we) {
			ids := make([]string, len(c))
			for i, id := range c {
				ids[i] = id.String()
			}
			out.Cycles = append(out.Cycles, ids)
		}
		return out, nil
	},
}

// IssueReadyInput filters the ready queue.
type IssueReadyInput struct {
	Label    string `json:"label,omitempty"`
	Assignee string `json:"assignee,omitempty"`
	Limit    int    `json:"limit,omitempty"`
}

// IssueReadyOutput is the ready queue, oldest first.
type IssueReadyOutput struct {
	Issues []IssueSummary `json:"issues"`
}

var IssueReady = Op[IssueReadyInput, IssueReadyOutput]{
	Name: "issue_ready", Title: "List ready issues", ReadOnly: true, Idempotent: true,
	Description: "Open issues with no open blocker and no live claim (yours included), oldest first.",
	Run: func(ctx context.Context, s *Session, in IssueReadyInput) (IssueReadyOutput, error) {
		if in.Limit < 0 {
			return IssueReadyOutput{}, newErr(CodeInvalidArgs, "limit must not be negative")
		}
		if err := s.refreshLocks(ctx); err != nil {
			return IssueReadyOutput{}, err
		}
		rows, err := s.Store.Ready(ctx, store.ReadyFilter{Label: in.Label, Assignee: in.Assignee, Limit: in.Limit, NowMS: s.nowMS()})
		if err != nil {
			return IssueReadyOutput{}, err
		}
		if rows == nil {
			rows = []IssueSummary{}
		}
		return IssueReadyOutput{Issues: rows}, nil
	},
}

// ClaimInput claims one issue or the next ready one.
type ClaimInput struct {
	ID   string `json:"id,omitempty"`
	Next bool   `json:"next,omitempty"`
	TTL  string `json:"ttl,omitempty"`
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
}

var IssueClaim = Op[ClaimInput, ClaimOutput]{
	Name: "issue_claim", Title: "Claim an issue",
	Description: "Atomically take an issue (or the next ready one) with a lease lock and assign it to yourself.",
	Run: func(ctx context.Context, s *Session, in ClaimInput) (ClaimOutput, error) {
		ttl, err := ParseTTL(in.TTL, DefaultClaimTTL)
		if err != nil {
			return ClaimOutput{}, err
		}
		if strings.TrimSpace(in.TTL) == "" {
			ttl = 0 // a new claim gets DefaultClaimTTL, a held one keeps its lease
		}
		if in.Next == (in.ID != "") {
			return ClaimOutput{}, newErr(CodeInvalidArgs, "give either an issue ID or next, not both or neither")
		}
		if !in.Next {
			id, err := s.ResolveIssue(ctx, in.ID)
			if err != nil {
				return ClaimOutput{}, err
			}
			return s.claim(ctx, id, ttl, false)
		}
		return s.claimNext(ctx, ttl)
	},
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
const claimHead = 64

var errHeadTaken = errors.New("every issue at the head of the ready queue was taken")

// claimFromHead tries the first limit ready issues (all with 0).
func (s *Session) claimFromHead(ctx context.Context, ttl time.Duration, limit int) (ClaimOutput, error) {
	ready, err := IssueReady.Run(ctx, s, IssueReadyInput{Limit: limit})
	if err != nil {
		return ClaimOutput{}, err
	}
	cands := ready.Issues
	if len(cands) > 1 {
		others, err := s.Store.ClaimHolders(ctx, s.Actor.ID.String(), s.nowMS())
		if err != nil {
			return ClaimOutput{}, err
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
	for _, cand := range cands {
		id, err := event.ParseIssueID(cand.IssueID)
		if err != nil {
			return ClaimOutput{}, err
		}
		out, err := s.claim(ctx, id, ttl, true)
		var te *Error
		switch {
		case errors.As(err, &te) && te.Code == CodeConflict, errors.Is(err, errHeld):
			continue // someone else got it first, it closed, or it is ours: try the next one
		}
		return out, err
	}
	if limit > 0 && len(ready.Issues) == limit {
		return ClaimOutput{}, errHeadTaken
	}
	return ClaimOutput{}, newErr(CodeNotFound, "no ready issue to claim").
		suggest("Run 'grite issue list --claimed-by me' to see your own claims", "Run 'grite issue list --state open' to see blocked or claimed work")
}

// errHeld: claimNext met an issue the caller holds already.
var errHeld = errors.New("claimed by the caller already")

// claim takes id for the caller. A zero ttl gives a new claim
// DefaultClaimTTL and an issue the caller holds its own lease length again.
// With next, an issue the caller holds is errHeld, not renewed.
func (s *Session) claim(ctx context.Context, id event.IssueID, ttl time.Duration, next bool) (ClaimOutput, error) {
	sum, ok, err := s.Store.Issue(ctx, id.String())
	if err != nil {
		return ClaimOutput{}, err
	}
	if !ok {
		return ClaimOutput{}, newErr(CodeNotFound, "issue %s not found", id)
	}
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
		r, err := s.writeEvents(ctx, id, kinds...)
		if err != nil {
			if !acq.Existing {
				s.Locks.Release(resource, s.Actor.ID, s.Now()) // best effort: do not strand the lease
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
	s.refreshLockCache(ctx)
	return out, nil
}

// claimValue finds the assignee value an actor's claim wrote on an issue:
// the latest AssigneeAdded by that actor (its label is not known locally
// when it is another clone's actor).
func (s *Session) claimValue(ctx context.Context, id event.IssueID, owner string) (string, error) {
	if a, err := s.Grite.Load(owner); err == nil {
		return a.DisplayName(), nil
	}
	events, err := s.Store.IssueEvents(ctx, id)
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
	Description: "Release your claim on an issue: frees the lease and removes your assignment.",
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
		sum, _, err := s.Store.Issue(ctx, id.String())
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
	Description: "Lease locks on resources repo:NAME, path:PATH or issue:ID; acquire fails with conflict naming the holder.",
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
	Description: "List live locks; with a resource, also which of them conflict with it.",
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
func LockGC(ctx context.Context, s *Session) (LockGCOutput, error) {
	pruned, err := s.Locks.GC(s.Now())
	out := LockGCOutput{Pruned: []LockJSON{}}
	for _, e := range pruned {
		out.Pruned = append(out.Pruned, s.lockJSON(e.Lock))
	}
	out.ExpiredPruned = len(out.Pruned)
	return out, err
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
