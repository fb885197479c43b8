// Package lock owns lease locks: refs/grite/locks/<sha256(resource)[:8]>,
// each a chain of commits whose tree holds one lock.json (FORMAT.md §8).
// Every change is a new commit on top of the previous one, moved with an
// atomic compare-and-swap, so a lock's history only moves forward and can
// travel through plain fetch and push (../notes: locks-and-claims). It
// never touches the WAL or the working tree; time is passed in.
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
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/google/uuid"

	"grite/event"
	"grite/gitdir"
	"grite/wal"
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
	enc.Encode(s) // cannot fail for a string
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
// want (FORMAT.md §8 rules).
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

// Entry is a lock ref and its current content.
type Entry struct {
	Ref    string
	Commit plumbing.Hash
	Lock   Lock
}

// Manager reads and writes lock refs of one repository.
type Manager struct {
	repo *gitdir.Repo
}

// New returns a Manager.
func New(repo *gitdir.Repo) *Manager { return &Manager{repo: repo} }

// Read returns the lock at ref (ok false when the ref does not exist).
func (m *Manager) Read(ref string) (Entry, bool, error) {
	h, err := m.repo.ReadRef(ref)
	if err != nil || h.IsZero() {
		return Entry{}, false, err
	}
	l, err := m.ReadCommit(h)
	if err != nil {
		return Entry{}, false, fmt.Errorf("%s: %w", ref, err)
	}
	return Entry{Ref: ref, Commit: h, Lock: l}, true, nil
}

// ReadCommit parses the lock.json of a lock commit.
func (m *Manager) ReadCommit(h plumbing.Hash) (Lock, error) {
	b, err := wal.ReadFile(m.repo, h, "lock.json", 64<<10)
	if errors.Is(err, fs.ErrNotExist) {
		return Lock{}, fmt.Errorf("lock commit %s has no lock.json", h)
	} else if err != nil {
		return Lock{}, err
	}
	var l Lock
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&l); err != nil {
		return Lock{}, fmt.Errorf("lock.json of %s: %w", h, err)
	}
	return l, nil
}

// List returns every lock (expired and released included).
func (m *Manager) List() ([]Entry, error) {
	refs, err := m.repo.ListRefs(Prefix)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(refs))
	for name, h := range refs {
		l, err := m.ReadCommit(h)
		if err != nil {
			continue // an unreadable lock ref does not hold anything
		}
		out = append(out, Entry{Ref: name, Commit: h, Lock: l})
	}
	return out, nil
}

// write puts a new lock commit on top of parent and moves ref from parent.
func (m *Manager) write(ref string, parent plumbing.Hash, l Lock, now time.Time) (plumbing.Hash, error) {
	return m.WriteOnto(ref, parent, parent, l, now)
}

// WriteOnto puts a lock commit on top of parent (a root commit when parent
// is zero) and moves ref from expected to it; sync's reconciliation uses it
// with a parent from the remote.
func (m *Manager) WriteOnto(ref string, parent, expected plumbing.Hash, l Lock, now time.Time) (plumbing.Hash, error) {
	blob, err := wal.WriteObject(m.repo, plumbing.BlobObject, Marshal(l))
	if err != nil {
		return plumbing.ZeroHash, err
	}
	tree, err := wal.WriteTree(m.repo, []wal.TreeEntry{{Name: "lock.json", Mode: filemode.Regular, Hash: blob}})
	if err != nil {
		return plumbing.ZeroHash, err
	}
	var parents []plumbing.Hash
	if !parent.IsZero() {
		parents = []plumbing.Hash{parent}
	}
	c, err := wal.WriteCommit(m.repo, tree, parents, "Lock: "+l.Resource, CommitterName, CommitterEmail, now)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return c, m.repo.UpdateRef(ref, c, expected)
}

// Acquired is the outcome of Acquire.
type Acquired struct {
	Entry    Entry
	Previous *Lock // the expired or released lock taken over, if any
	Existing bool  // the owner already held it: returned unchanged
}

// Acquire takes resource for owner until now+ttl. A live lock of another
// owner on a conflicting resource fails with *ConflictError; the owner's own
// live lock is returned unchanged; an expired or released lock is taken
// over with a new commit on top of it. A lost compare-and-swap re-reads.
func (m *Manager) Acquire(resource string, owner event.ActorID, ttl time.Duration, now time.Time) (Acquired, error) {
	if err := ValidateResource(resource); err != nil {
		return Acquired{}, err
	}
	nowMS := uint64(now.UnixMilli())
	ref := RefName(resource)
	for attempt := 0; attempt < 50; attempt++ {
		if err := m.checkOthers(resource, ref, owner, nowMS); err != nil {
			return Acquired{}, err
		}
		cur, exists, err := m.Read(ref)
		if err != nil {
			return Acquired{}, err
		}
		var prev *Lock
		if exists && cur.Lock.Live(nowMS) {
			if cur.Lock.Owner != owner.String() {
				return Acquired{}, &ConflictError{Resource: cur.Lock.Resource, Holder: cur.Lock.Owner, ExpiresUnixMS: cur.Lock.ExpiresUnixMS, NowMS: nowMS}
			}
			return Acquired{Entry: cur, Existing: true}, nil
		}
		if exists {
			p := cur.Lock
			prev = &p
		}
		l := Lock{Owner: owner.String(), Nonce: uuid.NewString(), ExpiresUnixMS: nowMS + uint64(ttl.Milliseconds()), Resource: resource}
		c, err := m.write(ref, cur.Commit, l, now)
		var changed *gitdir.ErrRefChanged
		if errors.As(err, &changed) {
			continue
		}
		if err != nil {
			return Acquired{}, err
		}
		return Acquired{Entry: Entry{Ref: ref, Commit: c, Lock: l}, Previous: prev}, nil
	}
	return Acquired{}, fmt.Errorf("acquire %s: too many concurrent updates", resource)
}

