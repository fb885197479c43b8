// Package lock owns lease locks: refs/grite/locks/<sha256(resource)[:8]>,
// each a chain of commits whose tree holds one lock.json (docs/format.md §8).
// Every change is a new commit on top of the previous one, moved with an
// atomic compare-and-swap, so a lock's history only moves forward and can
// travel through plain fetch and push (docs/format.md §8). Its objects
// and ref updates go through gitdir. It never touches the WAL or the
// working tree; time is passed in.
package lock

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/google/uuid"

	"grite/event"
	"grite/gitdir"
)

// Prefix is where lock refs live.
const Prefix = "refs/grite/locks/"

// Identity of lock commits (note: localhost, unlike the WAL's grit@local).
const (
	CommitterName  = "grite"
	CommitterEmail = "grit@localhost"
)

// ResourceHash is the lowercase hex of the first 8 bytes of SHA-256(resource).
func ResourceHash(resource string) string {
	sum := sha256.Sum256([]byte(resource))
	return hex.EncodeToString(sum[:8])
}

// RefName is the ref of a resource's lock.
func RefName(resource string) string { return Prefix + ResourceHash(resource) }

// Lock is a lock.json.
type Lock struct {
	Owner         string `json:"owner"`
	Nonce         string `json:"nonce"`
	ExpiresUnixMS uint64 `json:"expires_unix_ms"`
	Resource      string `json:"resource"`
}

// Live reports whether the lock is held at now (released locks have expiry 0).
func (l Lock) Live(nowMS uint64) bool { return nowMS < l.ExpiresUnixMS }

// Marshal renders lock.json byte-exactly (serde pretty style, fixed key
// order, no trailing newline, no HTML escaping).
func Marshal(l Lock) []byte {
	return fmt.Appendf(nil, "{\n  \"owner\": %s,\n  \"nonce\": %s,\n  \"expires_unix_ms\": %d,\n  \"resource\": %s\n}",
		jsonString(l.Owner), jsonString(l.Nonce), l.ExpiresUnixMS, jsonString(l.Resource))
}

func jsonString(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // cannot fail for a string
	return strings.TrimSuffix(b.String(), "\n")
}

// Namespace is the text before the first ':' of a resource.
func Namespace(resource string) string {
	ns, _, _ := strings.Cut(resource, ":")
	return ns
}

// ValidateResource checks a resource name.
func ValidateResource(r string) error {
	ns, rest, ok := strings.Cut(r, ":")
	if !ok || rest == "" {
		return fmt.Errorf("resource %q must be namespace:name: repo:NAME (e.g. repo:global), path:PATH or issue:ID", r)
	}
	switch ns {
	case "repo", "path", "issue":
	default:
		return fmt.Errorf("resource %q: unknown namespace %q (want repo, path or issue)", r, ns)
	}
	if len(r) > 1024 {
		return fmt.Errorf("resource is %d bytes, limit 1024", len(r))
	}
	// lock.json would store invalid UTF-8 as U+FFFD (no longer the string
	// the ref name hashes), and the resource goes into the commit message,
	// where a NUL makes remotes that fsck pushes reject the whole push.
	if !utf8.ValidString(r) {
		return fmt.Errorf("resource %q is not valid UTF-8", r)
	}
	if strings.IndexFunc(r, unicode.IsControl) >= 0 {
		return fmt.Errorf("resource %q must not contain control characters", r)
	}
	return nil
}

// Conflicts reports whether a live lock on held conflicts with a request for
// want (docs/format.md §8 rules).
func Conflicts(held, want string) bool {
	hn, wn := Namespace(held), Namespace(want)
	switch {
	case hn == "repo" || wn == "repo":
		return true
	case hn == "path" && wn == "path":
		a := strings.TrimRight(strings.TrimPrefix(held, "path:"), "/")
		b := strings.TrimRight(strings.TrimPrefix(want, "path:"), "/")
		return a == b || strings.HasPrefix(a, b+"/") || strings.HasPrefix(b, a+"/")
	case hn == "issue" && wn == "issue":
		return held == want
	}
	return false
}

// ConflictError says who holds a conflicting lock and until when.
type ConflictError struct {
	Resource      string // the lock that is held
	Holder        string
	ExpiresUnixMS uint64
	NowMS         uint64
}

func (e *ConflictError) Error() string {
	secs := (int64(e.ExpiresUnixMS) - int64(e.NowMS) + 999) / 1000
	return fmt.Sprintf("Resource '%s' is locked by %s (expires in %ds)", e.Resource, e.Holder, secs)
}

