package tools

// The operations behind grite serve's web board: the board's columns, one
// issue's page, the activity feed newest first, the actors with their
// claims, and clearing a claim whose holder let its lease run out. Each is
// one read (or one write) the board makes per page, so a page costs one
// call and the CLI and MCP could offer the same.

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"
	"time"

	"grite/crdt"
	"grite/event"
	"grite/gitdir"
	"grite/lock"
	"grite/store"
	"grite/wal"
)

// Board limits.
const (
	DefaultBoardColumn = 100 // cards per open column
	DefaultBoardClosed = 20  // recently closed cards
	MaxBoardColumn     = 5000
)

// BoardInput filters the board: an issue must match every filter given.
type BoardInput struct {
	Label    string `json:"label,omitempty"`
	Assignee string `json:"assignee,omitempty"`
	Query    string `json:"query,omitempty"`
	// Limit bounds the cards of each open column (Ready, Claimed,
	// Blocked); Closed bounds the recently closed ones. The columns'
	// totals count every matching issue.
	Limit  int `json:"limit,omitempty"`
	Closed int `json:"closed,omitempty"`
}

// IssueRef names another issue briefly.
type IssueRef struct {
	IssueID string `json:"issue_id"`
	Title   string `json:"title"`
	State   string `json:"state"`
}

// BoardClaim is a claim on an issue: live (Claimed column) or expired
// with the issue still open (Stale: its holder stopped renewing it).
type BoardClaim struct {
	Owner         string `json:"owner"`
	OwnerLabel    string `json:"owner_label,omitempty"`
	ExpiresUnixMS uint64 `json:"expires_unix_ms"`
	Live          bool   `json:"live"`
}

// BoardCard is one issue on the board.
type BoardCard struct {
	IssueSummary
	// Claim is the live claim (Claimed) or an expired one nobody took
	// over since (any open column).
	Claim *BoardClaim `json:"claim,omitempty"`
	// BlockedBy are the open issues this one waits for (Blocked).
	BlockedBy []IssueRef `json:"blocked_by,omitempty"`
}

// BoardColumn is a column's first cards and how many match in all.
type BoardColumn struct {
	Cards []BoardCard `json:"cards"`
	Total int         `json:"total"`
}

// BoardOutput is the board: open issues split into Ready (no open blocker,
// no live claim), Claimed (a live claim) and Blocked (waiting for open
// issues), and the most recently closed.
type BoardOutput struct {
	Ready   BoardColumn `json:"ready"`
	Claimed BoardColumn `json:"claimed"`
	Blocked BoardColumn `json:"blocked"`
	Closed  BoardColumn `json:"closed"`
	// Labels and Assignees are those of the matching issues, sorted: what
	// a filter may pick next.
	Labels    []string `json:"labels"`
	Assignees []string `json:"assignees"`
	NowUnixMS uint64   `json:"now_unix_ms"`
}

