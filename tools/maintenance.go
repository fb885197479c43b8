package tools

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"grite/crdt"
	"grite/event"
	"grite/store"
	"grite/wal"
)

// RebuildOutput reports a rebuild (docs/cli.md, Data payloads).
type RebuildOutput struct {
	WALHead        string `json:"wal_head"`
	EventCount     int    `json:"event_count"`
	FromSnapshot   bool   `json:"from_snapshot"`
	SnapshotEvents int    `json:"snapshot_events"`
	SnapshotRef    string `json:"snapshot_ref,omitempty"`
}

// RebuildInput: FromSnapshot starts from the latest snapshot.
type RebuildInput struct {
	FromSnapshot bool `json:"from_snapshot,omitempty"`
}

// Rebuild refills the view from the WAL, or from the newest snapshot plus
// the WAL commits after the snapshot's head (the original's docs; its code
// loads the snapshot alone, which would hide newer events).
var Rebuild = Op[RebuildInput, RebuildOutput]{
	Name: "rebuild", Title: "Rebuild the view", Idempotent: true,
	Description: "Rebuild the SQLite view from the WAL (or from the latest snapshot and the WAL after it).",
	Run: func(ctx context.Context, s *Session, in RebuildInput) (RebuildOutput, error) {
		fromSnapshot := in.FromSnapshot
		if !fromSnapshot {
			head, n, err := s.Rebuild(ctx)
			return RebuildOutput{WALHead: hashOrEmpty(head), EventCount: n}, err
		}
		snaps, err := wal.ListSnapshots(s.Repo)
		if err != nil {
			return RebuildOutput{}, err
		}
		if len(snaps) == 0 {
			return RebuildOutput{}, newErr(CodeNotFound, "no snapshot exists").suggest("Run 'grite snapshot' to create one", "Run 'grite rebuild' to rebuild from the WAL")
		}
		meta, events, err := wal.ReadSnapshot(ctx, s.Repo, snaps[0])
		if err != nil {
			return RebuildOutput{}, err
		}
		head, err := s.WAL.Head()
		if err != nil {
			return RebuildOutput{}, err
		}
		since := plumbing.NewHash(meta.WALHead)
		newer, err := s.WAL.ReadSince(ctx, head, since, wal.ReadOptions{})
		if err != nil {
			return RebuildOutput{}, err
		}
		snapCount := len(events)
		events = append(events, wal.Events(newer)...)
		if err := s.load(ctx, events, head); err != nil {
			return RebuildOutput{}, err
		}
		return RebuildOutput{WALHead: hashOrEmpty(head), EventCount: len(events), FromSnapshot: true, SnapshotEvents: snapCount, SnapshotRef: snaps[0].Ref}, nil
	},
}

func hashOrEmpty(h plumbing.Hash) string {
	if h.IsZero() {
		return ""
	}
	return h.String()
}

// SnapshotCreateOutput reports a new snapshot.
type SnapshotCreateOutput struct {
	SnapshotRef string `json:"snapshot_ref"`
	WALHead     string `json:"wal_head"`
	EventCount  int    `json:"event_count"`
}

// SnapshotCreate writes the whole WAL (in the original's read order) as a snapshot.
var SnapshotCreate = Op[NoInput, SnapshotCreateOutput]{
	Name: "snapshot_create", Title: "Create a snapshot",
	Description: "Write a snapshot of every event so far under refs/grite/snapshots/.",
	Run: func(ctx context.Context, s *Session, in NoInput) (SnapshotCreateOutput, error) {
		events, head, err := s.WAL.ReadAll(ctx)
		if err != nil {
			return SnapshotCreateOutput{}, err
		}
		if len(events) == 0 {
			return SnapshotCreateOutput{}, newErr(CodeInvalidArgs, "the WAL is empty: nothing to snapshot")
		}
		snap, err := wal.CreateSnapshot(s.Repo, events, head, s.Now())
		if err != nil {
			return SnapshotCreateOutput{}, err
		}
		return SnapshotCreateOutput{SnapshotRef: snap.Ref, WALHead: head.String(), EventCount: len(events)}, nil
	},
}

// SnapshotInfo is one snapshot in a listing.
type SnapshotInfo struct {
	Ref       string `json:"ref"`
	CreatedTS uint64 `json:"created_ts"`
	Commit    string `json:"commit"`
}

// SnapshotListOutput lists snapshots newest first.
type SnapshotListOutput struct {
	Snapshots []SnapshotInfo `json:"snapshots"`
}

