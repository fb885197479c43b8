package tools

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"grite/crdt"
	"grite/event"
	"grite/gitdir"
	"grite/handoff"
	"grite/store"
)

// WriteResult is what a write returns (docs/cli.md, Data payloads).
type WriteResult struct {
	IssueID  string   `json:"issue_id"`
	EventID  string   `json:"event_id"`
	EventIDs []string `json:"event_ids,omitempty"`
	State    string   `json:"state,omitempty"`
	WALHead  string   `json:"wal_head"`
	// Changed is false when the issue already was as asked: then no
	// event is written (event_id is empty) and Message says why.
	Changed bool   `json:"changed"`
	Message string `json:"message,omitempty"`
}

// unchanged is the result of a write that found nothing to change.
func (s *Session) unchanged(id event.IssueID, why []string) (WriteResult, error) {
	head, err := s.WAL.Head()
	if err != nil {
		return WriteResult{}, err
	}
	return WriteResult{IssueID: id.String(), WALHead: hashOrEmpty(head), Message: strings.Join(why, "; ")}, nil
}

// dropNoOps removes the changes the issue already has (its state, a label
// it carries or lacks, ...) and says why each was dropped. Writing them
// would report a change that did not happen; the decision is the local
// view's, so a concurrent change on another clone is not outvoted by a
// repeat written here.
// seen is the issue's UpdatedTS as read (nil if the view lacks it).
func (s *Session) dropNoOps(ctx context.Context, id event.IssueID, kinds []event.Kind) (keep []event.Kind, why []string, seen *uint64, err error) {
	if s.ViewBehind() {
		if err := s.CatchUp(ctx); err != nil {
			return nil, nil, nil, err
		}
	}
	sum, ok, err := s.Store().Issue(ctx, id.String())
	if err != nil || !ok {
		return kinds, nil, nil, err
	}
	for _, k := range kinds {
		reason := ""
		switch k := k.(type) {
		case event.StateChanged:
			if string(k.State) == sum.State {
				reason = "already " + sum.State
			}
		case event.LabelAdded:
			if contains(sum.Labels, k.Label) {
				reason = "already has label " + strconv.Quote(k.Label)
			}
		case event.LabelRemoved:
			if !contains(sum.Labels, k.Label) {
				reason = "has no label " + strconv.Quote(k.Label)
			}
		case event.AssigneeAdded:
			if contains(sum.Assignees, k.User) {
				reason = "already assigned to " + strconv.Quote(k.User)
			}
		case event.AssigneeRemoved:
			if !contains(sum.Assignees, k.User) {
				reason = "not assigned to " + strconv.Quote(k.User)
			}
		}
		if reason != "" {
			why = append(why, reason)
			continue
		}
		keep = append(keep, k)
	}
	return keep, why, &sum.UpdatedTS, nil
}

// writeChanges writes the kinds that change the issue, or reports that
// none does.
func (s *Session) writeChanges(ctx context.Context, id event.IssueID, kinds []event.Kind) (WriteResult, error) {
	kinds, why, seen, err := s.dropNoOps(ctx, id, kinds)
	if err != nil {
		return WriteResult{}, err
	}
	if len(kinds) == 0 {
		return s.unchanged(id, why)
	}
	r, err := s.writeEventsSeen(ctx, id, seen, kinds...)
	r.Message = strings.Join(why, "; ")
	return r, err
}

// writeEvents appends kinds on one issue as one WAL commit.
func (s *Session) writeEvents(ctx context.Context, issue event.IssueID, kinds ...event.Kind) (WriteResult, error) {
	return s.writeEventsSeen(ctx, issue, nil, kinds...)
}

// writeEventsSeen is writeEvents for a caller that has just read the issue
// from the view: seen is its UpdatedTS as read (nil: not read), which
// eventTS would otherwise read again.
func (s *Session) writeEventsSeen(ctx context.Context, issue event.IssueID, seen *uint64, kinds ...event.Kind) (WriteResult, error) {
	if _, isCreate := kinds[0].(event.IssueCreated); isCreate {
		return s.appendEvents(ctx, issue, nil, kinds)
	}
	// The lock as the policy check read it also tells the heartbeat
	// whether the writer holds the issue: the write does not change it.
	e, held, err := s.checkLockPolicy(ctx, issue)
	if err != nil {
		return WriteResult{}, err
	}
	r, err := s.appendEvents(ctx, issue, seen, kinds)
	if err == nil && held && !s.skipHeartbeat {
		s.heartbeat(issue, e)
	}
	return r, err
}