var Board = Op[BoardInput, BoardOutput]{
	Name: "board", Title: "Board", ReadOnly: true, Idempotent: true,
	Description: "Open issues in columns (ready, claimed with holder and lease, blocked with blockers) and the recently closed, filtered by label, assignee and text.",
	Run: func(ctx context.Context, s *Session, in BoardInput) (BoardOutput, error) {
		if in.Limit < 0 || in.Closed < 0 || in.Limit > MaxBoardColumn || in.Closed > MaxBoardColumn {
			return BoardOutput{}, InvalidArgs("column limits must be between 0 and %d", MaxBoardColumn)
		}
		if in.Limit == 0 {
			in.Limit = DefaultBoardColumn
		}
		if in.Closed == 0 {
			in.Closed = DefaultBoardClosed
		}
		if err := s.refreshLocks(ctx); err != nil {
			return BoardOutput{}, err
		}
		now := s.nowMS()
		rows, _, err := s.Store().ListIssues(ctx, store.Filter{Labels: nonEmpty(in.Label), Assignee: in.Assignee, Search: in.Query})
		if err != nil {
			return BoardOutput{}, err
		}
		claims, err := s.issueClaims(now)
		if err != nil {
			return BoardOutput{}, err
		}
		waits, err := s.waitsFor(ctx, rows)
		if err != nil {
			return BoardOutput{}, err
		}
		labels := actorLabels(s.Grite)
		out := BoardOutput{NowUnixMS: now, Labels: []string{}, Assignees: []string{}}
		var closed []IssueSummary
		seenLabel, seenUser := map[string]bool{}, map[string]bool{}
		for _, r := range rows {
			for _, l := range r.Labels {
				seenLabel[l] = true
			}
			for _, a := range r.Assignees {
				seenUser[a] = true
			}
			if r.State != string(event.StateOpen) {
				closed = append(closed, r)
				continue
			}
			card := BoardCard{IssueSummary: r}
			if c, ok := claims[r.IssueID]; ok {
				c.OwnerLabel = labels[c.Owner]
				card.Claim = &c
			}
			card.BlockedBy = waits[r.IssueID]
			col := &out.Ready
			switch {
			case card.Claim != nil && card.Claim.Live:
				col = &out.Claimed
			case len(card.BlockedBy) > 0:
				col = &out.Blocked
			}
			col.Total++
			if len(col.Cards) < in.Limit {
				col.Cards = append(col.Cards, card)
			}
		}
		// Claims ending soonest first: those are the ones to watch.
		slices.SortStableFunc(out.Claimed.Cards, func(a, b BoardCard) int {
			return int(int64(a.Claim.ExpiresUnixMS) - int64(b.Claim.ExpiresUnixMS))
		})
		sort.SliceStable(closed, func(i, j int) bool { return closed[i].UpdatedTS > closed[j].UpdatedTS })
		out.Closed.Total = len(closed)
		for _, r := range closed[:min(len(closed), in.Closed)] {
			out.Closed.Cards = append(out.Closed.Cards, BoardCard{IssueSummary: r})
		}
		for _, col := range []*BoardColumn{&out.Ready, &out.Claimed, &out.Blocked, &out.Closed} {
			if col.Cards == nil {
				col.Cards = []BoardCard{}
			}
		}
		for l := range seenLabel {
			out.Labels = append(out.Labels, l)
		}
		for a := range seenUser {
			out.Assignees = append(out.Assignees, a)
		}
		sort.Strings(out.Labels)
		sort.Strings(out.Assignees)
		return out, nil
	},
}

// issueClaims maps issue IDs to their live claims and their expired ones
// (a lease that ran out without a release). Released locks are no claims.
func (s *Session) issueClaims(now uint64) (map[string]BoardClaim, error) {
	all, err := s.Locks.List()
	if err != nil {
		return nil, err
	}
	out := map[string]BoardClaim{}
	for _, e := range all {
		id, ok := strings.CutPrefix(e.Lock.Resource, "issue:")
		if !ok || e.Lock.ExpiresUnixMS == 0 {
			continue
		}
		out[id] = BoardClaim{Owner: e.Lock.Owner, ExpiresUnixMS: e.Lock.ExpiresUnixMS, Live: e.Lock.Live(now)}
	}
	return out, nil
}