// SnapshotList lists snapshot refs.
var SnapshotList = Op[NoInput, SnapshotListOutput]{
	Name: "snapshot_list", Title: "List snapshots", ReadOnly: true, Idempotent: true,
	Description: "List the snapshots, newest first.",
	Run: func(ctx context.Context, s *Session, in NoInput) (SnapshotListOutput, error) {
		snaps, err := wal.ListSnapshots(s.Repo)
		out := SnapshotListOutput{Snapshots: []SnapshotInfo{}}
		for _, sn := range snaps {
			out.Snapshots = append(out.Snapshots, SnapshotInfo{sn.Ref, sn.CreatedTS, sn.Commit.String()})
		}
		return out, err
	},
}

// SnapshotGCOutput reports deleted snapshot refs.
type SnapshotGCOutput struct {
	Deleted []string `json:"deleted"`
	Kept    int      `json:"kept"`
}

// SnapshotGCInput: Keep is how many of the newest snapshots stay.
type SnapshotGCInput struct {
	Keep int `json:"keep"`
}

// SnapshotGC deletes all but the keep newest snapshot refs (local only).
var SnapshotGC = Op[SnapshotGCInput, SnapshotGCOutput]{
	Name: "snapshot_gc", Title: "Remove old snapshots", Idempotent: true,
	Description: "Remove all but the newest snapshots.",
	Run: func(ctx context.Context, s *Session, in SnapshotGCInput) (SnapshotGCOutput, error) {
		keep := in.Keep
		if keep < 0 {
			return SnapshotGCOutput{}, newErr(CodeInvalidArgs, "--keep must not be negative")
		}
		snaps, err := wal.ListSnapshots(s.Repo)
		if err != nil {
			return SnapshotGCOutput{}, err
		}
		out := SnapshotGCOutput{Deleted: []string{}}
		for i, sn := range snaps {
			if i < keep {
				out.Kept++
				continue
			}
			if err := s.Repo.DeleteRef(sn.Ref, sn.Commit); err != nil {
				return out, err
			}
			out.Deleted = append(out.Deleted, sn.Ref)
		}
		return out, nil
	},
}

// DBStatsOutput are the view's counts.
type DBStatsOutput = store.Stats

// DBStats reports the view's counts.
var DBStats = Op[NoInput, DBStatsOutput]{
	Name: "db_stats", Title: "View statistics", ReadOnly: true, Idempotent: true,
	Description: "Sizes and counts of the view (SQLite) and the WAL it has applied.",
	Run: func(ctx context.Context, s *Session, in NoInput) (DBStatsOutput, error) {
		return s.Store().Stats(ctx)
	},
}

// ExportOutput is the JSON export: every issue in full and the events.
type ExportOutput struct {
	WALHead string        `json:"wal_head"`
	Since   uint64        `json:"since_ts,omitempty"`
	Issues  []IssueDetail `json:"issues"`
	Events  []EventJSON   `json:"events"`
	// Markdown is set for --format md.
	Markdown string `json:"markdown,omitempty"`
	// BeadsJSONL is set for --format beads-jsonl (then Issues and Events
	// are empty).
	BeadsJSONL string `json:"beads_jsonl,omitempty"`
}

// ExportInput is `grite export`: Format json, md or beads-jsonl; Since (a
// ms timestamp or an event ID) limits the events listed and the issues to
// those updated at or after it.
type ExportInput struct {
	Format string `json:"format"`
	Since  string `json:"since,omitempty"`
}

// Export renders the tracker.
var Export = Op[ExportInput, ExportOutput]{
	Name: "export", Title: "Export issues", ReadOnly: true, Idempotent: true,
	Description: "Export every issue and event as JSON or Markdown, or the issues as beads JSONL.",
	Run: func(ctx context.Context, s *Session, in ExportInput) (ExportOutput, error) {
		format, since := in.Format, in.Since
		if format != "json" && format != "md" && format != FormatBeadsJSONL {
			return ExportOutput{}, newErr(CodeInvalidArgs, "--format must be json, md or %s, got %q", FormatBeadsJSONL, format)
		}
		var sinceTS uint64
		if since != "" {
			if ts, err := strconv.ParseUint(since, 10, 64); err == nil && len(since) < 20 {
				sinceTS = ts
			} else if _, err := event.ParseEventID(since); err == nil {
				ts, ok, err := s.Store().EventTS(ctx, strings.ToLower(since))
				if err != nil {
					return ExportOutput{}, err
				}
				if !ok {
					return ExportOutput{}, newErr(CodeNotFound, "event %s not found", since)
				}
				sinceTS = ts
			} else {
				return ExportOutput{}, newErr(CodeInvalidArgs, "--since must be a ms timestamp or a 64-hex event ID")
			}
		}
		head, err := s.WAL.Head()
		if err != nil {
			return ExportOutput{}, err
		}
		out := ExportOutput{WALHead: hashOrEmpty(head), Since: sinceTS, Issues: []IssueDetail{}, Events: []EventJSON{}}
		if format == FormatBeadsJSONL {
			out.BeadsJSONL, err = s.exportBeads(ctx, sinceTS)
			return out, err
		}
		all, err := s.Store().AllEvents(ctx)
		if err != nil {
			return ExportOutput{}, err
		}
		SortByVersion(all)
		for i := range all {
			if all[i].TS >= sinceTS {
				out.Events = append(out.Events, EventToJSON(&all[i]))
			}
		}
		for _, iss := range crdt.Fold(all).Issues() {
			if iss.UpdatedTS >= sinceTS {
				out.Issues = append(out.Issues, detailOf(iss))
			}
		}
		if format == "md" {
			out.Markdown = markdown(out.Issues)
		}
		return out, nil
	},
}

