package tools

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"grite/actor"
	"grite/event"
	"grite/feed"
	"grite/gitdir"
	"grite/handoff"
	"grite/wal"
)

// ChangesInput asks for the events after a cursor.
type ChangesInput struct {
	// Since is a cursor from an earlier result; "" is the beginning of
	// history and "now" the current head (nothing before it).
	Since string
	Issue string   // only this issue's events (ID or unique prefix)
	Kinds []string // only these kinds (IssueCreated or issue_created ...)
	Limit int      // at most this many events (1..MaxChangesLimit)
	// Wait, if positive, blocks until a matching event arrives, written by
	// any process of the repository or brought by a sync, or until it
	// passes (the result is then empty).
	Wait time.Duration
	// Progress, if set, is called about every ProgressEvery while waiting.
	Progress func(waited, total time.Duration)
}

// Limits of the change feed.
const (
	DefaultChangesLimit = 50
	MaxChangesLimit     = 500
	ProgressEvery       = 2 * time.Second
	summaryMax          = 120
)

// ChangeEvent is one event of the feed, described briefly: the issue, who,
// what kind and a one-line summary (issue show has the whole event).
type ChangeEvent struct {
	EventID    string `json:"event_id"`
	IssueID    string `json:"issue_id"`
	Kind       string `json:"kind"`
	Actor      string `json:"actor"`
	ActorLabel string `json:"actor_label,omitempty"`
	TS         uint64 `json:"ts_unix_ms"`
	Summary    string `json:"summary"`
}

// ChangesOutput is one page of the feed.
type ChangesOutput struct {
	Events []ChangeEvent `json:"events"`
	// NextCursor is passed back as Since for what follows; it is always
	// set, and moves past events a filter passed over.
	NextCursor string `json:"next_cursor"`
	HasMore    bool   `json:"has_more"`
}

// Changes lists events of the clone's WAL after a cursor, optionally
// waiting for the next ones.
var Changes = Op[ChangesInput, ChangesOutput]{
	Name: "changes", Title: "Changes",
	ReadOnly: true, Idempotent: true,
	Description: "List events after a cursor, oldest first: issue, actor, kind and a one-line summary each, " +
		"and next_cursor to pass back as since. Without since: from the beginning; since \"now\": only what comes next. " +
		"With wait_seconds, waits until a matching event is written (by any agent of this repository, or brought by a sync) " +
		"and returns it, or returns no events when the time is up: how to learn when other agents finish without polling.",
	Run: func(ctx context.Context, s *Session, in ChangesInput) (ChangesOutput, error) {
		q, err := s.PrepareChanges(ctx, in)
		if err != nil {
			return ChangesOutput{}, err
		}
		return q.Run(ctx)
	},
}

// ChangesQuery is a prepared Changes call. Run touches nothing of the
// session that prepared it, so a long wait can run while the session
// serves other calls.
type ChangesQuery struct {
	in    ChangesInput
	repo  *gitdir.Repo
	wal   *wal.WAL
	grite actor.Dir
	since feed.Cursor
	now   bool // Since was "now": resolved at Run
	issue *event.IssueID
	kinds map[uint64]bool
}

// OnProgress sets the function a wait reports to (see
// ChangesInput.Progress).
func (q *ChangesQuery) OnProgress(fn func(waited, total time.Duration)) { q.in.Progress = fn }

// PrepareChanges checks the input and resolves the issue, using the view.
func (s *Session) PrepareChanges(ctx context.Context, in ChangesInput) (*ChangesQuery, error) {
	if in.Limit == 0 {
		in.Limit = DefaultChangesLimit
	}
	if in.Limit < 1 || in.Limit > MaxChangesLimit {
		return nil, InvalidArgs("limit must be between 1 and %d, got %d", MaxChangesLimit, in.Limit)
	}
	if in.Wait < 0 {
		return nil, InvalidArgs("wait must not be negative")
	}
	q := &ChangesQuery{in: in, repo: s.Repo, wal: s.WAL, grite: s.Grite}
	if strings.TrimSpace(in.Since) == "now" {
		q.now = true
	} else {
		c, err := feed.ParseCursor(strings.TrimSpace(in.Since))
		if err != nil {
			return nil, badCursor(err)
		}
		q.since = c
	}
	if in.Issue != "" {
		id, err := s.ResolveIssue(ctx, in.Issue)
		if err != nil {
			return nil, err
		}
		q.issue = &id
	}
	for _, k := range in.Kinds {
		tag, ok := kindTags[normalKind(k)]
		if !ok {
			return nil, InvalidArgs("unknown event kind %q; kinds: %s", k, strings.Join(kindNames(), ", "))
		}
		if q.kinds == nil {
			q.kinds = map[uint64]bool{}
		}
		q.kinds[tag] = true
	}
	return q, nil
}

func badCursor(err error) error {
	return (&Error{Code: CodeInvalidArgs, Message: err.Error(), cause: err}).
		suggest("Pass back a next_cursor value unchanged, \"now\" for only what comes next, or nothing for the whole history")
}

