// Package store is the local materialized view of the WAL in SQLite: the raw
// events (deduplicated by ID) plus the projected issues, labels, assignees
// and dependencies that listing and the ready queue query with indexes. It is
// a cache: everything in it is derived from refs/grite/* and can be rebuilt;
// a missing, foreign-schema or corrupt database file is recreated empty (the
// caller then refills it). Only this package touches SQLite.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"

	"grite/crdt"
	"grite/event"
)

// schemaVersion changes whenever the tables change; a mismatch recreates the DB.
const schemaVersion = "6"

// ErrBusy reports that another process held the database beyond the wait.
var ErrBusy = errors.New("database is locked by another process")

// Store is an open view database.
type Store struct {
	db   *sql.DB
	path string
	// prepared holds the write statements of earlier transactions,
	// prepared on the database between transactions: a long-lived session
	// (grite-mcp) otherwise compiled each again in every one-event
	// transaction. A transaction prepares what is not there yet itself
	// (preparing on the database while it holds the connection would open
	// a second one) and leaves the query in wanted for the next.
	prepared   map[string]*sql.Stmt
	wanted     map[string]bool
	preparedMu sync.Mutex
	// Recreated is true when Open found the file missing, corrupt or of
	// another schema and started empty: the caller must refill it.
	Recreated bool
	// written is set by the first write transaction (see Release).
	written bool
}

const schema = `
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- Keyed by issue first, so an issue's events sit together on one or two
-- pages: showing or re-folding an issue reads a range, not one page per
-- event. The event ID alone is unique too (it hashes the issue ID).
CREATE TABLE IF NOT EXISTS events(
	issue_id TEXT NOT NULL,
	event_id TEXT NOT NULL,
	actor TEXT NOT NULL,
	ts INTEGER NOT NULL,
	kind_tag INTEGER NOT NULL,
	record BLOB NOT NULL,
	PRIMARY KEY(issue_id, event_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS issues(
	issue_id TEXT PRIMARY KEY,
	title TEXT NOT NULL,
	body TEXT NOT NULL,
	state TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_ts INTEGER NOT NULL,
	updated_ts INTEGER NOT NULL,
	comment_count INTEGER NOT NULL,
	event_count INTEGER NOT NULL,
	labels TEXT,
	assignees TEXT,
	-- 1 while an open issue blocks this one or one it depends on is open;
	-- kept current on every write so the ready queue is one index range.
	blocked INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS issues_list ON issues(created_ts, issue_id, state, title, updated_ts, comment_count, labels, assignees);
CREATE INDEX IF NOT EXISTS issues_ready ON issues(state, blocked, created_ts, issue_id, title, updated_ts, comment_count, labels, assignees);
CREATE TABLE IF NOT EXISTS labels(issue_id TEXT NOT NULL, label TEXT NOT NULL, PRIMARY KEY(issue_id, label)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS labels_label ON labels(label, issue_id);
CREATE TABLE IF NOT EXISTS assignees(issue_id TEXT NOT NULL, user TEXT NOT NULL, PRIMARY KEY(issue_id, user)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS assignees_user ON assignees(user, issue_id);
CREATE TABLE IF NOT EXISTS deps(issue_id TEXT NOT NULL, target TEXT NOT NULL, dep_type TEXT NOT NULL, PRIMARY KEY(issue_id, target, dep_type)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deps_target ON deps(target, dep_type);
CREATE TABLE IF NOT EXISTS locks(ref TEXT PRIMARY KEY, commit_id TEXT NOT NULL, resource TEXT NOT NULL, owner TEXT NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS locks_resource ON locks(resource);
-- The context store (event kinds 13 and 14): the winning record of each
-- path and the winning value of each key, last writer wins by version
-- (ts, actor, event ID), which each row keeps to compare the next with.
CREATE TABLE IF NOT EXISTS file_context(
	path TEXT PRIMARY KEY,
	language TEXT NOT NULL,
	summary TEXT NOT NULL,
	content_hash BLOB NOT NULL,
	symbol_count INTEGER NOT NULL,
	-- 1 for grite-go's record of a deleted file (docs/format.md, Context).
	deleted INTEGER NOT NULL,
	ts INTEGER NOT NULL,
	actor TEXT NOT NULL,
	event_id TEXT NOT NULL
) WITHOUT ROWID;
-- A record's symbols, seq in the record's (canonical) order; lname is the
-- name in lower case, which queries search.
CREATE TABLE IF NOT EXISTS symbols(
	path TEXT NOT NULL,
	seq INTEGER NOT NULL,
	name TEXT NOT NULL,
	lname TEXT NOT NULL,
	kind TEXT NOT NULL,
	line_start INTEGER NOT NULL,
	line_end INTEGER NOT NULL,
	PRIMARY KEY(path, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS symbols_lname ON symbols(lname, name, path, line_start, kind, line_end);
CREATE TABLE IF NOT EXISTS project_context(
	key TEXT PRIMARY KEY,
	value TEXT NOT NULL,
	ts INTEGER NOT NULL,
	actor TEXT NOT NULL,
	event_id TEXT NOT NULL
) WITHOUT ROWID;
`

