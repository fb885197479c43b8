package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"grite/actor"
	"grite/event"
	"grite/feed"
	"grite/gitdir"
	"grite/handoff"
	"grite/store"
	"grite/wal"
)

// WhoAmIInput sizes the primer.
type WhoAmIInput struct {
	// MaxChars bounds the primer, as text and as JSON (default
	// DefaultPrimerChars): lists are trimmed to fit, never cut mid-item.
	MaxChars int `json:"max_chars,omitempty"`
}

// Primer sizes.
const (
	DefaultPrimerChars = 4000
	MinPrimerChars     = 1000
	MaxPrimerChars     = 100000
	primerReady        = 10 // ready issues listed at most
	primerContext      = 20 // project context entries listed at most
)

// WhoAmIOutput is the session primer: what an agent needs at the start of
// a session or after a compaction. Where it writes and as whom, its live
// claims with their latest handoffs, the head of the ready queue, the
// backlog's counts, the project context, what is not pushed, and the
// change feed's cursor to wait on.
type WhoAmIOutput struct {
	Repo           string `json:"repo"`
	ActorID        string `json:"actor_id"`
	Label          string `json:"label"`
	ActorSource    string `json:"actor_source"`
	WALHead        string `json:"wal_head"`
	UnpushedEvents int    `json:"unpushed_events"`
	// Remote is the remote a sync uses by default, origin, or empty when
	// the repository has no remote of that name.
	Remote string `json:"remote"`
	// Claims are the actor's live claims, soonest expiry first: how an
	// agent restarted with the same actor finds its work again.
	Claims  []ClaimJSON    `json:"claims"`
	Ready   []IssueSummary `json:"ready"`
	Counts  Counts         `json:"counts"`
	Context []ContextEntry `json:"context"`
	// Cursor is the change feed's position now (changes, grite events).
	Cursor string `json:"cursor"`
	// Omitted counts what was left out to stay within max_chars, by list.
	Omitted map[string]int `json:"omitted,omitempty"`
	// text is the primer as text, trimmed to max_chars on its own.
	text string
}

// Counts sizes the backlog.
type Counts = store.Counts

// ClaimJSON is a live claim of the caller.
type ClaimJSON struct {
	IssueID       string `json:"issue_id"`
	Title         string `json:"title"`
	ExpiresUnixMS uint64 `json:"expires_unix_ms"`
	// Handoff is the latest handoff on the issue, by anyone.
	Handoff *HandoffJSON `json:"handoff,omitempty"`
}

// ownClaims lists the caller's live claims.
func (s *Session) ownClaims(ctx context.Context) ([]ClaimJSON, error) {
	if err := s.refreshLocks(ctx); err != nil {
		return nil, err
	}
	rows, err := s.Store().Claims(ctx, s.Actor.ID.String(), s.nowMS())
	if err != nil {
		return nil, err
	}
	out := make([]ClaimJSON, 0, len(rows))
	for _, c := range rows {
		out = append(out, ClaimJSON{IssueID: c.IssueID, Title: c.Title, ExpiresUnixMS: c.ExpiresUnixMS})
	}
	return out, nil
}