// writeEventsNoPolicy is writeEvents without the lock policy check and
// the heartbeat (for grite's own bookkeeping writes, such as undoing a
// lost claim).
func (s *Session) writeEventsNoPolicy(ctx context.Context, issue event.IssueID, kinds ...event.Kind) (WriteResult, error) {
	return s.appendEvents(ctx, issue, nil, kinds)
}

// appendEvents writes kinds on issue as one WAL commit, after seen (the
// issue's UpdatedTS as the caller read it; nil: read it).
func (s *Session) appendEvents(ctx context.Context, issue event.IssueID, seen *uint64, kinds []event.Kind) (WriteResult, error) {
	// A new issue (its ID drawn just now) has no events to come after.
	_, isCreate := kinds[0].(event.IssueCreated)
	ts, err := s.eventTS(ctx, issue, !isCreate, seen)
	if err != nil {
		return WriteResult{}, err
	}
	events := make([]event.Event, 0, len(kinds))
	for i, k := range kinds {
		// ts+i keeps the order of one call's events as written.
		events = append(events, event.Event{IssueID: issue, Actor: s.Actor.ID, TS: ts + uint64(i), Kind: k})
	}
	head, err := s.append(ctx, events, isCreate)
	if err != nil {
		return WriteResult{}, err
	}
	r := WriteResult{IssueID: issue.String(), EventID: events[0].ID.String(), WALHead: head.String(), Changed: true}
	if len(events) > 1 {
		for _, e := range events {
			r.EventIDs = append(r.EventIDs, e.ID.String())
		}
	}
	return r, nil
}

// IssueCreateInput creates an issue.
type IssueCreateInput struct {
	Title     string   `json:"title"`
	Body      string   `json:"body,omitempty"`
	Labels    []string `json:"labels,omitempty"`
	Assignees []string `json:"assignees,omitempty"`
}

var IssueCreate = Op[IssueCreateInput, WriteResult]{
	Name: "issue_create", Title: "Create issue", WriteLast: true, WriteFirst: true,
	Description: "Create an issue.",
	Run: func(ctx context.Context, s *Session, in IssueCreateInput) (WriteResult, error) {
		if err := checkTitle(in.Title); err != nil {
			return WriteResult{}, err
		}
		if err := checkText("body", in.Body, MaxBodyBytes); err != nil {
			return WriteResult{}, err
		}
		if err := checkNames("label", in.Labels); err != nil {
			return WriteResult{}, err
		}
		if err := checkNames("assignee", in.Assignees); err != nil {
			return WriteResult{}, err
		}
		var id event.IssueID
		if _, err := rand.Read(id[:]); err != nil {
			return WriteResult{}, err
		}
		kinds := []event.Kind{event.IssueCreated{Title: in.Title, Body: in.Body, Labels: dedupe(in.Labels)}}
		for _, a := range dedupe(in.Assignees) {
			kinds = append(kinds, event.AssigneeAdded{User: a})
		}
		return s.writeEvents(ctx, id, kinds...)
	},
}