// Open opens (creating if needed) the view at path for a short-lived
// process, such as a command: it reads the view's pages memory-mapped.
func Open(ctx context.Context, path string) (*Store, error) { return openView(ctx, path, true) }

// OpenLongLived opens the view at path as Open does, for a process that
// keeps it open while others write it (grite-mcp), with plain reads. A
// memory-mapped connection unmaps the whole file whenever it finds the
// view changed since its last read, and faults every page in again: in a
// swarm of sessions, whose views change between almost any two reads of
// each, that cost each claim more than the copies it saves (numbers in
// docs/performance.md, "Swarm, packing and the disk").
func OpenLongLived(ctx context.Context, path string) (*Store, error) {
	return openView(ctx, path, false)
}

func openView(ctx context.Context, path string, mapped bool) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	s, err := openWaiting(ctx, path, mapped)
	if err == nil {
		return s, nil
	}
	if errors.Is(err, ErrBusy) || ctx.Err() != nil {
		return nil, err
	}
	// Corrupt, truncated, garbage or foreign: the view is only a cache.
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if rmErr := os.Remove(path + suffix); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
			return nil, fmt.Errorf("recreate view %s: %w (after %v)", path, rmErr, err)
		}
	}
	s, err2 := open(ctx, path, mapped)
	if err2 != nil {
		return nil, fmt.Errorf("open view %s: %w", path, err2)
	}
	s.Recreated = true
	return s, nil
}

// busyTimeout is how long a connection waits for another's lock.
const busyTimeout = 10 * time.Second

// openWaiting is open, retried while it fails with ErrBusy. SQLite waits
// for a lock (busy_timeout) except where waiting could deadlock, and one
// such place is two connections setting WAL mode on a new file at once:
// the second fails at once (processes of one actor starting together,
// docs/cli.md decision 10). That lasts only as long as the first one's
// creation, so it is retried, with a growing pause, for as long as
// busy_timeout would wait.
func openWaiting(ctx context.Context, path string, mapped bool) (*Store, error) {
	deadline := time.Now().Add(busyTimeout)
	pause := time.Millisecond
	for {
		s, err := open(ctx, path, mapped)
		if err == nil || !errors.Is(err, ErrBusy) || time.Now().After(deadline) {
			return s, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// connector opens view connections, mapped ones with memory-mapped reads:
// a fresh process (every CLI command) then reads the view's pages straight
// from the kernel's page cache instead of a pread and a copy into SQLite's
// own cache per page, which made a 10k-issue listing spend most of its
// time faulting in freshly allocated cache memory.
type connector struct {
	dsn    string
	mapped bool
}

var viewDriver = &sqlite3.SQLiteDriver{}

func (c connector) Connect(context.Context) (driver.Conn, error) {
	conn, err := viewDriver.Open(c.dsn)
	if err != nil || !c.mapped {
		return conn, err
	}
	if _, err := conn.(*sqlite3.SQLiteConn).Exec("PRAGMA mmap_size = 1073741824", nil); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return conn, nil
}

func (c connector) Driver() driver.Driver { return viewDriver }

func open(ctx context.Context, path string, mapped bool) (*Store, error) {
	_, statErr := os.Stat(path)
	fresh := errors.Is(statErr, os.ErrNotExist)
	// synchronous=OFF: the view is a cache of refs/grite/*, so it never
	// waits for the disk. A killed process loses nothing (the kernel has
	// the writes); an OS crash may roll the view back, and it catches up
	// again from the wal_head it holds, or is rebuilt if damaged. With
	// NORMAL each short-lived command paid four fsyncs: the
	// header of the WAL file recreated at open, its directory, and the
	// checkpoint at close.
	dsn := "file:" + path + "?_journal_mode=WAL&_busy_timeout=" + strconv.Itoa(int(busyTimeout.Milliseconds())) +
		"&_txlock=immediate&_synchronous=OFF&_cache_size=-65536&_stmt_cache_size=64"
	db := sql.OpenDB(connector{dsn, mapped})
	s := &Store{db: db, path: path, Recreated: fresh}
	var v string
	err := db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key='schema'`).Scan(&v)
	switch {
	case err == nil && v == schemaVersion:
		return s, nil
	case err == nil:
		_ = db.Close()
		return nil, fmt.Errorf("view schema %s, want %s", v, schemaVersion)
	case errors.Is(err, sql.ErrNoRows) || (err != nil && strings.Contains(err.Error(), "no such table")):
	default:
		_ = db.Close()
		return nil, mapErr(err)
	}
	if err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, schema); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO meta(key, value) VALUES('schema', ?)`, schemaVersion)
		return err
	}); err != nil {
		_ = db.Close()
		return nil, err
	}
	s.Recreated = true
	return s, nil
}

