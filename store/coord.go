package store

import (
	"context"
	"encoding/json"
	"strings"

	"grite/event"
)

// CachedLock is a lock ref as last seen (derived from refs/grite/locks/*).
type CachedLock struct {
	Ref      string
	Commit   string
	Resource string
	Owner    string
	Expires  uint64
}

// LockCommits returns ref → cached commit of every cached lock.
func (s *Store) LockCommits(ctx context.Context) (map[string]string, error) {
	return s.lockCommits(ctx, `SELECT ref, commit_id FROM locks`)
}

// LockCommitsOf is LockCommits of the given refs only.
func (s *Store) LockCommitsOf(ctx context.Context, refs []string) (map[string]string, error) {
	if len(refs) == 0 {
		return map[string]string{}, nil
	}
	args := make([]any, len(refs))
	for i, r := range refs {
		args[i] = r
	}
	return s.lockCommits(ctx, `SELECT ref, commit_id FROM locks WHERE ref IN (?`+strings.Repeat(",?", len(refs)-1)+`)`, args...)
}

func (s *Store) lockCommits(ctx context.Context, query string, args ...any) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var r, c string
		if err := rows.Scan(&r, &c); err != nil {
			return nil, err
		}
		out[r] = c
	}
	return out, rows.Err()
}

// SetLocks replaces cached rows: upserts changed and deletes removed refs.
func (t *Tx) SetLocks(changed []CachedLock, removed []string) error {
	for _, l := range changed {
		if _, err := t.tx.ExecContext(t.ctx, `INSERT OR REPLACE INTO locks(ref, commit_id, resource, owner, expires) VALUES(?,?,?,?,?)`,
			l.Ref, l.Commit, l.Resource, l.Owner, int64(l.Expires)); err != nil {
			return err
		}
	}
	for _, r := range removed {
		if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM locks WHERE ref=?`, r); err != nil {
			return err
		}
	}
	return nil
}

// ReadyFilter narrows the ready queue.
type ReadyFilter struct {
	Labels   []string // an issue must have every one
	Assignee string
	Limit    int
	// Claimed are the issues with a live claim (anyone's, the caller's
	// own included: claimed work is not ready for anyone), as the lock
	// refs say; they are left out.
	Claimed []string
}

// Ready lists open issues with no open blocker, no open dependency and
// none of f.Claimed, oldest first by (created_ts, issue_id).
func (s *Store) Ready(ctx context.Context, f ReadyFilter) ([]Summary, error) {
	// One range of the issues_ready index (open, unblocked, oldest first;
	// it covers every summary column), minus the claimed issues, a set
	// SQLite builds once per query. The claims come from the caller, read
	// from the lock refs, not from the view's lock cache: keeping that
	// cache current took a write transaction in nearly every claim of a
	// swarm.
	q := `FROM issues i INDEXED BY issues_ready
WHERE i.state = 'open' AND i.blocked = 0`
	var args []any
	if len(f.Claimed) > 0 {
		b, err := json.Marshal(f.Claimed)
		if err != nil {
			return nil, err
		}
		q += ` AND i.issue_id NOT IN (SELECT value FROM json_each(?))`
		args = append(args, string(b))
	}
	for _, l := range f.Labels {
		q += ` AND EXISTS (SELECT 1 FROM labels l WHERE l.issue_id = i.issue_id AND l.label = ?)`
		args = append(args, l)
	}
	if f.Assignee != "" {
		q += ` AND EXISTS (SELECT 1 FROM assignees a WHERE a.issue_id = i.issue_id AND a.user = ?)`
		args = append(args, f.Assignee)
	}
	size := f.Limit
	if size <= 0 {
		// The whole queue: counting the index range first (no columns
		// read) sizes the result once; growing a slice of thousands of
		// rows cost more than the count.
		if err := s.db.QueryRowContext(ctx, "SELECT count(*) "+q, args...).Scan(&size); err != nil {
			return nil, mapErr(err)
		}
	}
	q += ` ORDER BY i.created_ts, i.issue_id`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	return s.summaries(ctx, size, q, args...)
}

// Claim is a live issue lock and the issue's title.
type Claim struct {
	IssueID       string
	Title         string
	Owner         string
	ExpiresUnixMS uint64
}

// Claims lists the live issue locks of owner (every owner if empty), by
// expiry, as last cached from refs/grite/locks/*.
func (s *Store) Claims(ctx context.Context, owner string, nowMS uint64) ([]Claim, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT substr(l.resource, 7), coalesce(i.title, ''), l.owner, l.expires
FROM locks l LEFT JOIN issues i ON i.issue_id = substr(l.resource, 7)
WHERE l.resource >= 'issue:' AND l.resource < 'issue;' AND l.expires > ? AND (? = '' OR l.owner = ?)
ORDER BY l.expires, l.resource`, int64(nowMS), owner, owner)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := []Claim{}
	for rows.Next() {
		var c Claim
		var exp int64
		if err := rows.Scan(&c.IssueID, &c.Title, &c.Owner, &exp); err != nil {
			return nil, err
		}
		c.ExpiresUnixMS = uint64(exp)
		out = append(out, c)
	}
	return out, rows.Err()
}