func dedupe(vs []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, v := range vs {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// IssueUpdateInput changes an issue in one call (one or more events).
type IssueUpdateInput struct {
	ID              string   `json:"id"`
	Title           *string  `json:"title,omitempty"`
	Body            *string  `json:"body,omitempty"`
	State           string   `json:"state,omitempty"`
	AddLabels       []string `json:"add_labels,omitempty"`
	RemoveLabels    []string `json:"remove_labels,omitempty"`
	AddAssignees    []string `json:"add_assignees,omitempty"`
	RemoveAssignees []string `json:"remove_assignees,omitempty"`
}

var IssueUpdate = Op[IssueUpdateInput, WriteResult]{
	Name: "issue_update", Title: "Update issue", WriteLast: true, Idempotent: true,
	Description: "Change title, body, state, labels or assignees of an issue in one call.",
	Run: func(ctx context.Context, s *Session, in IssueUpdateInput) (WriteResult, error) {
		id, err := s.ResolveIssue(ctx, in.ID)
		if err != nil {
			return WriteResult{}, err
		}
		var kinds []event.Kind
		if in.Title != nil || in.Body != nil {
			if in.Title != nil {
				if err := checkTitle(*in.Title); err != nil {
					return WriteResult{}, err
				}
			}
			if in.Body != nil {
				if err := checkText("body", *in.Body, MaxBodyBytes); err != nil {
					return WriteResult{}, err
				}
			}
			kinds = append(kinds, event.IssueUpdated{Title: in.Title, Body: in.Body})
		}
		if in.State != "" {
			st, err := event.ParseState(in.State)
			if err != nil {
				return WriteResult{}, newErr(CodeInvalidArgs, "%v", err)
			}
			kinds = append(kinds, event.StateChanged{State: st})
		}
		for _, set := range []struct {
			field string
			vs    []string
			mk    func(string) event.Kind
		}{
			{"label", in.AddLabels, func(v string) event.Kind { return event.LabelAdded{Label: v} }},
			{"label", in.RemoveLabels, func(v string) event.Kind { return event.LabelRemoved{Label: v} }},
			{"assignee", in.AddAssignees, func(v string) event.Kind { return event.AssigneeAdded{User: v} }},
			{"assignee", in.RemoveAssignees, func(v string) event.Kind { return event.AssigneeRemoved{User: v} }},
		} {
			if err := checkNames(set.field, set.vs); err != nil {
				return WriteResult{}, err
			}
			for _, v := range dedupe(set.vs) {
				kinds = append(kinds, set.mk(v))
			}
		}
		if len(kinds) == 0 {
			return WriteResult{}, newErr(CodeInvalidArgs, "nothing to update: give a title, body, state, labels or assignees")
		}
		r, err := s.writeChanges(ctx, id, kinds)
		if err == nil && in.State != "" {
			r.State = in.State
		}
		return r, err
	},
}

// IssueCommentInput adds a comment.
type IssueCommentInput struct {
	ID   string `json:"id"`
	Body string `json:"body,omitempty"`
	// Kind "handoff" writes a handoff (see package handoff) from Done,
	// Next, Blocker and Evidence instead of Body; "" or "comment" is an
	// ordinary comment.
	Kind     string `json:"kind,omitempty"`
	Done     string `json:"done,omitempty"`
	Next     string `json:"next,omitempty"`
	Blocker  string `json:"blocker,omitempty"`
	Evidence string `json:"evidence,omitempty"`
}

var IssueComment = Op[IssueCommentInput, WriteResult]{
	Name: "issue_comment", Title: "Comment on issue", WriteLast: true,
	Description: "Add a comment to an issue; or, with kind \"handoff\", a handoff for whoever continues " +
		"(you after a restart or a compaction, or another agent): done, next, blocker, evidence, recorded with the " +
		"repository's HEAD and whether the working tree is clean. issue_show shows the latest handoff apart; " +
		"leave one before you stop or release.",
	Run: func(ctx context.Context, s *Session, in IssueCommentInput) (WriteResult, error) {
		id, err := s.ResolveIssue(ctx, in.ID)
		if err != nil {
			return WriteResult{}, err
		}
		body, err := s.commentBody(ctx, in)
		if err != nil {
			return WriteResult{}, err
		}
		if err := checkText("comment", body, MaxBodyBytes); err != nil {
			return WriteResult{}, err
		}
		return s.writeEvents(ctx, id, event.CommentAdded{Body: body})
	},
}

// commentBody is the body of the comment in asks for: its text, or a
// handoff formatted with where the work tree stands.
func (s *Session) commentBody(ctx context.Context, in IssueCommentInput) (string, error) {
	fields := map[string]string{"done": in.Done, "next": in.Next, "blocker": in.Blocker, "evidence": in.Evidence}
	switch in.Kind {
	case "", "comment":
		for name, v := range fields {
			if v != "" {
				return "", newErr(CodeInvalidArgs, "%s belongs to a handoff: pass kind \"handoff\" with done and next", name)
			}
		}
		if strings.TrimSpace(in.Body) == "" {
			return "", newErr(CodeInvalidArgs, "comment must not be empty")
		}
		return in.Body, nil
	case "handoff":
	default:
		return "", newErr(CodeInvalidArgs, "unknown comment kind %q (want comment or handoff)", in.Kind)
	}
	if in.Body != "" {
		return "", newErr(CodeInvalidArgs, "a handoff has no body: put the text in done, next, blocker or evidence")
	}
	for _, name := range []string{"done", "next"} {
		if strings.TrimSpace(fields[name]) == "" {
			return "", newErr(CodeInvalidArgs, "a handoff needs %s: say what is done and what comes next", name)
		}
	}
	h := handoff.Handoff{Done: in.Done, Next: in.Next, Blocker: in.Blocker, Evidence: in.Evidence, Actor: s.Actor.ID.String()}
	var err error
	if h.Head, h.Branch, h.Dirty, err = s.Repo.WorkState(ctx); err != nil {
		s.warn(fmt.Sprintf("the handoff does not say whether the working tree is clean: %v", err))
	}
	return handoff.Format(h), nil
}

// IssueLinkInput adds a link (URL and an optional note) to an issue.
type IssueLinkInput struct {
	ID   string  `json:"id"`
	URL  string  `json:"url"`
	Note *string `json:"note,omitempty"`
}

// IssueLinkAdd adds a link to an issue.
var IssueLinkAdd = Op[IssueLinkInput, WriteResult]{
	Name: "issue_link_add", Title: "Add a link",
	Description: "Add a link (a URL and an optional note) to an issue.",
	Run: func(ctx context.Context, s *Session, in IssueLinkInput) (WriteResult, error) {
		if strings.TrimSpace(in.URL) == "" {
			return WriteResult{}, newErr(CodeInvalidArgs, "url must not be empty")
		}
		if err := checkText("url", in.URL, MaxURLBytes); err != nil {
			return WriteResult{}, err
		}
		if err := checkURL(in.URL); err != nil {
			return WriteResult{}, err
		}
		if in.Note != nil {
			if err := checkText("note", *in.Note, MaxBodyBytes); err != nil {
				return WriteResult{}, err
			}
		}
		return s.writeOne(ctx, in.ID, event.LinkAdded{URL: in.URL, Note: in.Note})
	},
}

// IssueAttachInput records an attachment: a name, the SHA-256 of the
// content (64 hex characters) and a MIME type. The content itself is not
// stored.
type IssueAttachInput struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	MIME   string `json:"mime"`
}

// IssueAttachmentAdd records an attachment reference on an issue.
var IssueAttachmentAdd = Op[IssueAttachInput, WriteResult]{
	Name: "issue_attachment_add", Title: "Record an attachment",
	Description: "Record an attachment (name, SHA-256 of the content, MIME type) on an issue.",
	Run: func(ctx context.Context, s *Session, in IssueAttachInput) (WriteResult, error) {
		h, err := ParseSHA256(in.SHA256)
		if err != nil {
			return WriteResult{}, err
		}
		if err := checkName("name", in.Name); err != nil {
			return WriteResult{}, err
		}
		if err := checkName("mime", in.MIME); err != nil {
			return WriteResult{}, err
		}
		return s.writeOne(ctx, in.ID, event.AttachmentAdded{Name: in.Name, SHA256: h, MIME: in.MIME})
	},
}

// writeOne appends one validated change to the issue idOrPrefix names.
func (s *Session) writeOne(ctx context.Context, idOrPrefix string, k event.Kind) (WriteResult, error) {
	id, err := s.ResolveIssue(ctx, idOrPrefix)
	if err != nil {
		return WriteResult{}, err
	}
	return s.writeChanges(ctx, id, []event.Kind{k})
}

// ParseSHA256 parses 64 hex characters.
func ParseSHA256(s string) ([32]byte, error) {
	var h [32]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return h, newErr(CodeInvalidArgs, "sha256 must be 64 hex characters")
	}
	copy(h[:], b)
	return h, nil
}

