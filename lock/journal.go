package lock

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"grite/gitdir"
	"grite/internal/plainfile"
)

// Every change grite makes to a lock ref happens under the repository's
// locks file lock (guardName) and appends the ref's name to the journal
// before the lock is let go. A Manager that has listed the locks once then
// re-reads only the refs named since: finding conflicts costs what changed,
// not how many locks the repository holds (a busy swarm leaves thousands).
// Writers that do not journal (git itself, other tools) are caught by a
// full listing at least every rescanEvery, and whenever the journal was
// replaced.
const (
	guardName   = "locks"
	journalName = "locks.journal"
	// journalMax: past this size the journal is replaced by an empty
	// one (a new file), which makes every reader list once more.
	journalMax  = 256 << 10
	rescanEvery = 2 * time.Second
)

// known is a Manager's picture of refs/grite/locks/*.
type known struct {
	refs    map[string]Entry
	journal os.FileInfo // the journal file the picture follows (nil: none)
	off     int64       // journal bytes already applied
	scanned time.Time
	// What changed since Changes last reported: refs re-read from the
	// journal, or a whole new listing (full).
	dirty map[string]bool
	full  bool
}

// Delta is what Changes reports.
type Delta struct {
	// Full: the locks were listed anew, so any of Entries may be news
	// (and a ref known before and absent now is gone).
	Full bool
	// Refs changed since the last Changes; a ref not in Entries was
	// deleted or holds an unreadable lock.
	Refs []string
	// Entries is every lock as now known, by ref (shared: read only).
	Entries map[string]Entry
}

