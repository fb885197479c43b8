package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"grite/event"
)

// Summary is one row of an issue listing. Its JSON form is the issue
// summary of the CLI's and the MCP tools' output (tools.IssueSummary), so
// a listing goes out as read, without a copy of thousands of rows.
type Summary struct {
	IssueID      string   `json:"issue_id"`
	Title        string   `json:"title"`
	State        string   `json:"state"`
	Labels       []string `json:"labels"`
	Assignees    []string `json:"assignees"`
	CreatedTS    uint64   `json:"created_ts"`
	UpdatedTS    uint64   `json:"updated_ts"`
	CommentCount int      `json:"comment_count"`
}

// Filter narrows a listing; zero values match everything.
type Filter struct {
	State    string
	Labels   []string // an issue must have every one
	Assignee string
	Search   string // case-insensitive substring of title or body
	// ClaimedBy keeps issues on which this actor holds a live issue lock
	// at NowMS.
	ClaimedBy string
	NowMS     uint64
	Limit     int // 0 = no limit
	Offset    int
}

func (f Filter) where() (string, []any) {
	var conds []string
	var args []any
	if f.State != "" {
		conds = append(conds, "i.state = ?")
		args = append(args, f.State)
	}
	for _, l := range f.Labels {
		conds = append(conds, "EXISTS(SELECT 1 FROM labels l WHERE l.issue_id = i.issue_id AND l.label = ?)")
		args = append(args, l)
	}
	if f.Assignee != "" {
		conds = append(conds, "EXISTS(SELECT 1 FROM assignees a WHERE a.issue_id = i.issue_id AND a.user = ?)")
		args = append(args, f.Assignee)
	}
	if f.ClaimedBy != "" {
		conds = append(conds, "EXISTS(SELECT 1 FROM locks k WHERE k.resource = 'issue:' || i.issue_id AND k.owner = ? AND k.expires > ?)")
		args = append(args, f.ClaimedBy, int64(f.NowMS))
	}
	if f.Search != "" {
		conds = append(conds, "(instr(lower(i.title), lower(?)) > 0 OR instr(lower(i.body), lower(?)) > 0)")
		args = append(args, f.Search, f.Search)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// ListIssues returns the page of issues matching f in creation order, and
// the total number matching (ignoring Limit/Offset).
func (s *Store) ListIssues(ctx context.Context, f Filter) ([]Summary, int, error) {
	where, args := f.where()
	q := "FROM issues i" + where + " ORDER BY i.created_ts, i.issue_id"
	paged := f.Limit > 0 || f.Offset > 0
	total := 0
	if paged || where == "" {
		// Paged, the total is part of the answer. Unfiltered, counting is
		// cheap and sizes the result up front: growing a slice of 10k rows
		// in a fresh process costs more than the count.
		if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM issues i"+where, args...).Scan(&total); err != nil {
			return nil, 0, mapErr(err)
		}
	}
	if !paged {
		// The whole listing is its own count.
		out, err := s.summaries(ctx, total, q, args...)
		return out, len(out), err
	}
	limit, size := f.Limit, max(total-f.Offset, 0)
	if limit > 0 {
		size = min(size, limit)
	} else {
		limit = -1
	}
	out, err := s.summaries(ctx, size, q+" LIMIT ? OFFSET ?", append(args, limit, f.Offset)...)
	return out, total, err
}

// summaryColumns are the columns summaries scans, over issues aliased i.
// The issues_list index covers them, so a listing in creation order reads
// that index alone: one sequential pass, no lookups, no per-label rows.
const summaryColumns = `SELECT i.issue_id, i.title, i.state, i.created_ts, i.updated_ts, i.comment_count, i.labels, i.assignees `

// summaries runs summaryColumns followed by from (FROM issues i ...);
// size is the expected number of rows, 0 if unknown. Rows are read as the
// driver's values on the connection itself: database/sql's Scan converts
// every integer column through strconv and reflection and copies every
// text column once more, which was most of a 10k-row listing.
func (s *Store) summaries(ctx context.Context, size int, from string, args ...any) ([]Summary, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, mapErr(err)
	}
	defer conn.Close()
	dargs := make([]driver.NamedValue, len(args))
	for i, a := range args {
		dargs[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
		if n, ok := a.(int); ok { // the driver takes int64, as Scan's callers pass int
			dargs[i].Value = int64(n)
		}
	}
	out := make([]Summary, 0, size)
	err = conn.Raw(func(dc any) error {
		rows, err := dc.(driver.QueryerContext).QueryContext(ctx, summaryColumns+from, dargs)
		if err != nil {
			return err
		}
		defer func() { _ = rows.Close() }()
		vals := make([]driver.Value, 8)
		for {
			if err := rows.Next(vals); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			r, err := summaryOf(vals)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
	})
	if err != nil {
		return nil, mapErr(err)
	}
	return out, nil
}

// summaryOf converts one row of summaryColumns.
func summaryOf(v []driver.Value) (Summary, error) {
	var r Summary
	var ok [6]bool
	r.IssueID, ok[0] = v[0].(string)
	r.Title, ok[1] = v[1].(string)
	r.State, ok[2] = v[2].(string)
	c, ok3 := v[3].(int64)
	u, ok4 := v[4].(int64)
	n, ok5 := v[5].(int64)
	ok[3], ok[4], ok[5] = ok3, ok4, ok5
	if ok != [6]bool{true, true, true, true, true, true} {
		return r, fmt.Errorf("view holds a malformed issue row %v", v[:6])
	}
	r.CreatedTS, r.UpdatedTS, r.CommentCount = uint64(c), uint64(u), int(n)
	var err error
	if r.Labels, err = hexList(v[6]); err != nil {
		return r, err
	}
	r.Assignees, err = hexList(v[7])
	return r, err
}

// hexList decodes encodeNames: nil (SQL NULL) is the empty list.
func hexList(v driver.Value) ([]string, error) {
	var b string
	switch t := v.(type) {
	case nil:
		return []string{}, nil
	case string:
		b = t
	case []byte:
		b = string(t)
	default:
		return nil, fmt.Errorf("view holds a name list of type %T", v)
	}
	out := make([]string, 0, strings.Count(b, ",")+1)
	for part := range strings.SplitSeq(b, ",") {
		v, err := hex.DecodeString(part)
		if err != nil {
			return nil, fmt.Errorf("view holds an undecodable name list: %w", err)
		}
		out = append(out, string(v))
	}
	return out, nil
}

// encodeNames stores a sorted label or assignee list in one column: each
// name in hex (so no byte of a name can be taken for the separator), comma
// separated; the empty list is NULL, and a list of one empty name is "".
func encodeNames(names []string) any {
	if len(names) == 0 {
		return nil
	}
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(hex.EncodeToString([]byte(n)))
	}
	return b.String()
}

// Issue returns one issue's summary; ok is false when it is not (yet) created.
func (s *Store) Issue(ctx context.Context, id string) (Summary, bool, error) {
	out, err := s.summaries(ctx, 1, "FROM issues i WHERE i.issue_id = ?", id)
	if err != nil || len(out) == 0 {
		return Summary{}, false, err
	}
	return out[0], true, nil
}

// IssueEvents returns every stored event of an issue (any order).
func (s *Store) IssueEvents(ctx context.Context, id event.IssueID) ([]event.Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT record FROM events WHERE issue_id=?`, id.String())
	if err != nil {
		return nil, mapErr(err)
	}
	return decodeRows(rows)
}

// AllEvents returns every stored event (any order).
func (s *Store) AllEvents(ctx context.Context) ([]event.Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT record FROM events`)
	if err != nil {
		return nil, mapErr(err)
	}
	return decodeRows(rows)
}

