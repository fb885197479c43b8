package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"grite/crdt"
	"grite/event"
)

// The context store's rows (file_context, symbols, project_context) hold
// the winning record of each path and value of each key: a write replaces
// a row only with a newer version (docs/format.md §10), so the rows are
// the same whatever order the events arrive in.

// IsDeletedFile says whether a file context records that its file was
// deleted: grite-go writes such a record, with no language and an
// all-zero content hash (no file hashes to that), when an index finds a
// file gone (docs/format.md, Context store).
func IsDeletedFile(k event.ContextUpdated) bool {
	return k.Language == "" && k.ContentHash == [32]byte{}
}

// rowVersion is a stored version, in the hex form the rows keep; hex of
// equal length compares as the bytes do.
type rowVersion struct {
	ts        int64
	actor, id string
}

func versionOf(v event.Version) rowVersion {
	return rowVersion{int64(v.TS), v.Actor.String(), v.ID.String()}
}

func (a rowVersion) less(b rowVersion) bool {
	return cmp.Or(cmp.Compare(uint64(a.ts), uint64(b.ts)), strings.Compare(a.actor, b.actor), strings.Compare(a.id, b.id)) < 0
}

// storedVersion reads the version of the row query finds; ok is false
// when there is none.
func (t *Tx) storedVersion(query string, key string) (v rowVersion, ok bool, err error) {
	rows, err := t.query(query, key)
	if err != nil {
		return v, false, err
	}
	defer rows.Close()
	if rows.Next() {
		if err := rows.Scan(&v.ts, &v.actor, &v.id); err != nil {
			return v, false, err
		}
		ok = true
	}
	return v, ok, rows.Err()
}

// writeFileContext replaces the record of k.Path if v is newer than the
// stored one's.
func (t *Tx) writeFileContext(k event.ContextUpdated, v event.Version) error {
	nv := versionOf(v)
	old, ok, err := t.storedVersion(`SELECT ts, actor, event_id FROM file_context WHERE path=?`, k.Path)
	if err != nil || (ok && !old.less(nv)) {
		return err
	}
	if ok {
		if _, err := t.exec(`DELETE FROM symbols WHERE path=?`, k.Path); err != nil {
			return err
		}
	}
	return t.insertFileContext(k, nv)
}

// insertFileContext writes a record whose path has no rows.
func (t *Tx) insertFileContext(k event.ContextUpdated, v rowVersion) error {
	deleted := 0
	if IsDeletedFile(k) {
		deleted = 1
	}
	if _, err := t.exec(`INSERT OR REPLACE INTO file_context(path, language, summary, content_hash, symbol_count, deleted, ts, actor, event_id) VALUES(?,?,?,?,?,?,?,?,?)`,
		k.Path, k.Language, k.Summary, k.ContentHash[:], len(k.Symbols), deleted, v.ts, v.actor, v.id); err != nil {
		return err
	}
	for i, s := range event.SortedSymbols(k.Symbols) {
		if _, err := t.exec(`INSERT INTO symbols(path, seq, name, lname, kind, line_start, line_end) VALUES(?,?,?,?,?,?,?)`,
			k.Path, i, s.Name, strings.ToLower(s.Name), s.Kind, int64(s.LineStart), int64(s.LineEnd)); err != nil {
			return err
		}
	}
	return nil
}

// writeProjectContext replaces the value of k.Key if v is newer than the
// stored one's.
func (t *Tx) writeProjectContext(k event.ProjectContextUpdated, v event.Version) error {
	nv := versionOf(v)
	old, ok, err := t.storedVersion(`SELECT ts, actor, event_id FROM project_context WHERE key=?`, k.Key)
	if err != nil || (ok && !old.less(nv)) {
		return err
	}
	_, err = t.exec(`INSERT OR REPLACE INTO project_context(key, value, ts, actor, event_id) VALUES(?,?,?,?,?)`, k.Key, k.Value, nv.ts, nv.actor, nv.id)
	return err
}

