// Package feed is the change feed: the events of a clone's WAL in a stable
// order, read after a cursor. A cursor names a WAL commit and how many of
// its events were delivered, so it stays valid across processes, actors,
// view rebuilds and syncs: a sync that re-appends local commits on top of
// the remote's gives them new hashes, but the old commits stay readable and
// the events keep their IDs, so what the cursor had seen is known exactly
// and the events after it are neither lost nor repeated. It reads the WAL
// only; waiting for new events is the caller's (see gitdir.Repo.WatchRef).
package feed

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"grite/event"
	"grite/wal"
)

// Position is a point in the feed: every event of Commit's history before
// it, and the first Seen events of Commit (in feed order), were delivered.
type Position struct {
	Commit plumbing.Hash
	Seen   int
}

// Cursor is what a reader has seen: the events before any of its
// positions. It has one position, except right after a sync rewrote
// history under a reader that was paging: events it saw before the sync
// were re-appended further on, so the old position stays until the
// reader is past them. The zero Cursor is before the first event.
type Cursor struct {
	at []Position
}

// At is the cursor of one position.
func At(commit plumbing.Hash, seen int) Cursor { return Cursor{[]Position{{commit, seen}}} }

// Positions returns the cursor's positions, the newest first.
func (c Cursor) Positions() []Position { return slices.Clone(c.at) }

// cursorPrefix versions the cursor's text, which callers treat as opaque.
const cursorPrefix = "c1"

// maxPositions bounds a cursor: each sync that rewrites history while a
// reader pages adds one, until the reader is past it.
const maxPositions = 8

// String is the cursor as callers pass it back ("" for the zero cursor).
func (c Cursor) String() string {
	if len(c.at) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(cursorPrefix)
	for _, p := range c.at {
		fmt.Fprintf(&b, ".%s.%d", p.Commit, p.Seen)
	}
	return b.String()
}

// ErrBadCursor reports a cursor that is not one this package wrote, or
// names a commit this clone does not have.
var ErrBadCursor = errors.New("invalid cursor")

// ParseCursor reads a cursor written by String.
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	bad := fmt.Errorf("%w %q: pass back a next_cursor value unchanged", ErrBadCursor, s)
	parts := strings.Split(s, ".")
	if parts[0] != cursorPrefix || len(parts)%2 != 1 || len(parts) < 3 || len(parts) > 1+2*maxPositions {
		return Cursor{}, bad
	}
	var c Cursor
	for i := 1; i < len(parts); i += 2 {
		hash, seen := parts[i], parts[i+1]
		n, err := strconv.Atoi(seen)
		if err != nil || n < 0 || len(hash) != 40 || strings.Trim(hash, "0123456789abcdef") != "" {
			return Cursor{}, bad
		}
		c.at = append(c.at, Position{plumbing.NewHash(hash), n})
	}
	return c, nil
}

// Item is one event of the feed and the WAL commit that holds it.
type Item struct {
	Commit plumbing.Hash
	Event  event.Event
}

// Page is what Read returns: the events after the cursor (at most the
// limit that match), the cursor after them, and whether more matching
// events follow.
type Page struct {
	Items   []Item
	Next    Cursor
	HasMore bool
}

// Order is the feed's order of a commit's events: as the chunk stores
// them, which is the order they were written (an issue's creation before
// the assignees added with it). The original grite's read order (see
// wal.Events) reverses a chunk's events, which is fine for a fold that
// does not care but reads backwards in a feed that promises oldest first.
func Order(c wal.Commit) []event.Event { return c.Events }

// Read returns up to limit (at least 1) events after since that match
// (nil: all), in feed order: WAL commits oldest first. Events that do not
// match are passed over, and the next cursor moves past them too.
func Read(ctx context.Context, r *wal.Reader, head plumbing.Hash, since Cursor, match func(event.Event) bool, limit int) (Page, error) {
	cr := &commitReader{r: r, read: map[plumbing.Hash]wal.Commit{}}
	newer, seenBy, err := after(ctx, cr, head, since)
	if err != nil {
		return Page{}, err
	}
	page := Page{Next: since}
	var at *Position // the new position on head's line, once there is one
	seen := func(id event.EventID) bool {
		for _, s := range seenBy {
			if s[id] {
				return true
			}
		}
		return false
	}
	stop := func(ci, ei int) Page {
		// Keep the old positions that saw events still ahead.
		next := Cursor{at: []Position{*at}}
		for i, p := range since.at {
			if len(next.at) < maxPositions && aheadSeen(newer, ci, ei, seenBy[i]) {
				next.at = append(next.at, p)
			}
		}
		page.Next = next
		return page
	}
	for ci, c := range newer {
		evs := Order(c)
		for ei, e := range evs {
			if seen(e.ID) || (match != nil && !match(e)) {
				at = &Position{c.Hash, ei + 1}
				continue
			}
			if len(page.Items) == limit {
				page.HasMore = true
				return stop(ci, ei), nil
			}
			page.Items = append(page.Items, Item{c.Hash, e})
			at = &Position{c.Hash, ei + 1}
		}
		// A commit with no events (never written, but not ours to
		// refuse) still moves the cursor.
		at = &Position{c.Hash, len(evs)}
	}
	if at == nil {
		return page, nil // nothing after since
	}
	return stop(len(newer), 0), nil
}