// Release ends the use of the view by a process about to exit. Closing the
// last connection would checkpoint the log and remove the -wal and -shm
// files, which the next command then creates again; creating and removing
// files is the dearest thing a short command does on some disks. So a view
// the process never wrote is left for the exit to close: the exit releases
// the same locks and files, and the next connection finds the log as this
// one did (SQLite rebuilds its shared index at every first connection
// anyway). A view the process wrote is closed, so its log is checkpointed
// into the database, but truncated to nothing rather than removed.
func (s *Store) Release() error {
	if s.written {
		s.keepLogFiles()
		return s.Close()
	}
	return nil
}

// keepLogFiles makes the close keep the -wal file, truncated to zero
// bytes after its checkpoint (journal_size_limit 0; without it a kept log
// would hold the checkpointed frames, which the next first connection
// reads back), and the -shm file. Best effort: should either setting fail,
// the close removes the files as usual.
func (s *Store) keepLogFiles() {
	ctx := context.Background()
	c, err := s.db.Conn(ctx)
	if err != nil {
		return
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "PRAGMA journal_size_limit = 0"); err != nil {
		return
	}
	_ = c.Raw(func(dc any) error {
		if sc, ok := dc.(*sqlite3.SQLiteConn); ok {
			return sc.SetFileControlInt("", sqlite3.SQLITE_FCNTL_PERSIST_WAL, 1)
		}
		return nil
	})
}

// Close closes the database.
func (s *Store) Close() error {
	s.preparedMu.Lock()
	for _, st := range s.prepared {
		_ = st.Close()
	}
	s.prepared = nil
	s.preparedMu.Unlock()
	return s.db.Close()
}

// shared returns query as prepared on the database, if an earlier
// transaction used it and it was prepared since; otherwise it records the
// query for prepareWanted.
func (s *Store) shared(query string) *sql.Stmt {
	s.preparedMu.Lock()
	defer s.preparedMu.Unlock()
	if st, ok := s.prepared[query]; ok {
		return st
	}
	if s.wanted == nil {
		s.wanted = map[string]bool{}
	}
	s.wanted[query] = true
	return nil
}

// prepareWanted prepares on the database the statements earlier
// transactions used; it runs between transactions, when the connection
// is free.
func (s *Store) prepareWanted(ctx context.Context) error {
	s.preparedMu.Lock()
	defer s.preparedMu.Unlock()
	for q := range s.wanted {
		st, err := s.db.PrepareContext(ctx, q)
		if err != nil {
			return err
		}
		if s.prepared == nil {
			s.prepared = map[string]*sql.Stmt{}
		}
		s.prepared[q] = st
		delete(s.wanted, q)
	}
	return nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

func mapErr(err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked) {
		return fmt.Errorf("%w: %v", ErrBusy, err)
	}
	return err
}