// checkOthers fails if another owner holds a live lock on a different
// resource that conflicts (any repo: lock, containing paths). Every lock is
// read: any repo:<name>, not only repo:global, conflicts with an issue.
func (m *Manager) checkOthers(resource, ref string, owner event.ActorID, nowMS uint64) error {
	all, err := m.List()
	if err != nil {
		return err
	}
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

// Renew extends the owner's lock to now+ttl (acquiring it if absent).
func (m *Manager) Renew(resource string, owner event.ActorID, ttl time.Duration, now time.Time) (Entry, error) {
	if err := ValidateResource(resource); err != nil {
		return Entry{}, err
	}
	nowMS := uint64(now.UnixMilli())
	ref := RefName(resource)
	for attempt := 0; attempt < 50; attempt++ {
		cur, exists, err := m.Read(ref)
		if err != nil {
			return Entry{}, err
		}
		if !exists || !cur.Lock.Live(nowMS) {
			// Renewing an absent, expired or released lock takes it anew:
			// Acquire checks the locks others took meanwhile.
			a, err := m.Acquire(resource, owner, ttl, now)
			return a.Entry, err
		}
		if cur.Lock.Owner != owner.String() {
			return Entry{}, &ConflictError{Resource: resource, Holder: cur.Lock.Owner, ExpiresUnixMS: cur.Lock.ExpiresUnixMS, NowMS: nowMS}
		}
		l := cur.Lock
		l.ExpiresUnixMS = nowMS + uint64(ttl.Milliseconds())
		c, err := m.write(ref, cur.Commit, l, now)
		var changed *gitdir.ErrRefChanged
		if errors.As(err, &changed) {
			continue
		}
		return Entry{Ref: ref, Commit: c, Lock: l}, err
	}
	return Entry{}, fmt.Errorf("renew %s: too many concurrent updates", resource)
}

// Release ends the owner's lock with a commit whose expiry is 0. Releasing
// a lock that is absent, expired or already released is a no-op.
func (m *Manager) Release(resource string, owner event.ActorID, now time.Time) (Entry, error) {
	if err := ValidateResource(resource); err != nil {
		return Entry{}, err
	}
	nowMS := uint64(now.UnixMilli())
	ref := RefName(resource)
	for attempt := 0; attempt < 50; attempt++ {
		cur, exists, err := m.Read(ref)
		if err != nil {
			return Entry{}, err
		}
		if !exists {
			return Entry{Ref: ref, Lock: Lock{Resource: resource}}, nil
		}
		if cur.Lock.Live(nowMS) && cur.Lock.Owner != owner.String() {
			return Entry{}, fmt.Errorf("%w: cannot release lock on '%s': owned by %s: %w", ErrNotHeld, resource, cur.Lock.Owner,
				&ConflictError{Resource: resource, Holder: cur.Lock.Owner, ExpiresUnixMS: cur.Lock.ExpiresUnixMS, NowMS: nowMS})
		}
		if !cur.Lock.Live(nowMS) {
			return cur, nil
		}
		l := cur.Lock
		l.ExpiresUnixMS = 0
		c, err := m.write(ref, cur.Commit, l, now)
		var changed *gitdir.ErrRefChanged
		if errors.As(err, &changed) {
			continue
		}
		return Entry{Ref: ref, Commit: c, Lock: l}, err
	}
	return Entry{}, fmt.Errorf("release %s: too many concurrent updates", resource)
}

// GC deletes the local refs of expired or released locks (never pushed).
func (m *Manager) GC(now time.Time) ([]Entry, error) {
	all, err := m.List()
	if err != nil {
		return nil, err
	}
	nowMS := uint64(now.UnixMilli())
	var pruned []Entry
	for _, e := range all {
		if e.Lock.Live(nowMS) {
			continue
		}
		err := m.repo.DeleteRef(e.Ref, e.Commit)
		var changed *gitdir.ErrRefChanged
		if errors.As(err, &changed) {
			continue // someone re-took it meanwhile
		}
		if err != nil {
			return pruned, err
		}
		pruned = append(pruned, e)
	}
	return pruned, nil
}
