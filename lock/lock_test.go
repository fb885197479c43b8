package lock_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"grite/event"
	"grite/gitdir"
	"grite/internal/testrepo"
	"grite/lock"
)

type vectors struct {
	Lock []struct {
		Resource, ResourceHashHex, Ref string
	} `json:"-"`
	LockResourceHashVectors []struct {
		Resource        string `json:"resource"`
		ResourceHashHex string `json:"resource_hash_hex"`
		Ref             string `json:"ref"`
	} `json:"lock_resource_hash_vectors"`
	JSONFileVectors []struct {
		Kind   string          `json:"kind"`
		Fields json.RawMessage `json:"fields"`
		Text   string          `json:"text"`
	} `json:"json_file_vectors"`
}

func loadVectors(t *testing.T) vectors {
	b, err := os.ReadFile("../event/testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestResourceHashAndLockJSONVectors(t *testing.T) {
	v := loadVectors(t)
	if len(v.LockResourceHashVectors) == 0 {
		t.Fatal("no lock vectors")
	}
	for _, vec := range v.LockResourceHashVectors {
		if got := lock.ResourceHash(vec.Resource); got != vec.ResourceHashHex {
			t.Errorf("%q: hash %s want %s", vec.Resource, got, vec.ResourceHashHex)
		}
		if got := lock.RefName(vec.Resource); got != vec.Ref {
			t.Errorf("%q: ref %s want %s", vec.Resource, got, vec.Ref)
		}
	}
	n := 0
	for _, vec := range v.JSONFileVectors {
		if vec.Kind != "lock" {
			continue
		}
		var l lock.Lock
		if err := json.Unmarshal(vec.Fields, &l); err != nil {
			t.Fatal(err)
		}
		if got := string(lock.Marshal(l)); got != vec.Text {
			t.Errorf("lock.json\n got %q\nwant %q", got, vec.Text)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no lock.json vector")
	}
}

func TestConflictRules(t *testing.T) {
	cases := []struct {
		held, want string
		conflict   bool
	}{
		{"repo:global", "issue:abc", true},
		{"issue:abc", "repo:global", true},
		{"path:src/", "path:src/main.go", true},
		{"path:src/main.go", "path:src", true},
		{"path:src", "path:src/", true},
		{"path:src", "path:srcx/a", false},
		{"path:a/b", "path:a/c", false},
		{"issue:abc", "issue:abc", true},
		{"issue:abc", "issue:abd", false},
		{"issue:abc", "path:abc", false},
	}
	for _, c := range cases {
		if got := lock.Conflicts(c.held, c.want); got != c.conflict {
			t.Errorf("Conflicts(%q, %q) = %v want %v", c.held, c.want, got, c.conflict)
		}
	}
}

func newManager(t *testing.T) (*lock.Manager, string) {
	dir := testrepo.New(t)
	r, err := gitdir.Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	return lock.New(r), dir
}

func TestAcquireRaceHasExactlyOneWinner(t *testing.T) {
	_, dir := newManager(t)
	now := time.UnixMilli(1700000000000)
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	winners, conflicts := 0, 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One handle per racer, as separate processes have (a handle is
			// not safe for concurrent use).
			r, err := gitdir.Discover(dir)
			if err != nil {
				t.Error(err)
				return
			}
			_, err = lock.New(r).Acquire("issue:x", event.ActorID{byte(i + 1)}, time.Minute, now)
			mu.Lock()
			defer mu.Unlock()
			var ce *lock.ConflictError
			switch {
			case err == nil:
				winners++
			case errors.As(err, &ce):
				conflicts++
				if ce.ExpiresUnixMS != 1700000060000 {
					t.Errorf("conflict names expiry %d", ce.ExpiresUnixMS)
				}
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if winners != 1 || conflicts != n-1 {
		t.Fatalf("%d winners, %d conflicts", winners, conflicts)
	}
}

func TestExpiredLockIsTakenOverOnTop(t *testing.T) {
	m, dir := newManager(t)
	a, b := event.ActorID{1}, event.ActorID{2}
	t0 := time.UnixMilli(1700000000000)
	first, err := m.Acquire("issue:x", a, time.Second, t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Acquire("issue:x", b, time.Minute, t0.Add(500*time.Millisecond)); err == nil {
		t.Fatal("live lock taken over")
	}
	again, err := m.Acquire("issue:x", a, time.Minute, t0.Add(100*time.Millisecond))
	if err != nil || !again.Existing {
		t.Fatalf("owner re-acquire: %+v %v", again, err)
	}
	took, err := m.Acquire("issue:x", b, time.Minute, t0.Add(time.Second))
	if err != nil {
		t.Fatalf("expired lock not taken over: %v", err)
	}
	if took.Previous == nil || took.Previous.Owner != a.String() {
		t.Fatalf("previous holder not reported: %+v", took.Previous)
	}
	// The new commit sits on top of the old one: history only moves forward.
	parent := testrepo.Git(t, dir, "rev-parse", took.Entry.Ref+"^")
	if parent != first.Entry.Commit.String() {
		t.Fatalf("takeover parent %s want %s", parent, first.Entry.Commit)
	}
	if got := testrepo.Git(t, dir, "log", "-1", "--format=%an <%ae>|%s", took.Entry.Ref); got != "grite <grit@localhost>|Lock: issue:x" {
		t.Fatalf("lock commit identity: %s", got)
	}
}

func TestReleaseAndRenewAreOwnerOnly(t *testing.T) {
	m, _ := newManager(t)
	a, b := event.ActorID{1}, event.ActorID{2}
	now := time.UnixMilli(1700000000000)
	if _, err := m.Acquire("path:src/", a, time.Minute, now); err != nil {
		t.Fatal(err)
	}
	var ce *lock.ConflictError
	if _, err := m.Acquire("path:src/main.go", b, time.Minute, now); !errors.As(err, &ce) || ce.Holder != a.String() {
		t.Fatalf("contained path not refused: %v", err)
	}
	if _, err := m.Release("path:src/", b, now); !errors.Is(err, lock.ErrNotHeld) {
		t.Fatalf("release by non-owner: %v", err)
	}
	if _, err := m.Renew("path:src/", b, time.Minute, now); !errors.As(err, &ce) {
		t.Fatalf("renew by non-owner: %v", err)
	}
	e, err := m.Renew("path:src/", a, time.Hour, now)
	if err != nil || e.Lock.ExpiresUnixMS != 1700003600000 {
		t.Fatalf("renew: %+v %v", e, err)
	}
	rel, err := m.Release("path:src/", a, now)
	if err != nil || rel.Lock.ExpiresUnixMS != 0 {
		t.Fatalf("release: %+v %v", rel, err)
	}
	var nh *lock.NotHeldError
	if _, err := m.Renew("path:src/", a, time.Hour, now); !errors.As(err, &nh) || !errors.Is(err, lock.ErrNotHeld) {
		t.Fatalf("renew after release: %v, want not held (renewing never acquires)", err)
	}
	if _, err := m.Acquire("path:src/main.go", b, time.Minute, now); err != nil {
		t.Fatalf("released lock still blocks: %v", err)
	}
}

func TestGCRemovesOnlyExpiredLocks(t *testing.T) {
	m, _ := newManager(t)
	a := event.ActorID{1}
	now := time.UnixMilli(1700000000000)
	for _, r := range []string{"issue:live", "issue:short", "issue:released"} {
		ttl := time.Hour
		if r == "issue:short" {
			ttl = time.Second
		}
		if _, err := m.Acquire(r, a, ttl, now); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Release("issue:released", a, now); err != nil {
		t.Fatal(err)
	}
	pruned, err := m.GC(now.Add(2 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(pruned) != 2 {
		t.Fatalf("pruned %d, want 2", len(pruned))
	}
	left, err := m.List()
	if err != nil || len(left) != 1 || left[0].Lock.Resource != "issue:live" {
		t.Fatalf("left %+v %v", left, err)
	}
}

// A renew without a TTL keeps the lease's own length, whatever the
// default of new locks.
func TestRenewWithoutTTLKeepsTheLeaseLength(t *testing.T) {
	m, _ := newManager(t)
	a := event.ActorID{1}
	now := time.UnixMilli(1700000000250)
	for _, lease := range []time.Duration{2 * time.Hour, 90 * time.Second} {
		r := "repo:" + lease.String()
		if _, err := m.Acquire(r, a, lease, now); err != nil {
			t.Fatal(err)
		}
		later := now.Add(lease / 2)
		e, err := m.Renew(r, a, 0, later)
		if err != nil {
			t.Fatal(err)
		}
		if want := uint64(later.Add(lease).UnixMilli()); e.Lock.ExpiresUnixMS != want {
			t.Fatalf("%s lease renewed to %d, want %d", lease, e.Lock.ExpiresUnixMS, want)
		}
		// Read back from git, the lease is still known (from commit time).
		got, _, err := m.Read(lock.RefName(r))
		if err != nil || got.Lease() != lease {
			t.Fatalf("%s lease read back as %s (%v)", lease, got.Lease(), err)
		}
	}
}

// Two Managers of one repository stand for two processes: once one has
// listed the locks, it learns of the other's acquires, releases and gc
// through the journal, and refuses a conflicting acquire at once.
func TestManagersSeeEachOthersChangesThroughTheJournal(t *testing.T) {
	m1, dir := newManager(t)
	r, err := gitdir.Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	m2 := lock.New(r)
	a, b := event.ActorID{1}, event.ActorID{2}
	now := time.UnixMilli(1700000000000)
	live := func(m *lock.Manager) []string {
		t.Helper()
		all, err := m.List()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range all {
			if e.Lock.Live(uint64(now.UnixMilli())) {
				out = append(out, e.Lock.Resource)
			}
		}
		slices.Sort(out)
		return out
	}
	if got := live(m1); len(got) != 0 {
		t.Fatalf("fresh repository lists %v", got)
	}
	if _, err := m2.Acquire("path:src/", b, time.Minute, now); err != nil {
		t.Fatal(err)
	}
	if got := live(m1); !slices.Equal(got, []string{"path:src/"}) {
		t.Fatalf("after the other's acquire: %v", got)
	}
	var ce *lock.ConflictError
	if _, err := m1.Acquire("path:src/x.go", a, time.Minute, now); !errors.As(err, &ce) || ce.Holder != b.String() {
		t.Fatalf("acquire inside the other's path: %v, want a conflict", err)
	}
	if _, err := m2.Release("path:src/", b, now); err != nil {
		t.Fatal(err)
	}
	if got := live(m1); len(got) != 0 {
		t.Fatalf("after the other's release: %v", got)
	}
	if _, err := m2.GC(now); err != nil {
		t.Fatal(err)
	}
	all, err := m1.List()
	if err != nil || len(all) != 0 {
		t.Fatalf("after the other's gc: %+v %v", all, err)
	}
	if _, err := m1.Acquire("path:src/x.go", a, time.Minute, now); err != nil {
		t.Fatal(err)
	}
}

// packedLocks makes n live locks and packs every object (git repack),
// as a repository is after grite's packing or a fetch.
func packedLocks(t testing.TB, n int) (*gitdir.Repo, time.Time) {
	dir := testrepo.New(t)
	r, err := gitdir.Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := lock.New(r)
	now := time.UnixMilli(1700000000000)
	for i := range n {
		if _, err := m.Acquire(fmt.Sprintf("issue:%032x", i), event.ActorID{byte(i)}, time.Hour, now); err != nil {
			t.Fatal(err)
		}
	}
	testrepo.Git(t, dir, "repack", "-a", "-d", "-q")
	return r, now
}

// A new Manager lists every lock of a repository whose lock commits are
// all packed, each with its own owner.
func TestListPackedLocks(t *testing.T) {
	r, now := packedLocks(t, 40)
	all, err := lock.New(r).List()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 40 {
		t.Fatalf("listed %d locks, want 40", len(all))
	}
	for _, e := range all {
		var i int
		if _, err := fmt.Sscanf(e.Lock.Resource, "issue:%x", &i); err != nil {
			t.Fatal(err)
		}
		if e.Lock.Owner != (event.ActorID{byte(i)}).String() || !e.Lock.Live(uint64(now.UnixMilli())) {
			t.Errorf("%s: %+v", e.Ref, e.Lock)
		}
	}
}

// BenchmarkListPackedLocks is a new session's first look at the locks
// of a repository with 100 packed ones.
func BenchmarkListPackedLocks(b *testing.B) {
	r, _ := packedLocks(b, 100)
	for b.Loop() {
		if all, err := lock.New(r).List(); err != nil || len(all) != 100 {
			b.Fatal(len(all), err)
		}
	}
}

// Changes reports a first listing as full, then only the refs changed
// since the last call, by this Manager or another, and nothing when
// nothing changed.
func TestChangesReportsOnlyWhatChanged(t *testing.T) {
	m1, dir := newManager(t)
	r, err := gitdir.Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	m2 := lock.New(r)
	now := time.UnixMilli(1700000000000)
	if _, err := m2.Acquire("issue:0001", event.ActorID{2}, time.Hour, now); err != nil {
		t.Fatal(err)
	}
	d, err := m1.Changes()
	if err != nil || !d.Full || len(d.Entries) != 1 {
		t.Fatalf("first call: %+v %v, want a full listing of one lock", d, err)
	}
	if d, err = m1.Changes(); err != nil || d.Full || len(d.Refs) != 0 {
		t.Fatalf("nothing changed: %+v %v", d, err)
	}
	for _, res := range []string{"issue:0002", "issue:0003"} {
		if _, err := m2.Acquire(res, event.ActorID{2}, time.Hour, now); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m2.Release("issue:0001", event.ActorID{2}, now); err != nil {
		t.Fatal(err)
	}
	d, err = m1.Changes()
	if err != nil || d.Full {
		t.Fatalf("after changes: %+v %v", d, err)
	}
	slices.Sort(d.Refs)
	want := []string{lock.RefName("issue:0001"), lock.RefName("issue:0002"), lock.RefName("issue:0003")}
	slices.Sort(want)
	if !slices.Equal(d.Refs, want) {
		t.Fatalf("changed refs %v, want %v", d.Refs, want)
	}
	if e := d.Entries[lock.RefName("issue:0001")]; e.Lock.Live(uint64(now.UnixMilli())) {
		t.Fatalf("released lock still live: %+v", e)
	}
}