func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	s.written = true // every transaction takes the write lock (_txlock=immediate)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return mapErr(err)
	}
	return mapErr(tx.Commit())
}

// Meta reads a bookkeeping value ("" when unset).
func (s *Store) Meta(ctx context.Context, key string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key=?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, mapErr(err)
}

// Update runs fn in one write transaction (taken immediately, so concurrent
// writers queue on SQLite's lock instead of failing on upgrade).
func (s *Store) Update(ctx context.Context, fn func(*Tx) error) error {
	if err := s.prepareWanted(ctx); err != nil {
		return mapErr(err)
	}
	return s.tx(ctx, func(tx *sql.Tx) error { return fn(&Tx{tx: tx, ctx: ctx, store: s}) })
}

// Tx is a write transaction on the view.
type Tx struct {
	tx    *sql.Tx
	ctx   context.Context
	store *Store
	stmts map[string]*sql.Stmt // the store's statements bound to this transaction
}

// stmt returns query prepared once per store and bound to the
// transaction: a pull applies thousands of rows, and preparing each
// statement again cost as much as running it.
func (t *Tx) stmt(query string) (*sql.Stmt, error) {
	if st, ok := t.stmts[query]; ok {
		return st, nil
	}
	var st *sql.Stmt
	if shared := t.store.shared(query); shared != nil {
		st = t.tx.StmtContext(t.ctx, shared)
	} else {
		var err error
		if st, err = t.tx.PrepareContext(t.ctx, query); err != nil {
			return nil, err
		}
	}
	if t.stmts == nil {
		t.stmts = map[string]*sql.Stmt{}
	}
	t.stmts[query] = st
	return st, nil
}

// exec runs a prepared statement of the transaction.
func (t *Tx) exec(query string, args ...any) (sql.Result, error) {
	st, err := t.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(t.ctx, args...)
}

// query runs a prepared query of the transaction.
func (t *Tx) query(query string, args ...any) (*sql.Rows, error) {
	st, err := t.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(t.ctx, args...)
}

// Meta reads a bookkeeping value inside the transaction.
func (t *Tx) Meta(key string) (string, error) {
	var v string
	err := t.tx.QueryRowContext(t.ctx, `SELECT value FROM meta WHERE key=?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

// HasEvent reports whether the view holds event id of issue.
func (t *Tx) HasEvent(issue event.IssueID, id event.EventID) (bool, error) {
	rows, err := t.query(hasEventQuery, issue.String(), id.String())
	return hasRow(rows, err)
}

// HasEvent reports whether the view holds event id of issue.
func (s *Store) HasEvent(ctx context.Context, issue event.IssueID, id event.EventID) (bool, error) {
	rows, err := s.db.QueryContext(ctx, hasEventQuery, issue.String(), id.String())
	return hasRow(rows, mapErr(err))
}

const hasEventQuery = `SELECT 1 FROM events WHERE issue_id=? AND event_id=?`

func hasRow(rows *sql.Rows, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	defer rows.Close()
	return rows.Next(), rows.Err()
}

// SetMeta writes a bookkeeping value.
func (t *Tx) SetMeta(key, value string) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)`, key, value)
	return err
}

// Reset empties every derived table (keeps the schema marker).
func (t *Tx) Reset() error {
	for _, tbl := range []string{"events", "issues", "labels", "assignees", "deps", "locks", "file_context", "symbols", "project_context"} {
		if _, err := t.tx.ExecContext(t.ctx, "DELETE FROM "+tbl); err != nil {
			return err
		}
	}
	_, err := t.tx.ExecContext(t.ctx, `DELETE FROM meta WHERE key <> 'schema'`)
	return err
}

// Apply adds events (duplicates ignored) and re-projects every issue they
// touch from all of that issue's stored events, so the view always equals
// the order-independent fold of crdt. It returns how many were new.
//
// An issue the view held no event of before (every issue of a typical
// pull, the issue of a create) is folded from this batch alone and its
// rows inserted, skipping the read-back of its events and the deletes.
func (t *Tx) Apply(events []event.Event) (int, error) { return t.apply(events, false) }