// ErrNotHeld reports a renew or release of a lock this owner does not hold.
var ErrNotHeld = errors.New("lock not held")

// NotHeldError is a renew of a lock nobody holds: never acquired,
// released, or expired.
type NotHeldError struct {
	Resource string
}

func (e *NotHeldError) Error() string {
	return fmt.Sprintf("cannot renew '%s': you do not hold it (never acquired, released or expired)", e.Resource)
}

func (e *NotHeldError) Unwrap() error { return ErrNotHeld }

// Entry is a lock ref and its current content.
type Entry struct {
	Ref    string
	Commit plumbing.Hash
	Lock   Lock
	// Written is when the lock's commit was made (zero if unknown).
	Written time.Time
}

// Lease is the length of the lease the last acquire or renew gave: from
// the commit that wrote it to its expiry (0 if unknown or released).
func (e Entry) Lease() time.Duration {
	if e.Written.IsZero() || e.Lock.ExpiresUnixMS == 0 {
		return 0
	}
	// Commit times have whole seconds; leases are whole seconds too.
	return (time.Duration(int64(e.Lock.ExpiresUnixMS)-e.Written.UnixMilli()) * time.Millisecond).Truncate(time.Second)
}

// Manager reads and writes lock refs of one repository.
type Manager struct {
	repo *gitdir.Repo
	mu   sync.Mutex
	// read caches parsed lock commits: a commit never changes.
	read  map[plumbing.Hash]Entry
	known known // the lock refs as last seen (journal.go)
	// objects, while set, reads lock commits for a run of reads (m.mu
	// held): a reader per read mapped every pack of the repository each
	// time, which made a new session's first listing of packed locks its
	// slowest step (docs/performance.md, "Swarm, packing and the disk").
	objects *gitdir.Reader
}

// New returns a Manager.
func New(repo *gitdir.Repo) *Manager { return &Manager{repo: repo, read: map[plumbing.Hash]Entry{}} }

// Read returns the lock at ref (ok false when the ref does not exist).
func (m *Manager) Read(ref string) (Entry, bool, error) {
	h, err := m.repo.ReadRef(ref)
	if err != nil || h.IsZero() {
		return Entry{}, false, err
	}
	e, err := m.readEntry(h)
	if err != nil {
		return Entry{}, false, fmt.Errorf("%s: %w", ref, err)
	}
	e.Ref = ref
	return e, true, nil
}

// ReadCommit parses the lock.json of a lock commit.
func (m *Manager) ReadCommit(h plumbing.Hash) (Lock, error) {
	e, err := m.readEntry(h)
	return e.Lock, err
}

func (m *Manager) readEntry(h plumbing.Hash) (Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.readEntryLocked(h)
}

func (m *Manager) readEntryLocked(h plumbing.Hash) (Entry, error) {
	if e, ok := m.read[h]; ok {
		return e, nil
	}
	var b []byte
	var at time.Time
	var err error
	if m.objects != nil {
		b, at, err = m.objects.FileAt(h, "lock.json", 64<<10)
	} else {
		b, at, err = m.repo.ReadFileAt(h, "lock.json", 64<<10)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return Entry{}, fmt.Errorf("lock commit %s has no lock.json", h)
	} else if err != nil {
		return Entry{}, err
	}
	var l Lock
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&l); err != nil {
		return Entry{}, fmt.Errorf("lock.json of %s: %w", h, err)
	}
	e := Entry{Commit: h, Lock: l, Written: at}
	m.read[h] = e
	return e, nil
}

// Live returns the locks live at nowMS.
func (m *Manager) Live(nowMS uint64) ([]Lock, error) {
	refs, err := m.snapshot()
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Lock
	for _, e := range refs {
		if e.Lock.Live(nowMS) {
			out = append(out, e.Lock)
		}
	}
	return out, nil
}

// List returns every lock (expired and released included).
func (m *Manager) List() ([]Entry, error) {
	refs, err := m.snapshot()
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Entry, 0, len(refs))
	for _, e := range refs {
		out = append(out, e)
	}
	return out, nil
}

// WriteOnto puts a lock commit on top of parent (a root commit when parent
// is zero) and moves ref from expected to it; sync's reconciliation uses it
// with a parent from the remote.
func (m *Manager) WriteOnto(ref string, parent, expected plumbing.Hash, l Lock, now time.Time) (c plumbing.Hash, err error) {
	err = m.guarded(func(t *gitdir.Turn) error {
		if c, err = m.writeOnto(t, ref, parent, expected, l, now); err != nil {
			return err
		}
		return m.record(ref)
	})
	return c, err
}