// Changes brings the picture of the lock refs up to date and reports what
// changed in it since the last call: a cache of the locks (the view's)
// then updates those refs only, not every lock of the repository.
func (m *Manager) Changes() (Delta, error) {
	refs, err := m.snapshot()
	if err != nil {
		return Delta{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := &m.known
	d := Delta{Full: k.full, Entries: refs}
	for name := range k.dirty {
		d.Refs = append(d.Refs, name)
	}
	k.full, k.dirty = false, nil
	return d, nil
}

func (m *Manager) journalPath() string { return filepath.Join(m.repo.GriteDir(), journalName) }

// guarded runs fn holding the repository's locks file lock; fn moves refs
// with t.UpdateRef, so that the files they held are freed after the turn.
func (m *Manager) guarded(fn func(t *gitdir.Turn) error) error {
	return m.repo.WithTurn(guardName, fn)
}

// record journals changed refs; the caller holds the guard.
func (m *Manager) record(refs ...string) error {
	if len(refs) == 0 {
		return nil
	}
	return m.appendJournal(strings.Join(refs, "\n") + "\n")
}

// recordEntry journals a lock the Manager has just written: its ref's
// name, as every reader of the journal reads it, then the lock itself on
// a line of its own (entryLine), which spares the Manager's of other
// processes reading the ref and its three objects back. The caller holds
// the guard.
func (m *Manager) recordEntry(e Entry) error {
	lines := e.Ref + "\n"
	if l, ok := entryLine(e); ok {
		lines += l + "\n"
	}
	return m.appendJournal(lines)
}

// appendJournal appends lines (each ending in a newline) to the journal.
func (m *Manager) appendJournal(lines string) error {
	path := m.journalPath()
	f, err := plainfile.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(lines)
	st, serr := f.Stat()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil || serr != nil || st.Size() < journalMax {
		return err
	}
	// A fresh file, not a truncation: readers notice the new inode and
	// list every lock again, so nothing appended before is lost to them.
	tmp := path + ".new"
	if err := os.WriteFile(tmp, nil, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// snapshot brings the Manager's picture of the lock refs up to date and
// returns it (shared: callers must not modify it).
func (m *Manager) snapshot() (map[string]Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objects = gitdir.NewReader(m.repo)
	defer func() {
		m.objects.Close()
		m.objects = nil
	}()
	st, err := os.Stat(m.journalPath())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var size int64
	if st != nil {
		size = st.Size()
	}
	k := &m.known
	replaced := (st == nil) != (k.journal == nil) || (st != nil && !os.SameFile(st, k.journal))
	if k.refs == nil || replaced || size < k.off || time.Since(k.scanned) > rescanEvery {
		// The journal's size is taken before listing: what is appended
		// meanwhile is read again next time, which is harmless.
		refs, err := m.repo.ListRefs(Prefix)
		if err != nil {
			return nil, err
		}
		k.refs = make(map[string]Entry, len(refs))
		for name, h := range refs {
			m.put(name, h)
		}
		k.journal, k.off, k.scanned = st, size, time.Now()
		k.full, k.dirty = true, nil
		return k.refs, nil
	}
	if size == k.off {
		return k.refs, nil
	}
	names, entries, used, err := readJournal(m.journalPath(), k.off, size)
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		if e, ok := entries[name]; ok {
			// Journaled with its content: what a read of the ref and its
			// commit would give, unless the ref changed since without the
			// journal (then a later line names it, or the next listing
			// finds it).
			m.read[e.Commit] = e
			m.known.refs[name] = e
		} else {
			h, err := m.repo.ReadRef(name)
			if err != nil {
				return nil, err
			}
			m.put(name, h)
		}
		if k.dirty == nil {
			k.dirty = map[string]bool{}
		}
		k.dirty[name] = true
	}
	k.off += used
	return k.refs, nil
}

// put sets one ref of the picture (m.mu held); an unreadable lock holds
// nothing and is left out, as is a deleted ref.
func (m *Manager) put(name string, h plumbing.Hash) {
	delete(m.known.refs, name)
	if h.IsZero() || !strings.HasPrefix(name, Prefix) {
		return
	}
	if e, err := m.readEntryLocked(h); err == nil {
		e.Ref = name
		m.known.refs[name] = e
	}
}

// An entry line journals a lock as written: "+", then the ref's resource
// hash, the commit, its time (unix seconds) and the lock's expiry, owner,
// nonce and resource (hex), separated by spaces. It follows the line
// naming the ref. A Manager that finds it knows the ref's commit and
// content without reading them; one that does not know the form (an
// older grite) takes it for a ref name that does not exist and skips it.
// A line holds no "/" and stays under maxEntryLine bytes, so that such a
// reader, which looks it up as a file name, finds nothing rather than
// failing; a longer one (a long path's lock) is not written.
const maxEntryLine = 240

func entryLine(e Entry) (string, bool) {
	hash, ok := strings.CutPrefix(e.Ref, Prefix)
	if !ok || e.Commit.IsZero() || e.Written.IsZero() {
		return "", false
	}
	l := e.Lock
	line := "+" + hash + " " + e.Commit.String() + " " + strconv.FormatInt(e.Written.Unix(), 10) + " " +
		strconv.FormatUint(l.ExpiresUnixMS, 10) + " " + l.Owner + " " + l.Nonce + " " + hex.EncodeToString([]byte(l.Resource))
	if len(line) > maxEntryLine || strings.ContainsAny(l.Owner+l.Nonce, " /\n") {
		return "", false
	}
	return line, true
}

// parseEntryLine reads an entry line; ok is false for any other line.
func parseEntryLine(line string) (Entry, bool) {
	f := strings.Split(strings.TrimPrefix(line, "+"), " ")
	if !strings.HasPrefix(line, "+") || len(f) != 7 {
		return Entry{}, false
	}
	commit, okC := gitdir.ParseHash(f[1])
	written, errW := strconv.ParseInt(f[2], 10, 64)
	expires, errE := strconv.ParseUint(f[3], 10, 64)
	resource, errR := hex.DecodeString(f[6])
	if !okC || errW != nil || errE != nil || errR != nil || RefName(string(resource)) != Prefix+f[0] {
		return Entry{}, false
	}
	return Entry{Ref: Prefix + f[0], Commit: commit, Written: time.Unix(written, 0),
		Lock: Lock{Owner: f[4], Nonce: f[5], ExpiresUnixMS: expires, Resource: string(resource)}}, true
}

// readJournal returns the distinct ref names of whole lines in [from,
// to) and how many bytes those lines take (a line still being written
// is left for next time). A ref whose last line is an entry line has
// that entry in entries.
func readJournal(path string, from, to int64) ([]string, map[string]Entry, int64, error) {
	f, err := plainfile.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, nil, 0, err
	}
	defer f.Close()
	b := make([]byte, to-from)
	n, err := f.ReadAt(b, from)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, 0, err
	}
	b = b[:n]
	end := bytes.LastIndexByte(b, '\n') + 1
	seen := map[string]bool{}
	var names []string
	entries := map[string]Entry{}
	for _, line := range strings.Split(string(b[:end]), "\n") {
		if e, ok := parseEntryLine(line); ok {
			entries[e.Ref] = e
			line = e.Ref
		} else {
			delete(entries, line) // a later change: read the ref itself
		}
		if line != "" && !seen[line] {
			seen[line] = true
			names = append(names, line)
		}
	}
	return names, entries, int64(end), nil
}