// EventsSince returns events with ts >= since (any order).
func (s *Store) EventsSince(ctx context.Context, since uint64) ([]event.Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT record FROM events WHERE ts >= ?`, int64(since))
	if err != nil {
		return nil, mapErr(err)
	}
	return decodeRows(rows)
}

// EventTS reports whether an event is stored, and its ts. It scans the
// events (they are keyed by issue); only an export's --since asks.
func (s *Store) EventTS(ctx context.Context, id string) (uint64, bool, error) {
	var ts int64
	err := s.db.QueryRowContext(ctx, `SELECT ts FROM events WHERE event_id=?`, id).Scan(&ts)
	if err == sql.ErrNoRows {
		return 0, false, nil
	}
	return uint64(ts), err == nil, mapErr(err)
}

// MatchPrefix returns up to max issue IDs (created or pending) starting with
// the lowercase hex prefix.
func (s *Store) MatchPrefix(ctx context.Context, prefix string, max int) ([]string, error) {
	hi := prefix + "g" // 'g' sorts after every hex digit
	rows, err := s.db.QueryContext(ctx, `SELECT issue_id FROM issues WHERE issue_id >= ? AND issue_id < ? ORDER BY issue_id LIMIT ?`, prefix, hi, max)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// Stats are counts for `grite db stats`.
type Stats struct {
	Path       string `json:"path"`
	SizeBytes  int64  `json:"size_bytes"`
	Events     int    `json:"event_count"`
	Issues     int    `json:"issue_count"`
	Pending    int    `json:"pending_issue_count"`
	Labels     int    `json:"label_count"`
	Deps       int    `json:"dep_count"`
	AppliedWAL string `json:"wal_head"`
}

// Stats counts rows.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	st := Stats{Path: s.path}
	for _, q := range []struct {
		sql string
		dst *int
	}{
		{"SELECT count(*) FROM events", &st.Events},
		{"SELECT count(*) FROM issues", &st.Issues},
		{"SELECT count(DISTINCT issue_id) FROM events WHERE kind_tag < 13 AND issue_id NOT IN (SELECT issue_id FROM issues)", &st.Pending},
		{"SELECT count(DISTINCT label) FROM labels", &st.Labels},
		{"SELECT count(*) FROM deps", &st.Deps},
	} {
		if err := s.db.QueryRowContext(ctx, q.sql).Scan(q.dst); err != nil {
			return st, mapErr(err)
		}
	}
	var err error
	st.AppliedWAL, err = s.Meta(ctx, "wal_head")
	for _, suffix := range []string{"", "-wal"} {
		if fi, e := statSize(s.path + suffix); e == nil {
			st.SizeBytes += fi
		}
	}
	return st, err
}

// MaxIssueTS is the largest ts among an issue's stored events (0 if none).
func (s *Store) MaxIssueTS(ctx context.Context, id string) (uint64, error) {
	var ts sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT max(ts) FROM events WHERE issue_id=?`, id).Scan(&ts)
	return uint64(ts.Int64), mapErr(err)
}

// LastEventByActor maps each actor (hex ID) to the largest ts of the
// events it wrote.
func (s *Store) LastEventByActor(ctx context.Context) (map[string]uint64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT actor, max(ts) FROM events GROUP BY actor`)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := map[string]uint64{}
	for rows.Next() {
		var a string
		var ts int64
		if err := rows.Scan(&a, &ts); err != nil {
			return nil, mapErr(err)
		}
		out[a] = uint64(ts)
	}
	return out, mapErr(rows.Err())
}

// EventCount is the number of events in the view.
func (s *Store) EventCount(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&n)
	return n, mapErr(err)
}