// mdTime is how the Markdown export writes a time: a reader of a document
// wants a date, and UTC keeps an export the same wherever it was made.
func mdTime(ms uint64) string {
	return time.UnixMilli(int64(ms)).UTC().Format("2006-01-02 15:04 UTC")
}

func markdown(issues []IssueDetail) string {
	var b strings.Builder
	b.WriteString("# Issues\n")
	for _, i := range issues {
		fmt.Fprintf(&b, "\n## %s (%s)\n\n", i.Title, i.State)
		fmt.Fprintf(&b, "- ID: `%s`\n", i.IssueID)
		fmt.Fprintf(&b, "- Updated: %s\n", mdTime(i.UpdatedTS))
		if len(i.Labels) > 0 {
			fmt.Fprintf(&b, "- Labels: %s\n", strings.Join(i.Labels, ", "))
		}
		if len(i.Assignees) > 0 {
			fmt.Fprintf(&b, "- Assignees: %s\n", strings.Join(i.Assignees, ", "))
		}
		for _, d := range i.Deps {
			fmt.Fprintf(&b, "- %s: `%s`\n", d.DepType, d.Target)
		}
		for _, l := range i.Links {
			fmt.Fprintf(&b, "- Link: %s\n", l.URL)
		}
		if i.Body != "" {
			fmt.Fprintf(&b, "\n%s\n", i.Body)
		}
		for _, c := range i.Comments {
			fmt.Fprintf(&b, "\n### Comment by %s at %s\n\n%s\n", c.Actor[:8], mdTime(c.TS), c.Body)
		}
	}
	return b.String()
}

// Check is one doctor finding.
type Check struct {
	Name    string `json:"name"`
	OK      bool   `json:"ok"`
	Message string `json:"message"`
	Code    Code   `json:"code,omitempty"`
	Commit  string `json:"commit,omitempty"`
}

// DoctorOutput lists the checks; Fixed says whether --fix rebuilt the view.
type DoctorOutput struct {
	Healthy bool    `json:"healthy"`
	Checks  []Check `json:"checks"`
	Fixed   bool    `json:"fixed"`
}

// DoctorInput: Fix rebuilds what is derived (the view) when a check fails.
type DoctorInput struct {
	Fix bool `json:"fix,omitempty"`
}