// waitsFor maps each open issue of rows to the open issues it waits for
// (blocks and depends_on edges), oldest first.
func (s *Session) waitsFor(ctx context.Context, rows []IssueSummary) (map[string][]IssueRef, error) {
	edges, err := s.Store().AllDeps(ctx)
	if err != nil || len(edges) == 0 {
		return nil, err
	}
	byID := make(map[string]*IssueSummary, len(rows))
	for i := range rows {
		byID[rows[i].IssueID] = &rows[i]
	}
	pairs := map[string][]string{}
	var missing []string
	for _, w := range waitEdges(edges) {
		waiter, target := w.From.String(), w.To.String()
		if r, ok := byID[waiter]; !ok || r.State != string(event.StateOpen) {
			continue
		}
		pairs[waiter] = append(pairs[waiter], target)
		if _, ok := byID[target]; !ok {
			missing = append(missing, target) // filtered out of rows
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		more, err := s.Store().Summaries(ctx, slices.Compact(missing))
		if err != nil {
			return nil, err
		}
		for i := range more {
			byID[more[i].IssueID] = &more[i]
		}
	}
	out := map[string][]IssueRef{}
	for waiter, targets := range pairs {
		for _, t := range targets {
			r, ok := byID[t]
			if !ok || r.State != string(event.StateOpen) {
				continue // a closed blocker no longer blocks
			}
			out[waiter] = append(out[waiter], IssueRef{r.IssueID, r.Title, r.State})
		}
		refs := out[waiter]
		slices.SortFunc(refs, func(a, b IssueRef) int { return strings.Compare(a.IssueID, b.IssueID) })
		out[waiter] = slices.CompactFunc(refs, func(a, b IssueRef) bool { return a.IssueID == b.IssueID })
	}
	return out, nil
}

// BoardIssueInput selects one issue.
type BoardIssueInput struct {
	ID string `json:"id"`
}

// BoardIssueOutput is everything the issue page shows: the issue (with
// its relations and latest handoff), its events as a timeline oldest
// first, its claim, and the labels of the actors named.
type BoardIssueOutput struct {
	Issue    IssueDetail   `json:"issue"`
	Timeline []ChangeEvent `json:"timeline"`
	Claim    *BoardClaim   `json:"claim,omitempty"`
	// ActorLabels maps the IDs of this clone's actors to their labels.
	ActorLabels map[string]string `json:"actor_labels"`
	NowUnixMS   uint64            `json:"now_unix_ms"`
}

var BoardIssue = Op[BoardIssueInput, BoardIssueOutput]{
	Name: "board_issue", Title: "Issue page", ReadOnly: true, Idempotent: true,
	Description: "One issue with its relations, latest handoff, claim and event timeline.",
	Run: func(ctx context.Context, s *Session, in BoardIssueInput) (BoardIssueOutput, error) {
		id, err := s.ResolveIssue(ctx, in.ID)
		if err != nil {
			return BoardIssueOutput{}, err
		}
		events, err := s.Store().IssueEvents(ctx, id)
		if err != nil {
			return BoardIssueOutput{}, err
		}
		iss, ok := crdt.FoldIssue(id, events)
		if !ok {
			return BoardIssueOutput{}, newErr(CodeNotFound, "issue %s not found", id)
		}
		SortByVersion(events)
		labels := actorLabels(s.Grite)
		out := BoardIssueOutput{Issue: detailOf(iss), Timeline: make([]ChangeEvent, 0, len(events)), ActorLabels: labels, NowUnixMS: s.nowMS()}
		out.Issue.Handoff = latestHandoff(out.Issue)
		if out.Issue.Relations, err = s.relations(ctx, id.String()); err != nil {
			return BoardIssueOutput{}, err
		}
		for _, e := range events {
			out.Timeline = append(out.Timeline, changeEvent(e, labels))
		}
		e, ok, err := s.Locks.Read(lock.RefName("issue:" + id.String()))
		if err != nil {
			return BoardIssueOutput{}, err
		}
		if ok && e.Lock.ExpiresUnixMS != 0 {
			out.Claim = &BoardClaim{Owner: e.Lock.Owner, OwnerLabel: labels[e.Lock.Owner], ExpiresUnixMS: e.Lock.ExpiresUnixMS, Live: e.Lock.Live(out.NowUnixMS)}
		}
		return out, nil
	},
}

func changeEvent(e event.Event, labels map[string]string) ChangeEvent {
	return ChangeEvent{
		EventID: e.ID.String(), IssueID: e.IssueID.String(), Kind: e.Kind.KindName(),
		Actor: e.Actor.String(), ActorLabel: labels[e.Actor.String()], TS: e.TS, Summary: Summary(e),
	}
}

// ActivityInput asks for the latest events.
type ActivityInput struct {
	Limit int    `json:"limit,omitempty"` // 1..MaxChangesLimit, default DefaultChangesLimit
	Actor string `json:"actor,omitempty"` // only this actor's events (full ID)
}

// ActivityOutput is the latest events, newest first, with the titles of
// the issues they are about.
type ActivityOutput struct {
	Events []ChangeEvent     `json:"events"`
	Titles map[string]string `json:"titles"`
	More   bool              `json:"more"`
}

var Activity = Op[ActivityInput, ActivityOutput]{
	Name: "activity", Title: "Activity", ReadOnly: true, Idempotent: true,
	Description: "The latest events of the repository, newest first (in the order this clone received them).",
	Run: func(ctx context.Context, s *Session, in ActivityInput) (ActivityOutput, error) {
		if in.Limit == 0 {
			in.Limit = DefaultChangesLimit
		}
		if in.Limit < 1 || in.Limit > MaxChangesLimit {
			return ActivityOutput{}, InvalidArgs("limit must be between 1 and %d, got %d", MaxChangesLimit, in.Limit)
		}
		if in.Actor != "" {
			a, err := event.ParseActorID(strings.ToLower(strings.TrimSpace(in.Actor)))
			if err != nil {
				return ActivityOutput{}, InvalidArgs("actor must be a full actor ID: %v", err)
			}
			in.Actor = a.String()
		}
		head, err := s.WAL.Head()
		if err != nil {
			return ActivityOutput{}, err
		}
		labels := actorLabels(s.Grite)
		out := ActivityOutput{Events: []ChangeEvent{}, Titles: map[string]string{}}
		errEnough := errors.New("enough")
		err = s.WAL.Walk(ctx, head, wal.ReadOptions{}, func(c wal.Commit) error {
			evs := c.Events // in the order written (feed.Order): newest last
			for i := len(evs) - 1; i >= 0; i-- {
				if in.Actor != "" && evs[i].Actor.String() != in.Actor {
					continue
				}
				if len(out.Events) == in.Limit {
					out.More = true
					return errEnough
				}
				out.Events = append(out.Events, changeEvent(evs[i], labels))
			}
			return nil
		})
		if err != nil && !errors.Is(err, errEnough) {
			return ActivityOutput{}, err
		}
		var ids []string
		for _, e := range out.Events {
			ids = append(ids, e.IssueID)
		}
		slices.Sort(ids)
		rows, err := s.Store().Summaries(ctx, slices.Compact(ids))
		if err != nil {
			return ActivityOutput{}, err
		}
		for _, r := range rows {
			out.Titles[r.IssueID] = r.Title
		}
		return out, nil
	},
}

// BoardActor is an actor seen in the repository: this clone's actors and
// every actor with events or locks here.
type BoardActor struct {
	ActorID string `json:"actor_id"`
	Label   string `json:"label,omitempty"`
	// Local: the actor is one of this clone's (its label is known).
	Local   bool `json:"local"`
	Default bool `json:"default,omitempty"`
	// LastEventTS is its latest event here; LastActiveTS also counts a
	// local actor's use of its view and its creation, and lock writes.
	LastEventTS  uint64      `json:"last_event_ts,omitempty"`
	LastActiveTS uint64      `json:"last_active_ts,omitempty"`
	Claims       []ClaimJSON `json:"claims"`
	Locks        []LockJSON  `json:"locks"`
}

// BoardActorsOutput lists actors, the most recently active first.
type BoardActorsOutput struct {
	Actors    []BoardActor `json:"actors"`
	NowUnixMS uint64       `json:"now_unix_ms"`
}

var BoardActors = Op[struct{}, BoardActorsOutput]{
	Name: "board_actors", Title: "Actors", ReadOnly: true, Idempotent: true,
	Description: "Every actor seen here with its last activity, live claims and other live locks.",
	Run: func(ctx context.Context, s *Session, _ struct{}) (BoardActorsOutput, error) {
		if err := s.refreshLocks(ctx); err != nil {
			return BoardActorsOutput{}, err
		}
		now := s.nowMS()
		local, err := ActorList.Run(ctx, s, NoInput{})
		if err != nil {
			return BoardActorsOutput{}, err
		}
		last, err := s.Store().LastEventByActor(ctx)
		if err != nil {
			return BoardActorsOutput{}, err
		}
		byID := map[string]*BoardActor{}
		get := func(id string) *BoardActor {
			if a, ok := byID[id]; ok {
				return a
			}
			a := &BoardActor{ActorID: id, LastEventTS: last[id], LastActiveTS: last[id], Claims: []ClaimJSON{}, Locks: []LockJSON{}}
			byID[id] = a
			return a
		}
		for _, info := range local.Actors {
			a := get(info.ActorID)
			a.Label, a.Local, a.Default, a.LastActiveTS = info.Label, true, info.Default, info.LastActiveTS
		}
		for id := range last {
			get(id)
		}
		claims, err := s.Store().Claims(ctx, "", now)
		if err != nil {
			return BoardActorsOutput{}, err
		}
		for _, c := range claims {
			a := get(c.Owner)
			a.Claims = append(a.Claims, ClaimJSON{IssueID: c.IssueID, Title: c.Title, ExpiresUnixMS: c.ExpiresUnixMS})
		}
		all, err := s.Locks.List()
		if err != nil {
			return BoardActorsOutput{}, err
		}
		for _, e := range all {
			if !e.Lock.Live(now) {
				continue
			}
			a := get(e.Lock.Owner)
			a.LastActiveTS = max(a.LastActiveTS, uint64(e.Written.UnixMilli()))
			if lock.Namespace(e.Lock.Resource) != "issue" {
				a.Locks = append(a.Locks, s.lockJSON(e.Lock))
			}
		}
		out := BoardActorsOutput{Actors: make([]BoardActor, 0, len(byID)), NowUnixMS: now}
		for _, a := range byID {
			sortLocks(a.Locks)
			out.Actors = append(out.Actors, *a)
		}
		slices.SortFunc(out.Actors, func(a, b BoardActor) int {
			if a.LastActiveTS != b.LastActiveTS {
				if a.LastActiveTS > b.LastActiveTS {
					return -1
				}
				return 1
			}
			return strings.Compare(a.ActorID, b.ActorID)
		})
		return out, nil
	},
}

// ClaimClearInput names the issue whose expired claim to clear.
type ClaimClearInput struct {
	ID string `json:"id"`
}

// ClaimClearOutput says what clearing an expired claim did.
type ClaimClearOutput struct {
	IssueID       string `json:"issue_id"`
	Holder        string `json:"holder"`
	ExpiredUnixMS uint64 `json:"expired_unix_ms"`
	// Unassigned is the assignee value the claim had written and the
	// clearing removed ("" when it was gone already).
	Unassigned string `json:"unassigned,omitempty"`
	EventID    string `json:"event_id,omitempty"`
	WALHead    string `json:"wal_head"`
	Changed    bool   `json:"changed"`
	Message    string `json:"message,omitempty"`
}

// ClaimClear releases a claim whose holder has gone: its lease ran out
// without a release, so nobody holds the issue, but the holder's
// assignment stays and says otherwise. It removes that assignment, as
// taking the claim over would. A live claim is its holder's until it
// expires (docs/format.md §8: nobody releases another's live lock), so
// clearing one is a conflict naming the holder and the expiry.
var ClaimClear = Op[ClaimClearInput, ClaimClearOutput]{
	Name: "claim_clear", Title: "Clear an expired claim", Idempotent: true,
	Description: "Remove the assignment an expired claim left on an issue (its holder stopped renewing it); a live claim is refused with its holder and expiry.",
	Run: func(ctx context.Context, s *Session, in ClaimClearInput) (ClaimClearOutput, error) {
		id, err := s.ResolveIssue(ctx, in.ID)
		if err != nil {
			return ClaimClearOutput{}, err
		}
		out := ClaimClearOutput{IssueID: id.String()}
		resource := "issue:" + id.String()
		e, ok, err := s.Locks.Read(lock.RefName(resource))
		if err != nil {
			return out, err
		}
		now := s.nowMS()
		switch {
		case !ok || e.Lock.ExpiresUnixMS == 0:
			return out, newErr(CodeNotFound, "issue %s has no expired claim: nobody claimed it, or its holder released it", id).
				suggest("Run 'grite issue show " + id.String()[:8] + "' to see its assignees")
		case e.Lock.Live(now):
			ce := &lock.ConflictError{Resource: resource, Holder: e.Lock.Owner, ExpiresUnixMS: e.Lock.ExpiresUnixMS, NowMS: now}
			return out, (&Error{Code: CodeConflict, Message: ce.Error() + "; a live claim is its holder's until it expires", cause: ce}).
				with("resource", resource).with("holder", e.Lock.Owner).with("expires_unix_ms", e.Lock.ExpiresUnixMS).
				suggest("Wait until the claim expires at " + time.UnixMilli(int64(e.Lock.ExpiresUnixMS)).UTC().Format(time.RFC3339) + ", or ask its holder to release it")
		}
		out.Holder, out.ExpiredUnixMS = e.Lock.Owner, e.Lock.ExpiresUnixMS
		stale, err := s.claimValue(ctx, id, e.Lock.Owner)
		if err != nil {
			return out, err
		}
		r, err := s.writeChanges(ctx, id, []event.Kind{event.AssigneeRemoved{User: stale}})
		if err != nil {
			return out, err
		}
		out.EventID, out.WALHead, out.Changed, out.Message = r.EventID, r.WALHead, r.Changed, r.Message
		if r.Changed {
			out.Unassigned = stale
		}
		return out, nil
	},
}

// RepoWatch tells when the repository's issues or locks may have changed,
// by any process or a sync (see gitdir.Repo.WatchRef). C is never closed;
// wake-ups may be spurious.
type RepoWatch struct {
	C     <-chan struct{}
	close func() error
}

// Close stops the watch.
func (w *RepoWatch) Close() error { return w.close() }

// WatchRepo watches the WAL and the lock refs.
func (s *Session) WatchRepo() (*RepoWatch, error) {
	w, err := watchIssuesAndLocks(s.Repo)
	if err != nil {
		return nil, err
	}
	return &RepoWatch{C: w.C, close: w.Close}, nil
}

// watchIssuesAndLocks watches what makes issues ready or not: the WAL and
// the lock refs (claims).
func watchIssuesAndLocks(repo *gitdir.Repo) (*gitdir.RefWatch, error) {
	return repo.WatchRef(wal.Ref, strings.TrimSuffix(lock.Prefix, "/"))
}
