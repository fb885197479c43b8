package feed_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"grite/event"
	"grite/feed"
	"grite/gitdir"
	"grite/internal/testrepo"
	"grite/wal"
)

type history struct {
	t  *testing.T
	w  *wal.WAL
	ts uint64
}

func newHistory(t *testing.T) *history {
	r, err := gitdir.Discover(testrepo.New(t))
	if err != nil {
		t.Fatal(err)
	}
	return &history{t: t, w: wal.Open(r), ts: 1_700_000_000_000}
}

// events makes n distinct events on issue.
func (h *history) events(issue byte, n int) []event.Event {
	h.t.Helper()
	var out []event.Event
	for range n {
		h.ts++
		e := event.Event{IssueID: event.IssueID{issue}, Actor: event.ActorID{1}, TS: h.ts, Kind: event.CommentAdded{Body: fmt.Sprint(h.ts)}}
		if err := e.Seal(nil); err != nil {
			h.t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func (h *history) append(evs []event.Event) plumbing.Hash {
	h.t.Helper()
	res, err := h.w.Append(context.Background(), event.ActorID{1}, evs, time.UnixMilli(int64(h.ts)))
	if err != nil {
		h.t.Fatal(err)
	}
	return res.Commit
}

// onto writes evs as a commit on parent and moves the ref there.
func (h *history) onto(parent plumbing.Hash, evs []event.Event) plumbing.Hash {
	h.t.Helper()
	cur, err := h.w.Head()
	if err != nil {
		h.t.Fatal(err)
	}
	res, err := h.w.AppendOnto(context.Background(), event.ActorID{1}, evs, time.UnixMilli(int64(h.ts)), wal.Onto{Parent: parent, Expected: cur})
	if err != nil {
		h.t.Fatal(err)
	}
	return res.Commit
}

func (h *history) read(since feed.Cursor, match func(event.Event) bool, limit int) feed.Page {
	h.t.Helper()
	r := h.w.NewReader()
	defer r.Close()
	head, err := h.w.Head()
	if err != nil {
		h.t.Fatal(err)
	}
	p, err := feed.Read(context.Background(), r, head, since, match, limit)
	if err != nil {
		h.t.Fatal(err)
	}
	return p
}

// drain reads pages of size limit from since until none is left, with a
// cursor round trip through its text each time.
func (h *history) drain(since feed.Cursor, limit int) ([]event.EventID, feed.Cursor) {
	h.t.Helper()
	var got []event.EventID
	for range 1000 {
		p := h.read(since, nil, limit)
		for _, it := range p.Items {
			got = append(got, it.Event.ID)
		}
		next, err := feed.ParseCursor(p.Next.String())
		if err != nil || next.String() != p.Next.String() {
			h.t.Fatalf("cursor %q round trip: %v, %v", p.Next, next, err)
		}
		since = next
		if !p.HasMore {
			return got, since
		}
	}
	h.t.Fatal("the feed never ended")
	return nil, since
}

func ids(groups ...[]event.Event) []event.EventID {
	var out []event.EventID
	for _, g := range groups {
		// Feed order within a commit is the order written.
		for _, e := range g {
			out = append(out, e.ID)
		}
	}
	return out
}

// Paging from the start, at any page size, yields every event once in
// the WAL's read order, and ends at the head cursor; from there, only
// what is appended later.
func TestReadPagesThroughHistory(t *testing.T) {
	for _, limit := range []int{1, 2, 3, 100} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			h := newHistory(t)
			var groups [][]event.Event
			for i := range 5 {
				g := h.events(byte(i), i%3+1)
				h.append(g)
				groups = append(groups, g)
			}
			got, end := h.drain(feed.Cursor{}, limit)
			if want := ids(groups...); !slices.Equal(got, want) {
				t.Fatalf("feed %v\nwant %v", got, want)
			}
			r := h.w.NewReader()
			defer r.Close()
			head, _ := h.w.Head()
			if at, err := feed.Head(r, head); err != nil || at.String() != end.String() {
				t.Fatalf("drained to %v, head cursor %v (%v)", end, at, err)
			}
			if p := h.read(end, nil, limit); len(p.Items) != 0 || p.HasMore || p.Next.String() != end.String() {
				t.Fatalf("at the head: %+v", p)
			}
			later := h.events(9, 2)
			h.append(later)
			if got, _ := h.drain(end, limit); !slices.Equal(got, ids(later)) {
				t.Fatalf("after the head: %v, want %v", got, ids(later))
			}
		})
	}
}