var WhoAmI = Op[WhoAmIInput, WhoAmIOutput]{
	Name: "whoami", Title: "Who am I", ReadOnly: true, Idempotent: true,
	Description: "Your session primer: call it first in a session and again after a compaction. " +
		"Repository and your actor; your live claims with expiry and their latest handoffs (how a restarted agent finds its work); " +
		"the top of the ready queue; counts (open, ready, blocked, claimed); project context; events not yet pushed " +
		"(remote is empty when there is no origin); and the change cursor to pass to changes.",
	Run: func(ctx context.Context, s *Session, in WhoAmIInput) (WhoAmIOutput, error) {
		if in.MaxChars == 0 {
			in.MaxChars = DefaultPrimerChars
		}
		if in.MaxChars < MinPrimerChars || in.MaxChars > MaxPrimerChars {
			return WhoAmIOutput{}, InvalidArgs("max_chars must be between %d and %d, got %d", MinPrimerChars, MaxPrimerChars, in.MaxChars)
		}
		head, err := s.WAL.Head()
		if err != nil {
			return WhoAmIOutput{}, err
		}
		out := WhoAmIOutput{Repo: s.RepoPath(), ActorID: s.Actor.ID.String(), Label: s.Actor.Config.Label,
			ActorSource: string(s.ActorSource), WALHead: hashOrEmpty(head)}
		// The cautious config reader's "cannot tell" (an include, say)
		// counts as a remote: only a config it read whole and found no
		// origin in says there is none.
		if urls, ok := gitdir.PlainRemoteURLs(s.Repo.CommonDir, "origin"); !ok || len(urls) > 0 {
			out.Remote = "origin"
		}
		pushed, err := s.Repo.ReadRef("refs/grite/remotes/origin/wal")
		if err != nil {
			return out, err
		}
		if pushed.IsZero() {
			// Never pushed: every event is unpushed, and the view (caught
			// up as the session opened) counts them without a walk of the
			// whole history.
			out.UnpushedEvents, err = s.Store().EventCount(ctx)
		} else {
			err = s.WAL.Walk(ctx, head, wal.ReadOptions{Stop: func(h plumbing.Hash) bool { return h == pushed }},
				func(c wal.Commit) error { out.UnpushedEvents += len(c.Events); return nil })
		}
		if err != nil {
			return out, err
		}
		if out.Claims, err = s.ownClaims(ctx); err != nil {
			return out, err
		}
		for i := range out.Claims {
			if out.Claims[i].Handoff, err = s.issueHandoff(ctx, out.Claims[i].IssueID); err != nil {
				return out, err
			}
		}
		if out.Ready, _, err = s.ready(ctx, store.ReadyFilter{Limit: primerReady}); err != nil {
			return out, err
		}
		if out.Counts, err = s.Store().Counts(ctx, s.Actor.ID.String(), s.nowMS()); err != nil {
			return out, err
		}
		if err := s.projectContext(ctx, &out); err != nil {
			return out, err
		}
		r := s.WAL.NewReader()
		defer r.Close()
		cur, err := feed.Head(r, head)
		if err != nil {
			return out, err
		}
		out.Cursor = cur.String()
		// The text and the JSON are trimmed each to its own size: a long
		// handoff weighs more in one than in the other.
		text := out
		text.Claims = slices.Clone(out.Claims)
		text.fit(in.MaxChars, func(o *WhoAmIOutput) int { return len(o.render()) })
		out.fit(in.MaxChars, jsonSize)
		out.text = text.render()
		return out, nil
	},
}

// issueHandoff is the latest handoff comment on the issue, if any.
func (s *Session) issueHandoff(ctx context.Context, issue string) (*HandoffJSON, error) {
	id, err := event.ParseIssueID(issue)
	if err != nil {
		return nil, err
	}
	events, err := s.Store().IssueEvents(ctx, id)
	if err != nil {
		return nil, err
	}
	SortByVersion(events)
	for i := len(events) - 1; i >= 0; i-- {
		if c, ok := events[i].Kind.(event.CommentAdded); ok {
			if h, ok := handoff.Parse(c.Body); ok {
				h.Actor = events[i].Actor.String()
				return &HandoffJSON{EventID: events[i].ID.String(), TS: events[i].TS, Handoff: h}, nil
			}
		}
	}
	return nil, nil
}

// projectContext is the project context, by key, at most primerContext
// entries (the rest counted in Omitted), each value on one line.
func (s *Session) projectContext(ctx context.Context, out *WhoAmIOutput) error {
	entries, err := s.Store().ProjectContext(ctx)
	if err != nil {
		return err
	}
	out.Context = make([]ContextEntry, 0, min(len(entries), primerContext))
	for i, e := range entries {
		if i == primerContext {
			out.omitN("context", len(entries)-primerContext)
			break
		}
		out.Context = append(out.Context, ContextEntry{e.Key, oneLine(e.Value, 300)})
	}
	return nil
}

// fit trims the primer's lists until size says it is within max
// characters: the ready queue first, then the project context, then the
// claims' handoffs, then the claims; what is left out is counted in
// Omitted.
func (o *WhoAmIOutput) fit(max int, size func(*WhoAmIOutput) int) {
	for size(o) > max {
		switch {
		case len(o.Ready) > 0:
			o.Ready = o.Ready[:len(o.Ready)-1]
			o.omit("ready")
		case len(o.Context) > 0:
			o.Context = o.Context[:len(o.Context)-1]
			o.omit("context")
		case o.dropHandoff():
			o.omit("handoffs")
		case len(o.Claims) > 0:
			o.Claims = o.Claims[:len(o.Claims)-1]
			o.omit("claims")
		default:
			return // the rest is the least an agent needs
		}
	}
}

// jsonSize is the primer's size as the CLI prints it: indented, inside
// the --json envelope (whose own lines are jsonEnvelope characters).
func jsonSize(o *WhoAmIOutput) int {
	b, _ := json.MarshalIndent(o, "  ", "  ")
	return len(b) + jsonEnvelope
}

// jsonEnvelope is what `{"schema_version": 1, "ok": true, "data": ...}`
// adds around the data, indented, with its newlines.
const jsonEnvelope = 64

func (o *WhoAmIOutput) omit(list string) { o.omitN(list, 1) }

func (o *WhoAmIOutput) omitN(list string, n int) {
	o.Omitted = maps.Clone(o.Omitted)
	if o.Omitted == nil {
		o.Omitted = map[string]int{}
	}
	o.Omitted[list] += n
}

