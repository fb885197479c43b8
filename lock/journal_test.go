package lock_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"grite/event"
	"grite/gitdir"
	"grite/lock"
)

// A Manager journals each lock it writes with its content, so another
// Manager (another process) that has listed the locks learns of it
// without reading the ref or its objects: here they are gone from disk,
// and it still knows every field. A lock whose line would be too long to
// write (a long path) is read from git as before, and so is a ref changed
// again by a journaled writer that gives no content (sync's adopting a
// fetched lock), whatever an earlier line said.
func TestJournalCarriesLocks(t *testing.T) {
	m1, dir := newManager(t)
	r, err := gitdir.Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	m2 := lock.New(r)
	owner := event.ActorID{2}
	now := time.UnixMilli(1700000000000)
	nowMS := uint64(now.UnixMilli())
	if _, err := m1.List(); err != nil { // m1's first listing; it follows the journal from here
		t.Fatal(err)
	}

	// A later plain line wins over an earlier entry line.
	adopted := "issue:" + strings.Repeat("a", 32)
	first, err := m2.Acquire(adopted, owner, time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	later := first.Entry.Lock
	later.ExpiresUnixMS += 60_000
	if _, err := m2.WriteOnto(first.Entry.Ref, first.Entry.Commit, first.Entry.Commit, later, now); err != nil {
		t.Fatal(err)
	}
	long := "path:" + strings.Repeat("deep/", 40) + "file.go"
	if _, err := m2.Acquire(long, owner, time.Minute, now); err != nil {
		t.Fatal(err)
	}
	byResource := func(m *lock.Manager) map[string]lock.Entry {
		t.Helper()
		all, err := m.List()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]lock.Entry{}
		for _, e := range all {
			out[e.Lock.Resource] = e
		}
		return out
	}
	got := byResource(m1)
	if got[adopted].Lock != later {
		t.Fatalf("after a plain line: %+v, want %+v", got[adopted].Lock, later)
	}
	if !got[long].Lock.Live(nowMS) {
		t.Fatalf("the long path's lock: %+v", got[long])
	}

	// Entry lines alone: with every loose object removed, m1 still knows.
	want := map[string]lock.Entry{}
	for _, res := range []string{"issue:" + strings.Repeat("b", 32), "path:dir with space/α.go", "repo:global"} {
		a, err := m2.Acquire(res, owner, 90*time.Second, now)
		if err != nil {
			t.Fatal(err)
		}
		want[res] = a.Entry
	}
	fans, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "[0-9a-f][0-9a-f]"))
	for _, fan := range fans {
		if err := os.RemoveAll(fan); err != nil {
			t.Fatal(err)
		}
	}
	got = byResource(m1)
	for res, w := range want {
		g := got[res]
		if g.Ref != w.Ref || g.Commit != w.Commit || g.Lock != w.Lock || !g.Written.Equal(w.Written) {
			t.Errorf("%s: m1 knows %+v, want %+v", res, g, w)
		}
	}

	// An older grite reads each line as a ref name: an entry line must be
	// one that names nothing, without an error.
	b, err := os.ReadFile(filepath.Join(r.GriteDir(), "locks.journal"))
	if err != nil {
		t.Fatal(err)
	}
	entryLines := 0
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if !strings.HasPrefix(line, "+") {
			continue
		}
		entryLines++
		if h, err := r.ReadRef(line); err != nil || !h.IsZero() {
			t.Errorf("entry line %q read as a ref: %s, %v", line, h, err)
		}
	}
	// adopted's acquire, and the three above; not the long path's.
	if entryLines != 4 {
		t.Fatalf("%d entry lines in the journal, want 4:\n%s", entryLines, b)
	}
}