// ApplyNewIssue is Apply for the events of one issue whose ID its writer
// drew just now (issue create). No stored event can belong to that issue
// and no stored edge can lead to it, so the look-up of its stored events
// and the refresh of blocked flags are skipped: in a fresh process they
// were two statements to prepare, a third of a create's apply. Events of
// more than one issue, or with a dependency edge, go through Apply.
func (t *Tx) ApplyNewIssue(events []event.Event) (int, error) {
	for i := range events {
		switch events[i].Kind.(type) {
		case event.DependencyAdded, event.DependencyRemoved:
			return t.apply(events, false)
		}
		if events[i].IssueID != events[0].IssueID {
			return t.apply(events, false)
		}
	}
	return t.apply(events, true)
}

func (t *Tx) apply(events []event.Event, newIssue bool) (int, error) {
	fresh := map[event.IssueID][]event.Event{}
	for i := range events {
		fresh[events[i].IssueID] = nil
	}
	if !newIssue {
		known, err := t.issuesWithEvents(fresh)
		if err != nil {
			return 0, err
		}
		for id := range known {
			delete(fresh, id)
		}
	}
	touched := map[event.IssueID]bool{}
	changes := map[event.IssueID]rowChanges{}
	added := 0
	for i := range events {
		e := &events[i]
		inserted, err := t.insertEvent(events[i : i+1])
		if err != nil {
			return added, err
		}
		if inserted {
			added++
			if evs, ok := fresh[e.IssueID]; ok {
				fresh[e.IssueID] = append(evs, *e)
			}
			switch k := e.Kind.(type) {
			case event.ContextUpdated:
				err = t.writeFileContext(k, e.Version())
			case event.ProjectContextUpdated:
				err = t.writeProjectContext(k, e.Version())
			default:
				touched[e.IssueID] = true
				changes[e.IssueID] = changes[e.IssueID].with(e.Kind)
			}
			if err != nil {
				return added, err
			}
		}
	}
	// Whose blocked flag may change: the touched issues (their rows are
	// rewritten), the targets of edges added or removed here, and every
	// issue with an edge to or from a touched one (a state change).
	affected := map[string]bool{}
	for i := range events {
		if !touched[events[i].IssueID] {
			continue
		}
		switch k := events[i].Kind.(type) {
		case event.DependencyAdded:
			affected[k.Target.String()] = true
		case event.DependencyRemoved:
			affected[k.Target.String()] = true
		}
	}
	// A new issue's row goes in unblocked; it needs a refresh only if an
	// edge leads to or from it (refreshEach finds out).
	inserted := map[event.IssueID]bool{}
	// relinked: touched issues whose state, edges or existence may have
	// changed, so that the blocked flags of the issues linked to them
	// may have too.
	relinked := map[event.IssueID]bool{}
	for id := range touched {
		evs, isFresh := fresh[id]
		if !isFresh {
			var err error
			if evs, err = t.issueEvents(id); err != nil {
				return added, err
			}
		}
		iss, ok := crdt.FoldIssue(id, evs)
		var err error
		switch {
		case !isFresh:
			var updated bool
			if updated, err = t.updateIssue(id, iss, ok, changes[id]); err == nil && !updated {
				err = t.writeIssue(id, iss, ok)
				affected[id.String()] = true
				relinked[id] = true
			} else if updated && (changes[id].state || changes[id].deps) {
				relinked[id] = true
				if changes[id].deps {
					affected[id.String()] = true
				}
			}
		case ok:
			err = t.insertIssue(id.String(), iss)
			inserted[id] = true
			relinked[id] = true
		}
		if err != nil {
			return added, err
		}
	}
	if len(relinked) > 0 && !newIssue {
		if err := t.refreshBlocked(relinked, inserted, affected); err != nil {
			return added, err
		}
	}
	return added, nil
}

// rowChanges is what the events applied to a known issue may change of
// its rows, by their kinds.
type rowChanges struct {
	created, state, labels, assignees, deps bool
}