// aheadSeen reports whether any event from newer[ci] event ei on (feed
// order) is in seen.
func aheadSeen(newer []wal.Commit, ci, ei int, seen map[event.EventID]bool) bool {
	for i := ci; i < len(newer); i++ {
		evs := Order(newer[i])
		if i == ci {
			evs = evs[ei:]
		}
		for _, e := range evs {
			if seen[e.ID] {
				return true
			}
		}
	}
	return false
}

// Head is the cursor at head: after every event there is now.
func Head(r *wal.Reader, head plumbing.Hash) (Cursor, error) {
	if head.IsZero() {
		return Cursor{}, nil
	}
	c, err := r.Commit(head)
	if err != nil {
		return Cursor{}, err
	}
	return At(head, len(c.Events)), nil
}

// commitReader reads each commit once per Read: the walks for each of a
// cursor's positions cover the same part of head's line.
type commitReader struct {
	r    *wal.Reader
	read map[plumbing.Hash]wal.Commit
}

func (cr *commitReader) commit(h plumbing.Hash) (wal.Commit, error) {
	if c, ok := cr.read[h]; ok {
		return c, nil
	}
	c, err := cr.r.Commit(h)
	if err == nil {
		cr.read[h] = c
	}
	return c, err
}

// after returns the commits of head's line that some position of since
// has not seen in full (oldest first), and for each position the IDs of
// the events it saw among theirs. An event is unseen when no position saw
// it: head's commits below the newest meeting point are in the history
// of that position, and above it each position knows its own.
func after(ctx context.Context, cr *commitReader, head plumbing.Hash, since Cursor) ([]wal.Commit, []map[event.EventID]bool, error) {
	if len(since.at) == 0 {
		ours, _, err := meet(ctx, cr, head, Position{})
		return ours, nil, err
	}
	var newer []wal.Commit
	var seenBy []map[event.EventID]bool
	for i, p := range since.at {
		ours, seen, err := meet(ctx, cr, head, p)
		if err != nil {
			return nil, nil, err
		}
		if i == 0 || len(ours) < len(newer) {
			newer = ours
		}
		seenBy = append(seenBy, seen)
	}
	return newer, seenBy, nil
}

// aloneSteps is how far meet walks head's line before it walks p's too.
const aloneSteps = 1024

// meet walks head's line and p's back to where they meet (their merge
// base), in step: usually p is on head's line and only head's walk goes
// far, but after a sync re-appended local commits, those p had seen are
// on head's line under new hashes, and their events are recognised by ID.
// It returns head's commits above the meeting point, oldest first, and
// the IDs of the events p saw that are not below it.
func meet(ctx context.Context, cr *commitReader, head plumbing.Hash, p Position) ([]wal.Commit, map[event.EventID]bool, error) {
	seen := map[event.EventID]bool{}
	var theirs plumbing.Hash // the next commit on p's line
	if !p.Commit.IsZero() {
		c, err := cr.commit(p.Commit)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: its commit %s cannot be read here (%v): a cursor is valid in the clone that gave it", ErrBadCursor, p.Commit, err)
		}
		evs := Order(c)
		if p.Seen > len(evs) {
			return nil, nil, fmt.Errorf("%w: commit %s has %d events, the cursor says %d were seen", ErrBadCursor, p.Commit, len(evs), p.Seen)
		}
		for _, e := range evs[:p.Seen] {
			seen[e.ID] = true
		}
		theirs = c.Meta.PrevWAL
	}
	var ours, others line
	mine := head
	// Usually p is on head's line: walk head's line alone first, as far as
	// a page's worth of commits, and read nothing of p's line.
	for range aloneSteps {
		if mine.IsZero() || mine == theirs {
			break
		}
		if err := ours.step(cr, &mine); err != nil {
			return nil, nil, err
		}
	}
	// head's line usually runs further from the meeting point, so it
	// takes several steps for each of p's.
	const stepsPerTheirs = 4
walk:
	for mine != theirs && (!mine.IsZero() || !theirs.IsZero()) {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		if at, ok := ours.at[theirs]; ok && !theirs.IsZero() {
			ours.commits = ours.commits[:at] // head's walk went past the meeting point
			break
		}
		for range stepsPerTheirs {
			if mine.IsZero() {
				break
			}
			if at, ok := others.at[mine]; ok || mine == theirs {
				if ok {
					others.commits = others.commits[:at]
				}
				break walk
			}
			if err := ours.step(cr, &mine); err != nil {
				return nil, nil, err
			}
		}
		if !theirs.IsZero() {
			if err := others.step(cr, &theirs); err != nil {
				return nil, nil, err
			}
		}
	}
	for _, c := range others.commits {
		for _, e := range c.Events {
			seen[e.ID] = true
		}
	}
	slices.Reverse(ours.commits)
	return ours.commits, seen, nil
}

// line is the part of one history a walk has read, newest first, and
// where each commit of it is.
type line struct {
	commits []wal.Commit
	at      map[plumbing.Hash]int
}

// step reads commit *h onto the line and moves *h to its parent.
func (l *line) step(cr *commitReader, h *plumbing.Hash) error {
	c, err := cr.commit(*h)
	if err != nil {
		return err
	}
	if l.at == nil {
		l.at = map[plumbing.Hash]int{}
	}
	l.at[*h] = len(l.commits)
	l.commits = append(l.commits, c)
	*h = c.Meta.PrevWAL
	return nil
}