// Adopt moves ref from old to new (a commit already in the repository,
// such as a fetched lock), journaled like every lock change.
func (m *Manager) Adopt(ref string, new, old plumbing.Hash) error {
	return m.guarded(func(t *gitdir.Turn) error {
		if err := t.UpdateRef(ref, new, old); err != nil {
			return err
		}
		return m.record(ref)
	})
}

func (m *Manager) writeOnto(t *gitdir.Turn, ref string, parent, expected plumbing.Hash, l Lock, now time.Time) (plumbing.Hash, error) {
	blob, err := m.repo.WriteObject(plumbing.BlobObject, Marshal(l))
	if err != nil {
		return plumbing.ZeroHash, err
	}
	tree, err := m.repo.WriteTree([]gitdir.TreeEntry{{Name: "lock.json", Mode: filemode.Regular, Hash: blob}})
	if err != nil {
		return plumbing.ZeroHash, err
	}
	var parents []plumbing.Hash
	if !parent.IsZero() {
		parents = []plumbing.Hash{parent}
	}
	c, err := m.repo.WriteCommit(tree, parents, "Lock: "+l.Resource, CommitterName, CommitterEmail, now)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return c, t.UpdateRef(ref, c, expected)
}

// change is the read / decide / compare-and-swap loop of every lock
// change, under the repository's locks file lock: a lock can conflict with
// another on a different ref (path:src/ and path:src/a.go, repo:* and
// anything), which no compare-and-swap of one ref can see, so acquires
// take turns across the check and the write, and every change is
// journaled for the next check. decide sees the current entry and returns
// the lock to write on top of it, or nil to leave the ref as it is. A lost
// compare-and-swap (a writer that does not take the file lock) reads again.
func (m *Manager) change(resource string, now time.Time, decide func(cur Entry, exists bool) (*Lock, error)) (Entry, error) {
	if err := ValidateResource(resource); err != nil {
		return Entry{}, err
	}
	ref := RefName(resource)
	for attempt := 0; attempt < 50; attempt++ {
		var out Entry
		err := m.guarded(func(t *gitdir.Turn) error {
			cur, exists, err := m.Read(ref)
			if err != nil {
				return err
			}
			next, err := decide(cur, exists)
			if err != nil || next == nil {
				out = cur
				return err
			}
			c, err := m.writeOnto(t, ref, cur.Commit, cur.Commit, *next, now)
			if err != nil {
				return err
			}
			out = Entry{Ref: ref, Commit: c, Lock: *next, Written: now.Truncate(time.Second)}
			return m.recordEntry(out)
		})
		var changed *gitdir.ErrRefChanged
		if errors.As(err, &changed) {
			continue
		}
		return out, err
	}
	return Entry{}, fmt.Errorf("lock %s: too many concurrent updates", resource)
}

// Acquired is the outcome of Acquire.
type Acquired struct {
	Entry    Entry
	Previous *Lock // the expired or released lock taken over, if any
	// PreviousWritten is when Previous was written: for a released lock,
	// when it was released.
	PreviousWritten time.Time
	Existing        bool // the owner already held it: returned unchanged
}

// Acquire takes resource for owner until now+ttl. A live lock of another
// owner on a conflicting resource fails with *ConflictError; the owner's own
// live lock is returned unchanged; an expired or released lock is taken
// over with a new commit on top of it. Acquires within the repository take
// turns (acquireGuard), so of two racing acquires of conflicting resources
// exactly one succeeds.
func (m *Manager) Acquire(resource string, owner event.ActorID, ttl time.Duration, now time.Time) (Acquired, error) {
	nowMS := uint64(now.UnixMilli())
	var a Acquired
	// The resource's own lock is checked before taking the guard: a claim
	// that finds its issue taken moves on at once.
	if cur, exists, err := m.Read(RefName(resource)); err == nil && exists && cur.Lock.Live(nowMS) && cur.Lock.Owner != owner.String() {
		return a, &ConflictError{Resource: cur.Lock.Resource, Holder: cur.Lock.Owner, ExpiresUnixMS: cur.Lock.ExpiresUnixMS, NowMS: nowMS}
	}
	e, err := m.change(resource, now, func(cur Entry, exists bool) (*Lock, error) {
		a.Previous, a.Existing = nil, false
		if exists && cur.Lock.Live(nowMS) {
			if cur.Lock.Owner != owner.String() {
				return nil, &ConflictError{Resource: cur.Lock.Resource, Holder: cur.Lock.Owner, ExpiresUnixMS: cur.Lock.ExpiresUnixMS, NowMS: nowMS}
			}
			a.Existing = true
			return nil, nil
		}
		if err := m.checkOthers(resource, owner, nowMS); err != nil {
			return nil, err
		}
		if exists {
			p := cur.Lock
			a.Previous, a.PreviousWritten = &p, cur.Written
		}
		return &Lock{Owner: owner.String(), Nonce: uuid.NewString(), ExpiresUnixMS: nowMS + uint64(ttl.Milliseconds()), Resource: resource}, nil
	})
	a.Entry = e
	if err != nil {
		return Acquired{}, err
	}
	return a, nil
}