func (c rowChanges) with(k event.Kind) rowChanges {
	switch k.(type) {
	case event.IssueCreated:
		c.created = true
	case event.StateChanged:
		c.state = true
	case event.LabelAdded, event.LabelRemoved:
		c.labels = true
	case event.AssigneeAdded, event.AssigneeRemoved:
		c.assignees = true
	case event.DependencyAdded, event.DependencyRemoved:
		c.deps = true
	}
	return c
}

// updateIssue rewrites in place the rows of a known issue that the
// applied events can have changed, keeping its blocked flag: an
// assignment or a comment rewrote all four tables and refreshed the flag.
// It reports false, having written nothing, when the issue's existence
// may change (a creation among the events, the fold without one, no row
// yet): writeIssue then rewrites everything.
func (t *Tx) updateIssue(id event.IssueID, iss crdt.Issue, created bool, c rowChanges) (bool, error) {
	if c.created || !created {
		return false, nil
	}
	key := id.String()
	res, err := t.exec(`UPDATE issues SET title=?, body=?, state=?, created_by=?, created_ts=?, updated_ts=?, comment_count=?, event_count=?, labels=?, assignees=? WHERE issue_id=?`,
		iss.Title, iss.Body, string(iss.State), iss.CreatedBy.String(), int64(iss.CreatedTS), int64(iss.UpdatedTS), len(iss.Comments), iss.EventCount,
		encodeNames(iss.Labels), encodeNames(iss.Assignees), key)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return false, err
	}
	if c.labels {
		if err := t.replaceNames("labels", "label", key, iss.Labels); err != nil {
			return true, err
		}
	}
	if c.assignees {
		if err := t.replaceNames("assignees", "user", key, iss.Assignees); err != nil {
			return true, err
		}
	}
	if c.deps {
		if _, err := t.exec(`DELETE FROM deps WHERE issue_id=?`, key); err != nil {
			return true, err
		}
		if err := t.insertDeps(key, iss.Deps); err != nil {
			return true, err
		}
	}
	return true, nil
}

// replaceNames sets an issue's rows of a name table (labels, assignees).
func (t *Tx) replaceNames(table, column, key string, names []string) error {
	if _, err := t.exec("DELETE FROM "+table+" WHERE issue_id=?", key); err != nil {
		return err
	}
	return t.insertNames(table, column, key, names)
}

// issuesWithEvents returns which of ids the view holds any event of, in
// one statement (a pull touches thousands of issues).
func (t *Tx) issuesWithEvents(ids map[event.IssueID][]event.Event) (map[event.IssueID]bool, error) {
	list := make([]string, 0, len(ids))
	for id := range ids {
		list = append(list, id.String())
	}
	rows, err := t.query(`SELECT DISTINCT issue_id FROM events WHERE issue_id IN (SELECT value FROM json_each(?))`, jsonList(list))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[event.IssueID]bool{}
	for rows.Next() {
		var hex string
		if err := rows.Scan(&hex); err != nil {
			return nil, err
		}
		id, err := event.ParseIssueID(hex)
		if err != nil {
			return nil, fmt.Errorf("view holds a malformed issue ID %q", hex)
		}
		out[id] = true
	}
	return out, rows.Err()
}

// jsonList encodes strings that need no escaping (hex IDs, as the view
// stores them) as the JSON array SQLite's json_each reads: one bound
// parameter for any number of IDs.
func jsonList(ids []string) string {
	var b strings.Builder
	b.Grow(len(ids) * 35)
	b.WriteByte('[')
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(id)
		b.WriteByte('"')
	}
	b.WriteByte(']')
	return b.String()
}

// blockedExpr is true while an open issue blocks issues.issue_id or an
// open issue is one it depends on. Edges to issues never created do not
// block (the ready queue cannot wait for what does not exist).
const blockedExpr = `EXISTS (SELECT 1 FROM deps d CROSS JOIN issues x ON x.issue_id = d.issue_id
	WHERE d.target = issues.issue_id AND d.dep_type = 'blocks' AND x.state = 'open')
OR EXISTS (SELECT 1 FROM deps d CROSS JOIN issues y ON y.issue_id = d.target
	WHERE d.issue_id = issues.issue_id AND d.dep_type = 'depends_on' AND y.state = 'open')`