// Dep is a dependency edge with the other issue's title (empty if unknown).
type Dep struct {
	IssueID string
	DepType string
	Title   string
	State   string
}

// Deps lists the edges of an issue: its own (targets) or, reverse, the
// issues whose edges point at it.
func (s *Store) Deps(ctx context.Context, id string, reverse bool) ([]Dep, error) {
	q := `SELECT d.target, d.dep_type, coalesce(i.title, ''), coalesce(i.state, '') FROM deps d LEFT JOIN issues i ON i.issue_id = d.target WHERE d.issue_id = ? ORDER BY d.target, d.dep_type`
	if reverse {
		q = `SELECT d.issue_id, d.dep_type, coalesce(i.title, ''), coalesce(i.state, '') FROM deps d LEFT JOIN issues i ON i.issue_id = d.issue_id WHERE d.target = ? ORDER BY d.issue_id, d.dep_type`
	}
	rows, err := s.db.QueryContext(ctx, q, id)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := []Dep{}
	for rows.Next() {
		var d Dep
		if err := rows.Scan(&d.IssueID, &d.DepType, &d.Title, &d.State); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Edge is one stored dependency.
type Edge struct {
	Source, Target, DepType string
}

// AllDeps returns every blocks/depends_on edge between created issues.
func (s *Store) AllDeps(ctx context.Context) ([]Edge, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT issue_id, target, dep_type FROM deps WHERE dep_type IN ('blocks', 'depends_on')`)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []Edge
	for rows.Next() {
		var e Edge
		if err := rows.Scan(&e.Source, &e.Target, &e.DepType); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Summaries returns the listed issues (by ID) in creation order.
func (s *Store) Summaries(ctx context.Context, ids []string) ([]Summary, error) {
	if len(ids) == 0 {
		return []Summary{}, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	ph := strings.Repeat("?,", len(ids))
	return s.summaries(ctx, len(ids), `FROM issues i WHERE i.issue_id IN (`+ph[:len(ph)-1]+`) ORDER BY i.created_ts, i.issue_id`, args...)
}

// Counts sizes the backlog as an agent starting a session needs it.
type Counts struct {
	Open            int `json:"open"`
	Ready           int `json:"ready"`
	Blocked         int `json:"blocked"`
	ClaimedByMe     int `json:"claimed_by_me"`
	ClaimedByOthers int `json:"claimed_by_others"`
}

// Counts counts open issues, those ready (as Ready), blocked, and the open
// ones with a live claim of me or of others, at nowMS.
func (s *Store) Counts(ctx context.Context, me string, nowMS uint64) (Counts, error) {
	var c Counts
	err := s.db.QueryRowContext(ctx, `WITH claims AS (
	SELECT substr(resource, 7) AS issue_id, owner FROM locks
	WHERE resource >= 'issue:' AND resource < 'issue;' AND expires > ?)
SELECT
	count(*),
	coalesce(sum(i.blocked = 0 AND c.issue_id IS NULL), 0),
	coalesce(sum(i.blocked), 0),
	coalesce(sum(c.owner = ?), 0),
	coalesce(sum(c.owner <> ?), 0)
FROM issues i LEFT JOIN claims c ON c.issue_id = i.issue_id
WHERE i.state = 'open'`, int64(nowMS), me, me).Scan(&c.Open, &c.Ready, &c.Blocked, &c.ClaimedByMe, &c.ClaimedByOthers)
	return c, mapErr(err)
}

// EventsOfKind returns every stored event with kind tag (an import looks
// up the links that record where its issues came from).
func (s *Store) EventsOfKind(ctx context.Context, tag uint64) ([]event.Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT record FROM events WHERE kind_tag = ?`, int64(tag))
	if err != nil {
		return nil, mapErr(err)
	}
	return decodeRows(rows)
}