// Doctor checks the repository, the WAL (every commit strictly: shape,
// chunk_hash, event IDs, known signatures), the actor config and the view.
// fix only rebuilds local state; it never touches refs.
var Doctor = Op[DoctorInput, DoctorOutput]{
	Name: "doctor", Title: "Check the repository", Idempotent: true,
	Description: "Check the repository, the actor, the WAL, the view and the dependency graph; with fix, rebuild what is derived.",
	Run: func(ctx context.Context, s *Session, in DoctorInput) (DoctorOutput, error) {
		fix := in.Fix
		out := DoctorOutput{Healthy: true}
		add := func(c Check) {
			if !c.OK {
				out.Healthy = false
			}
			out.Checks = append(out.Checks, c)
		}
		add(Check{Name: "repository", OK: true, Message: "git dir " + s.Repo.CommonDir})
		add(Check{Name: "actor", OK: true, Message: fmt.Sprintf("%s (%s)", s.Actor.ID, s.ActorSource)})
		keys, kerr := s.Grite.PublicKeys()
		if kerr != nil {
			add(Check{Name: "actor_config", OK: false, Message: kerr.Error(), Code: CodeIO})
		}
		head, err := s.WAL.Head()
		if err != nil {
			return out, err
		}
		var events []event.Event
		commits := 0
		walkErr := s.WAL.Walk(ctx, head, wal.ReadOptions{Strict: true, PublicKey: func(a event.ActorID) ed25519.PublicKey { return keys[a] }},
			func(c wal.Commit) error { commits++; events = append(events, c.Events...); return nil })
		var werr *wal.Error
		switch {
		case walkErr == nil:
			add(Check{Name: "wal", OK: true, Message: Plural(commits, "commit") + ", " + Plural(len(events), "event") + ", hashes verified"})
		case errors.As(walkErr, &werr):
			msg, code := werr.Error(), CodeWAL
			if note := partialCloneNote(s.Repo, walkErr); note != "" {
				msg, code = msg+": "+note, CodeGit // incomplete here, not invalid
			}
			add(Check{Name: "wal", OK: false, Message: msg, Code: code, Commit: werr.Commit.String()})
		default:
			return out, walkErr
		}
		p := crdt.Fold(events)
		if dups := p.DuplicateCreations(); len(dups) > 0 {
			add(Check{Name: "duplicate_creations", OK: false, Code: CodeWAL, Message: Plural(len(dups), "IssueCreated event") + " lost to an earlier creation of the same issue (ignored)"})
		}
		if pend := p.Pending(); len(pend) > 0 {
			have := "have"
			if len(pend) == 1 {
				have = "has"
			}
			add(Check{Name: "orphan_events", OK: true, Message: fmt.Sprintf("%s %s events but no creation yet (kept until it arrives)", Plural(len(pend), "issue"), have)})
		}
		applied, err := s.Store().Meta(ctx, "wal_head")
		if err != nil {
			return out, err
		}
		st, err := s.Store().Stats(ctx)
		if err != nil {
			return out, err
		}
		// Compared as hashes: a view that an earlier grite caught up with an
		// empty WAL recorded the zero hash rather than nothing.
		viewOK := walkErr != nil || (plumbing.NewHash(applied) == head && st.Issues == len(p.Issues()))
		msg := fmt.Sprintf("view at %s, %s, %s", shortHash(applied), Plural(st.Issues, "issue"), Plural(st.Events, "event"))
		if !viewOK {
			msg = fmt.Sprintf("view is stale: applied %s, WAL head %s; %s in view, %d in WAL", shortHash(applied), shortHash(hashOrEmpty(head)), Plural(st.Issues, "issue"), len(p.Issues()))
		}
		add(Check{Name: "view", OK: viewOK, Message: msg})
		viewEvents, err := s.Store().AllEvents(ctx)
		if err != nil {
			return out, err
		}
		if r := checkEvents(viewEvents, false); r.Healthy() {
			add(Check{Name: "view_events", OK: true, Message: Plural(r.EventsChecked, "event") + " of the view hash to their IDs"})
		} else {
			// The view is a cache: a rebuild from the WAL replaces it.
			add(Check{Name: "view_events", OK: false, Code: CodeInternal,
				Message: fmt.Sprintf("%s of the view do not hash to their IDs (first: %s %s); 'grite doctor --fix' rebuilds the view", Plural(r.CorruptCount, "event"), r.Errors[0].EventID, r.Errors[0].Error)})
		}
		cycles, err := depCycles(ctx, s)
		if err != nil {
			return out, err
		}
		if len(cycles) == 0 {
			add(Check{Name: "dependency_cycles", OK: true, Message: "no dependency cycles"})
		} else {
			// Concurrent edges from different clones can close a cycle that
			// each clone's own check allowed; its issues are never ready.
			add(Check{Name: "dependency_cycles", OK: false, Code: CodeConflict,
				Message: fmt.Sprintf("%s (their issues are never ready): %s; remove one edge of each with 'grite issue dep remove'", Plural(len(cycles), "dependency cycle"), strings.Join(cycles, "; "))})
		}
		if fix {
			// A rebuild cannot get past an unreadable WAL commit (it leaves the
			// view as it was); only a rebuild that happened counts as fixed.
			_, _, err := s.Rebuild(ctx)
			if err != nil && walkErr == nil {
				return out, err
			}
			out.Fixed = err == nil
		}
		sort.SliceStable(out.Checks, func(i, j int) bool { return out.Checks[i].OK && !out.Checks[j].OK })
		return out, nil
	},
}

// depCycles lists the view's wait cycles, each as its space-separated IDs.
func depCycles(ctx context.Context, s *Session) ([]string, error) {
	edges, err := s.Store().AllDeps(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range crdt.Cycles(waitEdges(edges)) {
		ids := make([]string, len(c))
		for i, id := range c {
			ids[i] = id.String()
		}
		out = append(out, strings.Join(ids, " "))
	}
	return out, nil
}

func shortHash(h string) string {
	if len(h) >= 12 {
		return h[:12]
	}
	if h == "" {
		return "(none)"
	}
	return h
}