// insertContext writes the folded context of a refilled view.
func (t *Tx) insertContext(p *crdt.Projection) error {
	for _, r := range p.FileContextRecords() {
		if err := t.insertFileContext(r.ContextUpdated, versionOf(r.Version)); err != nil {
			return err
		}
	}
	for _, r := range p.ProjectContextRecords() {
		if err := t.writeProjectContext(event.ProjectContextUpdated{Key: r.Key, Value: r.Value}, r.Version); err != nil {
			return err
		}
	}
	return nil
}

// FileContext is the stored record of a file.
type FileContext struct {
	Path        string
	Language    string
	Summary     string
	ContentHash [32]byte
	Symbols     []event.Symbol // in the record's (canonical) order
	Deleted     bool
	TS          uint64 // of the event that wrote it
}

// FileContext returns the record of path; ok is false when there is none.
func (s *Store) FileContext(ctx context.Context, path string) (FileContext, bool, error) {
	var fc FileContext
	var hash []byte
	var ts int64
	err := s.db.QueryRowContext(ctx, `SELECT path, language, summary, content_hash, deleted, ts FROM file_context WHERE path=?`, path).
		Scan(&fc.Path, &fc.Language, &fc.Summary, &hash, &fc.Deleted, &ts)
	if errors.Is(err, sql.ErrNoRows) {
		return fc, false, nil
	}
	if err != nil {
		return fc, false, mapErr(err)
	}
	if len(hash) != 32 {
		return fc, false, fmt.Errorf("view holds a content hash of %d bytes for %s", len(hash), path)
	}
	copy(fc.ContentHash[:], hash)
	fc.TS = uint64(ts)
	rows, err := s.db.QueryContext(ctx, `SELECT name, kind, line_start, line_end FROM symbols WHERE path=? ORDER BY seq`, path)
	if err != nil {
		return fc, false, mapErr(err)
	}
	defer rows.Close()
	fc.Symbols = []event.Symbol{}
	for rows.Next() {
		var sym event.Symbol
		var start, end int64
		if err := rows.Scan(&sym.Name, &sym.Kind, &start, &end); err != nil {
			return fc, false, mapErr(err)
		}
		sym.LineStart, sym.LineEnd = uint32(start), uint32(end)
		fc.Symbols = append(fc.Symbols, sym)
	}
	return fc, true, mapErr(rows.Err())
}

// FileState is what an index needs of a stored record: its content hash,
// whether it records a deletion, and its ts (a newer record must come
// after it).
type FileState struct {
	ContentHash [32]byte
	Deleted     bool
	TS          uint64
}