// IssueSummary is one issue in listings (key order of docs/cli.md, Data payloads).
type IssueSummary = store.Summary

// IssueListInput filters a listing.
type IssueListInput struct {
	State string `json:"state,omitempty"`
	// Label and every one of Labels: an issue must have all of them.
	Label    string   `json:"label,omitempty"`
	Labels   []string `json:"labels,omitempty"`
	Assignee string   `json:"assignee,omitempty"`
	Query    string   `json:"query,omitempty"`
	// ClaimedBy keeps issues with a live claim of this actor: "me", an
	// actor ID, a unique ID prefix or the label of an actor of this clone.
	ClaimedBy string `json:"claimed_by,omitempty"`
	Limit     int    `json:"limit,omitempty"`
	Offset    int    `json:"-"`
}

// IssueListOutput is a page of issues and the total matching.
type IssueListOutput struct {
	Issues []IssueSummary `json:"issues"`
	Total  int            `json:"total"`
	// Hint explains an empty list that may not be the whole story: a
	// clone that has never pulled its remote's issues.
	Hint string `json:"hint,omitempty"`
}

var IssueList = Op[IssueListInput, IssueListOutput]{
	Name: "issue_list", Title: "List issues", ReadOnly: true, Idempotent: true,
	Description: "List issues oldest first, filtered by state, label, assignee or text; paged.",
	Run: func(ctx context.Context, s *Session, in IssueListInput) (IssueListOutput, error) {
		if strings.EqualFold(in.State, "all") {
			in.State = "" // what the help calls the default
		}
		if in.State != "" {
			if _, err := event.ParseState(in.State); err != nil {
				return IssueListOutput{}, newErr(CodeInvalidArgs, "%v", err)
			}
		}
		if in.Limit < 0 || in.Offset < 0 {
			return IssueListOutput{}, newErr(CodeInvalidArgs, "limit must not be negative")
		}
		labels := in.Labels
		if in.Label != "" {
			labels = append([]string{in.Label}, labels...)
		}
		f := store.Filter{State: in.State, Labels: labels, Assignee: in.Assignee, Search: in.Query, Limit: in.Limit, Offset: in.Offset}
		if in.ClaimedBy != "" {
			var err error
			if f.ClaimedBy, err = s.ResolveActor(in.ClaimedBy); err != nil {
				return IssueListOutput{}, err
			}
			if err := s.refreshLocks(ctx); err != nil {
				return IssueListOutput{}, err
			}
			f.NowMS = s.nowMS()
		}
		rows, total, err := s.Store().ListIssues(ctx, f)
		if err != nil {
			return IssueListOutput{}, err
		}
		if rows == nil {
			rows = []IssueSummary{}
		}
		out := IssueListOutput{Issues: rows, Total: total}
		if total == 0 {
			if out.Hint, err = s.unpulledHint("origin"); err != nil {
				return IssueListOutput{}, err
			}
		}
		return out, nil
	},
}