// refreshBlocked recomputes the blocked flag of affected plus the issues
// linked to a touched one, and of the touched issues whose rows were just
// inserted (unblocked) when an edge leads to or from them.
func (t *Tx) refreshBlocked(touched, inserted map[event.IssueID]bool, affected map[string]bool) error {
	if len(touched) <= refreshOneByOne && len(affected) <= refreshOneByOne {
		return t.refreshEach(touched, inserted, affected)
	}
	for id := range inserted {
		affected[id.String()] = true
	}
	ids := make([]string, 0, len(touched))
	for id := range touched {
		ids = append(ids, id.String())
	}
	if err := t.collect(affected, `SELECT target FROM deps WHERE issue_id IN (SELECT value FROM json_each(?1))
	UNION SELECT issue_id FROM deps WHERE target IN (SELECT value FROM json_each(?1))`, jsonList(ids)); err != nil {
		return err
	}
	ids = ids[:0]
	for id := range affected {
		ids = append(ids, id)
	}
	_, err := t.exec(`UPDATE issues SET blocked = (`+blockedExpr+`) WHERE issue_id IN (SELECT value FROM json_each(?))`, jsonList(ids))
	return err
}

// collect adds to set the one column of every row query returns.
func (t *Tx) collect(set map[string]bool, query string, args ...any) error {
	rows, err := t.query(query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return err
		}
		set[v] = true
	}
	return rows.Err()
}

// refreshOneByOne is the size up to which refreshBlocked runs a statement
// per issue: for a write's one or two issues that is cheaper than the
// statements that take a JSON list (docs/performance.md).
const refreshOneByOne = 16

// refreshEach is refreshBlocked one issue at a time. An inserted issue
// with no edge either way stays unblocked without an update: the common
// create.
func (t *Tx) refreshEach(touched, inserted map[event.IssueID]bool, affected map[string]bool) error {
	for id := range touched {
		linked := affected
		if inserted[id] {
			linked = map[string]bool{}
		}
		if err := t.collect(linked, `SELECT target FROM deps WHERE issue_id = ?1 UNION SELECT issue_id FROM deps WHERE target = ?1`, id.String()); err != nil {
			return err
		}
		if inserted[id] && len(linked) > 0 {
			for k := range linked {
				affected[k] = true
			}
			affected[id.String()] = true
		}
	}
	for id := range affected {
		if _, err := t.exec(`UPDATE issues SET blocked = (`+blockedExpr+`) WHERE issue_id = ?`, id); err != nil {
			return err
		}
	}
	return nil
}

// ApplyFolded bulk-loads a fresh view (after Reset): events are inserted and
// the projection p, already folded by the caller, is written once per issue.
// Rows go in in primary-key order (issue ID, event ID), so each insert
// appends to its B-tree instead of splitting pages all over it, and nothing
// needs deleting first.
func (t *Tx) ApplyFolded(events []event.Event, p *crdt.Projection) error {
	order := make([]int, len(events))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := events[a].IssueID.Compare(events[b].IssueID); c != 0 {
			return c
		}
		return events[a].ID.Compare(events[b].ID)
	})
	for _, i := range order {
		if _, err := t.insertEvent(events[i : i+1]); err != nil {
			return err
		}
	}
	return t.InsertProjection(p)
}

// InsertEvents adds events to a view being refilled (after Reset), in any
// order and as many calls as the caller likes; InsertProjection completes
// the refill. A rebuild streams the WAL's commits through it while they
// are still being read.
func (t *Tx) InsertEvents(events []event.Event) error {
	for i := range events {
		if _, err := t.insertEvent(events[i : i+1]); err != nil {
			return err
		}
	}
	return nil
}