// FileStates returns the state of every stored file record, by path.
func (s *Store) FileStates(ctx context.Context) (map[string]FileState, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT path, content_hash, deleted, ts FROM file_context`)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := map[string]FileState{}
	for rows.Next() {
		var path string
		var hash []byte
		var st FileState
		var ts int64
		if err := rows.Scan(&path, &hash, &st.Deleted, &ts); err != nil {
			return nil, mapErr(err)
		}
		copy(st.ContentHash[:], hash)
		st.TS = uint64(ts)
		out[path] = st
	}
	return out, mapErr(rows.Err())
}

// ContextCounts sizes the context store: files with a live record (not
// deleted), their symbols, and project context keys.
type ContextCounts struct {
	Files, Symbols, Keys int
}

// ContextCounts counts the context store's rows.
func (s *Store) ContextCounts(ctx context.Context) (ContextCounts, error) {
	var c ContextCounts
	err := s.db.QueryRowContext(ctx, `SELECT
	(SELECT count(*) FROM file_context WHERE deleted = 0),
	(SELECT count(*) FROM symbols),
	(SELECT count(*) FROM project_context)`).Scan(&c.Files, &c.Symbols, &c.Keys)
	return c, mapErr(err)
}

// SymbolMatch is a symbol a query found, and how its name matched.
type SymbolMatch struct {
	event.Symbol
	Path  string
	Match string // MatchExact, MatchPrefix or MatchSubstring
}

// How a symbol's name matched a query, best first.
const (
	MatchExact     = "exact"
	MatchPrefix    = "prefix"
	MatchSubstring = "substring"
)

// QuerySymbols finds the symbols whose name contains q, ignoring case,
// ranked: names equal to q (those of the same case first), then names
// starting with it, then names containing it; within a rank by name, path
// and line. It returns the page from offset of at most limit, and the
// number of matches in all.
func (s *Store) QuerySymbols(ctx context.Context, q string, limit, offset int) ([]SymbolMatch, int, error) {
	lq := strings.ToLower(q)
	// Upper bound of the names starting with lq: 0xff never occurs in
	// UTF-8, and text compares as bytes.
	upper := lq + "\xff"
	var total, exact, prefixed int
	err := s.db.QueryRowContext(ctx, `SELECT
	(SELECT count(*) FROM symbols WHERE instr(lname, ?1) > 0),
	(SELECT count(*) FROM symbols WHERE lname = ?1),
	(SELECT count(*) FROM symbols WHERE lname >= ?1 AND lname < ?2)`, lq, upper).Scan(&total, &exact, &prefixed)
	if err != nil {
		return nil, 0, mapErr(err)
	}
	const cols = `SELECT name, kind, path, line_start, line_end FROM symbols `
	ranks := []struct {
		n     int
		match string
		query string
		args  []any
	}{
		{exact, MatchExact, cols + `WHERE lname = ?1 ORDER BY name <> ?2, name, path, line_start LIMIT ?3 OFFSET ?4`, []any{lq, q}},
		{prefixed - exact, MatchPrefix, cols + `WHERE lname > ?1 AND lname < ?2 ORDER BY lname, name, path, line_start LIMIT ?3 OFFSET ?4`, []any{lq, upper}},
		{total - prefixed, MatchSubstring, cols + `WHERE instr(lname, ?1) > 1 ORDER BY lname, name, path, line_start LIMIT ?3 OFFSET ?4`, []any{lq, nil}},
	}
	out := []SymbolMatch{}
	for _, r := range ranks {
		if limit <= 0 {
			break
		}
		if offset >= r.n {
			offset -= r.n
			continue
		}
		rows, err := s.db.QueryContext(ctx, r.query, append(r.args, limit, offset)...)
		if err != nil {
			return nil, 0, mapErr(err)
		}
		n := 0
		for rows.Next() {
			var m SymbolMatch
			var start, end int64
			if err := rows.Scan(&m.Name, &m.Kind, &m.Path, &start, &end); err != nil {
				rows.Close()
				return nil, 0, mapErr(err)
			}
			m.LineStart, m.LineEnd, m.Match = uint32(start), uint32(end), r.match
			out = append(out, m)
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, 0, mapErr(err)
		}
		limit -= n
		offset = 0
	}
	return out, total, nil
}

// ProjectEntry is a project context value and the ts of its write.
type ProjectEntry struct {
	Key, Value string
	TS         uint64
}

// ProjectContext returns every project context value, by key.
func (s *Store) ProjectContext(ctx context.Context) ([]ProjectEntry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key, value, ts FROM project_context ORDER BY key`)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := []ProjectEntry{}
	for rows.Next() {
		var e ProjectEntry
		var ts int64
		if err := rows.Scan(&e.Key, &e.Value, &ts); err != nil {
			return nil, mapErr(err)
		}
		e.TS = uint64(ts)
		out = append(out, e)
	}
	return out, mapErr(rows.Err())
}

// ProjectValue returns the value of key; ok is false when it has none.
func (s *Store) ProjectValue(ctx context.Context, key string) (ProjectEntry, bool, error) {
	e := ProjectEntry{Key: key}
	var ts int64
	err := s.db.QueryRowContext(ctx, `SELECT value, ts FROM project_context WHERE key=?`, key).Scan(&e.Value, &ts)
	if errors.Is(err, sql.ErrNoRows) {
		return e, false, nil
	}
	e.TS = uint64(ts)
	return e, err == nil, mapErr(err)
}