// A sync that re-appends local commits on top of the remote's rewrites
// their hashes; a cursor taken before it still yields exactly the events
// it had not seen: the remote's, then the rest of the local ones.
func TestReadAcrossRewrittenHistory(t *testing.T) {
	h := newHistory(t)
	b1 := h.events(1, 2)
	base := h.append(b1)
	l1, l2 := h.events(2, 1), h.events(3, 2)
	c1 := h.append(l1)
	c2 := h.append(l2)
	r1, r2 := h.events(4, 1), h.events(5, 3)
	// The sync: the remote's commits on the common base, then the local
	// ones again, same events, new commits.
	h.onto(base, r1)
	h.append(r2)
	h.append(l1)
	h.append(l2)

	cases := []struct {
		name  string
		since feed.Cursor
		want  []event.EventID
	}{
		{"all local seen", feed.At(c2, 2), ids(r1, r2)},
		{"part of the last local commit seen", feed.At(c2, 1), append(ids(r1, r2), ids(l2)[1:]...)},
		{"first local commit seen", feed.At(c1, 1), ids(r1, r2, l2)},
		{"base seen", feed.At(base, 2), ids(r1, r2, l1, l2)},
		{"nothing seen", feed.Cursor{}, ids(b1, r1, r2, l1, l2)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, limit := range []int{1, 100} {
				got, end := h.drain(tc.since, limit)
				if !slices.Equal(got, tc.want) {
					t.Fatalf("limit %d: %v\nwant %v", limit, got, tc.want)
				}
				// Past the re-appended events, the old position is dropped.
				if head, _ := h.w.Head(); len(end.Positions()) != 1 || end.Positions()[0].Commit != head {
					t.Fatalf("limit %d: drained to %v, want the head %s alone", limit, end, head)
				}
			}
			// Paging one event at a time keeps the old position while
			// events it saw are still ahead.
			if p := h.read(tc.since, nil, 1); len(tc.since.Positions()) == 1 && tc.since.Positions()[0].Commit == c2 && len(p.Next.Positions()) != 2 {
				t.Fatalf("after one event: cursor %v, want two positions", p.Next)
			}
		})
	}
}

// A filter passes over events that do not match, and the cursor moves
// past them: the next read does not see them again.
func TestReadFilters(t *testing.T) {
	h := newHistory(t)
	a1, b1, a2, b2 := h.events(1, 1), h.events(2, 2), h.events(1, 2), h.events(2, 1)
	for _, g := range [][]event.Event{a1, b1, a2, b2} {
		h.append(g)
	}
	onA := func(e event.Event) bool { return e.IssueID == event.IssueID{1} }
	p := h.read(feed.Cursor{}, onA, 2)
	if got := []event.EventID{p.Items[0].Event.ID, p.Items[1].Event.ID}; len(p.Items) != 2 || !slices.Equal(got, ids(a1, a2)[:2]) || !p.HasMore {
		t.Fatalf("first page %+v", p)
	}
	p = h.read(p.Next, onA, 2)
	if len(p.Items) != 1 || p.Items[0].Event.ID != ids(a2)[1] || p.HasMore {
		t.Fatalf("second page %+v", p)
	}
	if p = h.read(p.Next, nil, 10); len(p.Items) != 0 {
		t.Fatalf("the trailing non-matching events were not passed over: %+v", p)
	}
}

func TestBadCursors(t *testing.T) {
	h := newHistory(t)
	c := h.append(h.events(1, 2))
	for _, text := range []string{"x", "c1.", "c1.zz.1", "c2." + c.String() + ".1", "c1." + c.String() + ".-1", "c1." + c.String(), "c1." + c.String() + ".1." + c.String()} {
		if _, err := feed.ParseCursor(text); !errors.Is(err, feed.ErrBadCursor) {
			t.Errorf("ParseCursor(%q): %v", text, err)
		}
	}
	r := h.w.NewReader()
	defer r.Close()
	for _, cur := range []feed.Cursor{
		feed.At(plumbing.NewHash("1234567890123456789012345678901234567890"), 0), // not in this clone
		feed.At(c, 3), // more seen than the commit has
	} {
		if _, err := feed.Read(context.Background(), r, c, cur, nil, 10); !errors.Is(err, feed.ErrBadCursor) {
			t.Errorf("Read after %v: %v", cur, err)
		}
	}
}