// insertEvent stores the one event of one (a slice, so it encodes as the
// one-record chunk body the events table holds); inserted is false when
// the view already had it.
func (t *Tx) insertEvent(one []event.Event) (inserted bool, err error) {
	e := &one[0]
	rec, err := event.EncodeChunk(one)
	if err != nil {
		return false, err
	}
	res, err := t.exec(`INSERT OR IGNORE INTO events(issue_id, event_id, actor, ts, kind_tag, record) VALUES(?,?,?,?,?,?)`, e.IssueID.String(), e.ID.String(), e.Actor.String(), int64(e.TS), int64(e.Kind.Tag()), rec[len(event.ChunkHeader):])
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// InsertProjection writes the folded issues and context of a refilled
// view (after Reset and InsertEvents) and flags the blocked issues.
func (t *Tx) InsertProjection(p *crdt.Projection) error {
	if err := t.insertContext(p); err != nil {
		return err
	}
	issues := p.Issues()
	slices.SortFunc(issues, func(a, b crdt.Issue) int { return a.ID.Compare(b.ID) })
	for _, iss := range issues {
		if err := t.insertIssue(iss.ID.String(), iss); err != nil {
			return err
		}
	}
	// Every row went in unblocked; flag the blocked ones in one statement.
	_, err := t.tx.ExecContext(t.ctx, `UPDATE issues SET blocked = 1 WHERE issue_id IN (
	SELECT d.target FROM deps d CROSS JOIN issues x ON x.issue_id = d.issue_id WHERE d.dep_type = 'blocks' AND x.state = 'open'
	UNION SELECT d.issue_id FROM deps d CROSS JOIN issues y ON y.issue_id = d.target WHERE d.dep_type = 'depends_on' AND y.state = 'open')`)
	return err
}

func (t *Tx) issueEvents(id event.IssueID) ([]event.Event, error) {
	rows, err := t.query(`SELECT record FROM events WHERE issue_id=?`, id.String())
	if err != nil {
		return nil, err
	}
	return decodeRows(rows)
}

func decodeRows(rows *sql.Rows) ([]event.Event, error) {
	defer rows.Close()
	var out []event.Event
	buf := append([]byte(nil), event.ChunkHeader...)
	for rows.Next() {
		var rec []byte
		if err := rows.Scan(&rec); err != nil {
			return nil, err
		}
		// The stored record is a one-element chunk body; re-prefix the header
		// so the one chunk decoder is the only CBOR reader.
		evs, err := event.DecodeChunk(append(buf[:len(event.ChunkHeader)], rec...))
		if err != nil {
			return nil, fmt.Errorf("view holds an undecodable event: %w", err)
		}
		out = append(out, evs...)
	}
	return out, rows.Err()
}

func (t *Tx) writeIssue(id event.IssueID, iss crdt.Issue, created bool) error {
	key := id.String()
	for _, tbl := range []string{"issues", "labels", "assignees", "deps"} {
		if _, err := t.exec("DELETE FROM "+tbl+" WHERE issue_id=?", key); err != nil {
			return err
		}
	}
	if !created {
		return nil
	}
	return t.insertIssue(key, iss)
}

// insertIssue writes the rows of an issue that has none yet.
func (t *Tx) insertIssue(key string, iss crdt.Issue) error {
	if _, err := t.exec(`INSERT INTO issues(issue_id, title, body, state, created_by, created_ts, updated_ts, comment_count, event_count, labels, assignees) VALUES(?,?,?,?,?,?,?,?,?,?,?)`,
		key, iss.Title, iss.Body, string(iss.State), iss.CreatedBy.String(), int64(iss.CreatedTS), int64(iss.UpdatedTS), len(iss.Comments), iss.EventCount,
		encodeNames(iss.Labels), encodeNames(iss.Assignees)); err != nil {
		return err
	}
	if err := t.insertNames("labels", "label", key, iss.Labels); err != nil {
		return err
	}
	if err := t.insertNames("assignees", "user", key, iss.Assignees); err != nil {
		return err
	}
	return t.insertDeps(key, iss.Deps)
}

// insertNames adds an issue's rows of a name table (labels, assignees).
func (t *Tx) insertNames(table, column, key string, names []string) error {
	for _, n := range names {
		if _, err := t.exec("INSERT OR IGNORE INTO "+table+"(issue_id, "+column+") VALUES(?,?)", key, n); err != nil {
			return err
		}
	}
	return nil
}

// insertDeps adds an issue's edge rows.
func (t *Tx) insertDeps(key string, deps []crdt.Dep) error {
	for _, d := range deps {
		if _, err := t.exec(`INSERT OR IGNORE INTO deps(issue_id, target, dep_type) VALUES(?,?,?)`, key, d.Target.String(), string(d.Type)); err != nil {
			return err
		}
	}
	return nil
}

func statSize(p string) (int64, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