// unpulledHint says when a clone with no events of its own has a remote
// it never pulled from: a plain git clone does not fetch refs/grite/*, so
// its issue list is empty whatever the remote holds. It reads only local
// files: a remote on this machine is looked at directly; any other remote
// is only said to be unpulled, as asking it would take a network round
// trip on every empty list.
func (s *Session) unpulledHint(remote string) (string, error) {
	head, err := s.WAL.Head()
	if err != nil || !head.IsZero() {
		return "", err
	}
	tracked, err := s.Repo.ListRefs("refs/grite/remotes/" + remote + "/")
	if err != nil || len(tracked) > 0 {
		return "", err // it pulled before: the remote had nothing then
	}
	urls, ok := gitdir.PlainRemoteURLs(s.Repo.CommonDir, remote)
	if ok && len(urls) == 0 {
		return "", nil // no such remote
	}
	pull := "run 'grite sync --pull' to fetch them"
	if ok && len(urls) == 1 {
		if path := strings.TrimPrefix(urls[0], "file://"); filepath.IsAbs(path) {
			if r, err := gitdir.At(path); err == nil {
				refs, err := r.ListRefs("refs/grite/wal")
				if err == nil && len(refs) == 0 {
					return "", nil // the remote has no issues either
				}
				if err == nil {
					return remote + " has issues this clone has not pulled (git clone does not fetch refs/grite/*): " + pull, nil
				}
			}
		}
	}
	return "this clone has never pulled from " + remote + ", which may have issues (git clone does not fetch refs/grite/*): " + pull, nil
}

// IssueDetail is an issue with everything the projection knows.
type IssueDetail struct {
	IssueSummary
	Body        string           `json:"body"`
	CreatedBy   string           `json:"created_by"`
	Comments    []CommentJSON    `json:"comments"`
	Links       []LinkJSON       `json:"links"`
	Attachments []AttachmentJSON `json:"attachments"`
	Deps        []DepJSON        `json:"deps"`
	// Relations are the edges in both directions (issue show only).
	Relations  []DepRelation `json:"relations,omitempty"`
	EventCount int           `json:"event_count"`
	// Handoff is the latest handoff comment, if any (issue show only).
	Handoff *HandoffJSON `json:"handoff,omitempty"`
}

