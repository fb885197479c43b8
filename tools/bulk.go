package tools

import (
	"context"

	"grite/event"
)

// Limits of one commit of a bulk append. The format allows chunks of 64
// MiB and 2^20 records (docs/format.md §5); staying well below keeps a
// commit's chunk, its view transaction and the memory they take modest,
// while a 5,000-issue import still takes a handful of commits instead of
// thousands.
const (
	BulkMaxEvents = 8192
	BulkMaxBytes  = 16 << 20
	// eventOverhead is what a record costs beyond its text: IDs, the
	// timestamp, CBOR heads (docs/format.md §5).
	eventOverhead = 120
)

// appendGroups appends many events as few WAL commits. Each group (the
// events of one issue, say) lands whole in one commit, so a commit is
// the unit that an interruption keeps or loses; groups are packed into
// commits in order, each commit within BulkMaxEvents and BulkMaxBytes (a
// group larger than that gets a commit of its own, up to the format's
// limits). Every commit goes through the same path as a single write:
// events sealed (signed, with a key), the compare-and-swap append, the
// view updated. A cancelled ctx stops between commits: what was appended
// stays, and done says how many groups that was.
func (s *Session) appendGroups(ctx context.Context, groups [][]event.Event) (done, commits int, err error) {
	var batch []event.Event
	batchBytes, batchGroups := 0, 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := s.append(ctx, batch, false); err != nil {
			return err
		}
		commits++
		done += batchGroups
		batch, batchBytes, batchGroups = nil, 0, 0
		return nil
	}
	for _, g := range groups {
		size := 0
		for i := range g {
			size += eventSize(g[i].Kind)
		}
		if size > event.MaxChunkBytes/2 || len(g) > event.MaxChunkEvents/2 {
			return done, commits, newErr(CodeInvalidArgs, "one issue's events take %d bytes in %d events, more than one WAL commit may hold", size, len(g))
		}
		if len(batch) > 0 && (len(batch)+len(g) > BulkMaxEvents || batchBytes+size > BulkMaxBytes) {
			if err := flush(); err != nil {
				return done, commits, err
			}
		}
		batch = append(batch, g...)
		batchBytes += size
		batchGroups++
	}
	if err := flush(); err != nil {
		return done, commits, err
	}
	return done, commits, nil
}

// eventSize estimates the bytes of k's record in a chunk.
func eventSize(k event.Kind) int {
	n := eventOverhead
	switch k := k.(type) {
	case event.IssueCreated:
		n += len(k.Title) + len(k.Body)
		for _, l := range k.Labels {
			n += len(l) + 2
		}
	case event.IssueUpdated:
		if k.Title != nil {
			n += len(*k.Title)
		}
		if k.Body != nil {
			n += len(*k.Body)
		}
	case event.CommentAdded:
		n += len(k.Body)
	case event.LinkAdded:
		n += len(k.URL)
		if k.Note != nil {
			n += len(*k.Note)
		}
	case event.LabelAdded:
		n += len(k.Label)
	case event.LabelRemoved:
		n += len(k.Label)
	case event.AssigneeAdded:
		n += len(k.User)
	case event.AssigneeRemoved:
		n += len(k.User)
	case event.ContextUpdated:
		n += 136 + len(k.Path) + len(k.Language) + len(k.Summary)
		for _, sym := range k.Symbols {
			n += 24 + len(sym.Name) + len(sym.Kind)
		}
	}
	return n
}