// Run reads the page, waiting for one if asked to.
func (q *ChangesQuery) Run(ctx context.Context) (ChangesOutput, error) {
	var watch *gitdir.RefWatch
	if q.in.Wait > 0 {
		// Watch before the first read, so that nothing written between
		// that read and the wait goes unnoticed.
		var err error
		if watch, err = q.repo.WatchRef(wal.Ref); err != nil {
			return ChangesOutput{}, err
		}
		defer func() { _ = watch.Close() }()
	}
	r := q.wal.NewReader()
	defer r.Close()
	if q.now {
		head, err := q.wal.Head()
		if err != nil {
			return ChangesOutput{}, err
		}
		if q.since, err = feed.Head(r, head); err != nil {
			return ChangesOutput{}, err
		}
	}
	start := time.Now()
	deadline := time.NewTimer(q.in.Wait)
	defer deadline.Stop()
	// Progress ticks only for a caller that asked for it: each tick ends
	// the wait's select, and an idle wait should not read the WAL again.
	var progress <-chan time.Time
	if q.in.Progress != nil {
		t := time.NewTicker(ProgressEvery)
		defer t.Stop()
		progress = t.C
	}
	for {
		out, next, err := q.page(ctx, r)
		if err != nil || len(out.Events) > 0 || watch == nil {
			return out, err
		}
		q.since = next // past the events the filters passed over
		select {
		case <-watch.C:
		case <-progress:
			q.in.Progress(time.Since(start), q.in.Wait)
		case <-deadline.C:
			return out, nil
		case <-ctx.Done():
			return out, ctx.Err()
		}
	}
}

func (q *ChangesQuery) page(ctx context.Context, r *wal.Reader) (ChangesOutput, feed.Cursor, error) {
	head, err := q.wal.Head()
	if err != nil {
		return ChangesOutput{}, q.since, err
	}
	p, err := feed.Read(ctx, r, head, q.since, q.match, q.in.Limit)
	if errors.Is(err, feed.ErrBadCursor) {
		return ChangesOutput{}, q.since, badCursor(err)
	}
	if err != nil {
		return ChangesOutput{}, q.since, err
	}
	out := ChangesOutput{Events: []ChangeEvent{}, NextCursor: p.Next.String(), HasMore: p.HasMore}
	var labels map[string]string
	if len(p.Items) > 0 {
		labels = actorLabels(q.grite)
	}
	for _, it := range p.Items {
		e := it.Event
		out.Events = append(out.Events, ChangeEvent{
			EventID: e.ID.String(), IssueID: e.IssueID.String(), Kind: e.Kind.KindName(),
			Actor: e.Actor.String(), ActorLabel: labels[e.Actor.String()], TS: e.TS, Summary: Summary(e),
		})
	}
	return out, p.Next, nil
}

func (q *ChangesQuery) match(e event.Event) bool {
	if q.issue != nil && e.IssueID != *q.issue {
		return false
	}
	return q.kinds == nil || q.kinds[e.Kind.Tag()]
}

// actorLabels maps the local actors' IDs to their labels (best effort:
// an unreadable actor directory only costs the labels).
func actorLabels(g actor.Dir) map[string]string {
	all, _ := g.List()
	out := map[string]string{}
	for _, a := range all {
		if a.Config.Label != "" {
			out[a.ID.String()] = a.Config.Label
		}
	}
	return out
}

// allKinds is one value of every event kind, for names and tags.
var allKinds = []event.Kind{
	event.IssueCreated{}, event.IssueUpdated{}, event.CommentAdded{}, event.LabelAdded{},
	event.LabelRemoved{}, event.StateChanged{}, event.LinkAdded{}, event.AssigneeAdded{},
	event.AssigneeRemoved{}, event.AttachmentAdded{}, event.DependencyAdded{},
	event.DependencyRemoved{}, event.ContextUpdated{}, event.ProjectContextUpdated{},
}

var kindTags = func() map[string]uint64 {
	m := map[string]uint64{}
	for _, k := range allKinds {
		m[normalKind(k.KindName())] = k.Tag()
	}
	return m
}()

func kindNames() []string {
	var out []string
	for _, k := range allKinds {
		out = append(out, k.KindName())
	}
	return out
}

// normalKind makes IssueCreated, issue_created and issuecreated one name.
func normalKind(s string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), "_", ""))
}

// Summary says in one short line what an event did.
func Summary(e event.Event) string {
	var s string
	switch k := e.Kind.(type) {
	case event.IssueCreated:
		s = k.Title
	case event.IssueUpdated:
		var parts []string
		if k.Title != nil {
			parts = append(parts, "title: "+*k.Title)
		}
		if k.Body != nil {
			parts = append(parts, "body edited")
		}
		s = strings.Join(parts, "; ")
	case event.CommentAdded:
		s = k.Body
		if h, ok := handoff.Parse(k.Body); ok {
			s = "handoff: done: " + oneLine(h.Done, 50) + "; next: " + oneLine(h.Next, 50)
		}
	case event.LabelAdded:
		s = "+" + k.Label
	case event.LabelRemoved:
		s = "-" + k.Label
	case event.StateChanged:
		s = string(k.State)
	case event.LinkAdded:
		s = k.URL
	case event.AssigneeAdded:
		s = "+" + k.User
	case event.AssigneeRemoved:
		s = "-" + k.User
	case event.AttachmentAdded:
		s = k.Name
	case event.DependencyAdded:
		s = fmt.Sprintf("+%s %s", k.Type, k.Target.String()[:8])
	case event.DependencyRemoved:
		s = fmt.Sprintf("-%s %s", k.Type, k.Target.String()[:8])
	case event.ContextUpdated:
		s = k.Path
	case event.ProjectContextUpdated:
		s = k.Key
	}
	return oneLine(s, summaryMax)
}

// oneLine is the first line of s, cut to at most max bytes on a rune
// boundary, with "…" when anything was left out.
func oneLine(s string, max int) string {
	line, _, cut := strings.Cut(strings.TrimSpace(s), "\n")
	line = strings.TrimSpace(line)
	if len(line) > max {
		i := max
		for i > 0 && line[i]&0xC0 == 0x80 {
			i--
		}
		line, cut = line[:i], true
	}
	if cut {
		return line + "…"
	}
	return line
}