func (o *WhoAmIOutput) dropHandoff() bool {
	for i := len(o.Claims) - 1; i >= 0; i-- {
		if o.Claims[i].Handoff != nil {
			o.Claims[i].Handoff = nil
			return true
		}
	}
	return false
}

// Text is the primer for people and for a model's context, within the
// max_chars it was made for.
func (o WhoAmIOutput) Text() string {
	if o.text != "" {
		return o.text
	}
	return o.render()
}

func (o WhoAmIOutput) render() string {
	var b strings.Builder
	who := o.ActorID
	if o.Label != "" {
		who = o.Label + " (" + o.ActorID + ")"
	}
	fmt.Fprintf(&b, "You are %s in %s.\n", who, o.Repo)
	c := o.Counts
	fmt.Fprintf(&b, "Backlog: %d open: %d ready, %d blocked, %d claimed by you, %d by others.", c.Open, c.Ready, c.Blocked, c.ClaimedByMe, c.ClaimedByOthers)
	switch {
	case o.Remote == "":
		b.WriteString(" No origin remote.\n")
	case o.UnpushedEvents > 0:
		fmt.Fprintf(&b, " %s not pushed to origin: sync.\n", Plural(o.UnpushedEvents, "event"))
	default:
		b.WriteString(" Everything is pushed to origin.\n")
	}
	if o.Cursor != "" {
		fmt.Fprintf(&b, "Change cursor (changes since / grite events --since): %s\n", o.Cursor)
	}
	if len(o.Claims) > 0 {
		b.WriteString("\nYour claims:\n")
		for _, cl := range o.Claims {
			fmt.Fprintf(&b, "- %s %q until %s\n", cl.IssueID[:8], cl.Title, time.UnixMilli(int64(cl.ExpiresUnixMS)).UTC().Format(time.RFC3339))
			if h := cl.Handoff; h != nil {
				fmt.Fprintf(&b, "  handoff: done: %s; next: %s", oneLine(h.Done, 200), oneLine(h.Next, 200))
				if h.Blocker != "" {
					fmt.Fprintf(&b, "; blocker: %s", oneLine(h.Blocker, 200))
				}
				b.WriteByte('\n')
			}
		}
	}
	if len(o.Ready) > 0 {
		b.WriteString("\nReady, oldest first:\n")
		for _, r := range o.Ready {
			fmt.Fprintf(&b, "- %s %s", r.IssueID[:8], oneLine(r.Title, 100))
			if len(r.Labels) > 0 {
				fmt.Fprintf(&b, " [%s]", strings.Join(r.Labels, ","))
			}
			b.WriteByte('\n')
		}
	}
	if len(o.Context) > 0 {
		b.WriteString("\nProject context:\n")
		for _, e := range o.Context {
			fmt.Fprintf(&b, "- %s: %s\n", e.Key, e.Value)
		}
	}
	if len(o.Omitted) > 0 {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(o.Omitted)) {
			parts = append(parts, fmt.Sprintf("%d %s", o.Omitted[k], k))
		}
		fmt.Fprintf(&b, "\n(Left out to fit: %s.)\n", strings.Join(parts, ", "))
	}
	return b.String()
}

// RepoPath is the repository as users know it: the working tree, or the
// git dir of a bare repository.
func (s *Session) RepoPath() string {
	if s.Repo.WorkTree != "" {
		return s.Repo.WorkTree
	}
	return s.Repo.CommonDir
}

// SessionActorRequest says how an agent session picks its actor.
type SessionActorRequest struct {
	ActorID    string // pin an existing actor
	ActorLabel string // reuse the oldest actor with this label, or create it
	ClientName string // label of a fresh actor when neither is given
}

// SessionActor resolves the actor of an agent session: pinned, by label
// (under a lock, so sessions starting together agree), or a new actor of its
// own so that two agents never share one.
func SessionActor(dir actor.Dir, req SessionActorRequest, now time.Time) (*actor.Actor, actor.Source, error) {
	switch {
	case req.ActorID != "":
		a, err := dir.Find(req.ActorID)
		if err != nil {
			return nil, "", err
		}
		return a, actor.SourceFlag, nil
	case req.ActorLabel != "":
		if err := checkName("actor label", req.ActorLabel); err != nil {
			return nil, "", err
		}
		var a *actor.Actor
		err := dir.WithLock("actor-init", func() error {
			var err error
			if a, err = dir.FindByLabel(req.ActorLabel); a != nil || err != nil {
				return err
			}
			a, err = dir.Create(req.ActorLabel, false, now)
			return err
		})
		if err != nil {
			return nil, "", err
		}
		return a, actor.SourceFlag, nil
	}
	label := req.ClientName
	if label == "" {
		label = "mcp-session"
	}
	var a *actor.Actor
	err := dir.WithLock("actor-init", func() error {
		var err error
		a, err = dir.Create(label, false, now)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return a, actor.SourceAuto, nil
}