// checkOthers fails if another owner holds a live lock on a different
// resource that conflicts (any repo: lock, containing paths). Every lock is
// read: any repo:<name>, not only repo:global, conflicts with an issue.
func (m *Manager) checkOthers(resource string, owner event.ActorID, nowMS uint64) error {
	// The picture itself, not a copy (List): every acquire reads it, and
	// released locks stay in it until their refs are collected.
	all, err := m.snapshot()
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	ref := RefName(resource)
	for _, e := range all {
		if e.Ref == ref || !e.Lock.Live(nowMS) || e.Lock.Owner == owner.String() {
			continue
		}
		if Conflicts(e.Lock.Resource, resource) {
			return &ConflictError{Resource: e.Lock.Resource, Holder: e.Lock.Owner, ExpiresUnixMS: e.Lock.ExpiresUnixMS, NowMS: nowMS}
		}
	}
	return nil
}

// Renew extends the owner's live lock to now+ttl; a zero ttl keeps the
// lease's own length (a 2 h lease renews for 2 h). Renewing another
// owner's live lock fails with *ConflictError, a lock nobody holds with
// *NotHeldError: renewing never acquires.
func (m *Manager) Renew(resource string, owner event.ActorID, ttl time.Duration, now time.Time) (Entry, error) {
	nowMS := uint64(now.UnixMilli())
	return m.change(resource, now, func(cur Entry, exists bool) (*Lock, error) {
		switch {
		case exists && cur.Lock.Live(nowMS) && cur.Lock.Owner != owner.String():
			return nil, &ConflictError{Resource: resource, Holder: cur.Lock.Owner, ExpiresUnixMS: cur.Lock.ExpiresUnixMS, NowMS: nowMS}
		case !exists || !cur.Lock.Live(nowMS):
			return nil, &NotHeldError{Resource: resource}
		}
		lease := ttl
		if lease <= 0 {
			if lease = cur.Lease(); lease < time.Second {
				lease = time.Second
			}
		}
		l := cur.Lock
		l.ExpiresUnixMS = nowMS + uint64(lease.Milliseconds())
		return &l, nil
	})
}

// Release ends the owner's lock with a commit whose expiry is 0. Releasing
// a lock that is absent, expired or already released is a no-op.
func (m *Manager) Release(resource string, owner event.ActorID, now time.Time) (Entry, error) {
	nowMS := uint64(now.UnixMilli())
	e, err := m.change(resource, now, func(cur Entry, exists bool) (*Lock, error) {
		if !exists || !cur.Lock.Live(nowMS) {
			return nil, nil
		}
		if cur.Lock.Owner != owner.String() {
			return nil, fmt.Errorf("%w: cannot release lock on '%s': owned by %s: %w", ErrNotHeld, resource, cur.Lock.Owner,
				&ConflictError{Resource: resource, Holder: cur.Lock.Owner, ExpiresUnixMS: cur.Lock.ExpiresUnixMS, NowMS: nowMS})
		}
		l := cur.Lock
		l.ExpiresUnixMS = 0
		return &l, nil
	})
	if err == nil && e.Commit.IsZero() {
		e = Entry{Ref: RefName(resource), Lock: Lock{Resource: resource}}
	}
	return e, err
}

// GC deletes the local refs of expired or released locks (never pushed).
func (m *Manager) GC(now time.Time) ([]Entry, error) {
	var pruned []Entry
	err := m.guarded(func(*gitdir.Turn) error {
		all, err := m.List()
		if err != nil {
			return err
		}
		nowMS := uint64(now.UnixMilli())
		var refs []string
		for _, e := range all {
			if e.Lock.Live(nowMS) {
				continue
			}
			err = m.repo.DeleteRef(e.Ref, e.Commit)
			var changed *gitdir.ErrRefChanged
			if errors.As(err, &changed) {
				err = nil
				continue // someone re-took it meanwhile
			}
			if err != nil {
				break
			}
			pruned, refs = append(pruned, e), append(refs, e.Ref)
		}
		if rerr := m.record(refs...); err == nil {
			err = rerr
		}
		return err
	})
	return pruned, err
}