// HandoffJSON is a handoff comment: who left it, when, and its fields.
type HandoffJSON struct {
	EventID string `json:"event_id"`
	TS      uint64 `json:"ts_unix_ms"`
	handoff.Handoff
}

// latestHandoff is the newest comment of d that is a handoff.
func latestHandoff(d IssueDetail) *HandoffJSON {
	for i := len(d.Comments) - 1; i >= 0; i-- {
		c := d.Comments[i]
		if h, ok := handoff.Parse(c.Body); ok {
			h.Actor = c.Actor // who wrote the comment, whatever its text says
			return &HandoffJSON{EventID: c.EventID, TS: c.TS, Handoff: h}
		}
	}
	return nil
}

type CommentJSON struct {
	EventID string `json:"event_id"`
	Actor   string `json:"actor"`
	TS      uint64 `json:"ts_unix_ms"`
	Body    string `json:"body"`
}

type LinkJSON struct {
	EventID string  `json:"event_id"`
	URL     string  `json:"url"`
	Note    *string `json:"note"`
}

type AttachmentJSON struct {
	EventID string `json:"event_id"`
	Name    string `json:"name"`
	SHA256  string `json:"sha256"`
	MIME    string `json:"mime"`
}

type DepJSON struct {
	Target  string `json:"target"`
	DepType string `json:"dep_type"`
}

func detailOf(iss crdt.Issue) IssueDetail {
	d := IssueDetail{
		IssueSummary: IssueSummary{
			IssueID: iss.ID.String(), Title: iss.Title, State: string(iss.State),
			Labels: iss.Labels, Assignees: iss.Assignees, CreatedTS: iss.CreatedTS,
			UpdatedTS: iss.UpdatedTS, CommentCount: len(iss.Comments),
		},
		Body: iss.Body, CreatedBy: iss.CreatedBy.String(), EventCount: iss.EventCount,
		Comments: []CommentJSON{}, Links: []LinkJSON{}, Attachments: []AttachmentJSON{}, Deps: []DepJSON{},
	}
	for _, c := range iss.Comments {
		d.Comments = append(d.Comments, CommentJSON{c.EventID.String(), c.Actor.String(), c.TS, c.Body})
	}
	for _, l := range iss.Links {
		d.Links = append(d.Links, LinkJSON{l.EventID.String(), l.URL, l.Note})
	}
	for _, a := range iss.Attachments {
		d.Attachments = append(d.Attachments, AttachmentJSON{a.EventID.String(), a.Name, hex.EncodeToString(a.SHA256[:]), a.MIME})
	}
	for _, dep := range iss.Deps {
		d.Deps = append(d.Deps, DepJSON{dep.Target.String(), string(dep.Type)})
	}
	return d
}

// IssueShowInput selects one issue.
type IssueShowInput struct {
	ID string `json:"id"`
}

// IssueShowOutput is an issue with its events in version order.
type IssueShowOutput struct {
	Issue  IssueDetail `json:"issue"`
	Events []EventJSON `json:"events"`
}

var IssueShow = Op[IssueShowInput, IssueShowOutput]{
	Name: "issue_show", Title: "Show issue", ReadOnly: true, Idempotent: true,
	Description: "Show an issue with its comments (paged) and dependencies.",
	Run: func(ctx context.Context, s *Session, in IssueShowInput) (IssueShowOutput, error) {
		id, err := s.ResolveIssue(ctx, in.ID)
		if err != nil {
			return IssueShowOutput{}, err
		}
		events, err := s.Store().IssueEvents(ctx, id)
		if err != nil {
			return IssueShowOutput{}, err
		}
		iss, ok := crdt.FoldIssue(id, events)
		if !ok {
			return IssueShowOutput{}, newErr(CodeNotFound, "issue %s not found", id)
		}
		SortByVersion(events)
		out := IssueShowOutput{Issue: detailOf(iss), Events: make([]EventJSON, len(events))}
		out.Issue.Handoff = latestHandoff(out.Issue)
		if out.Issue.Relations, err = s.relations(ctx, id.String()); err != nil {
			return IssueShowOutput{}, err
		}
		for i := range events {
			out.Events[i] = EventToJSON(&events[i])
		}
		return out, nil
	},
}

// SortByVersion orders events by (ts, actor, event id), the fold order.
func SortByVersion(events []event.Event) {
	sort.Slice(events, func(i, j int) bool { return events[i].Version().Less(events[j].Version()) })
}
