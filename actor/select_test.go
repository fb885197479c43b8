package actor_test

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"grite/actor"
)

var now = time.UnixMilli(1700000000000)

func newDir(t *testing.T) actor.Dir {
	t.Helper()
	return actor.Dir(filepath.Join(t.TempDir(), "grite"))
}

func mustCreate(t *testing.T, d actor.Dir, label string, withKey bool, at time.Time) *actor.Actor {
	t.Helper()
	a, err := d.Create(label, withKey, at)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Resolve picks the actor by the first source given: a data directory
// (--data-dir, else GRITE_HOME), then --actor (ID, label or prefix), then
// the repository's default; with none of them it creates an actor and
// makes it the default, which the next Resolve finds.
func TestResolveTakesTheFirstSourceGiven(t *testing.T) {
	type setup struct {
		d              actor.Dir
		other, labeled *actor.Actor
	}
	for _, tc := range []struct {
		name    string
		sel     func(s setup) actor.Selection
		prepare func(t *testing.T, s setup) // before Resolve
		want    func(s setup) *actor.Actor  // nil: a new actor
		source  actor.Source
		err     error // errors.Is target, when Resolve must fail
	}{
		{
			name:   "data dir flag",
			sel:    func(s setup) actor.Selection { return actor.Selection{DataDir: s.other.DataDir} },
			want:   func(s setup) *actor.Actor { return s.other },
			source: actor.SourceFlag,
		},
		{
			name:   "data dir from GRITE_HOME",
			sel:    func(s setup) actor.Selection { return actor.Selection{DataDir: s.other.DataDir, FromEnv: true} },
			want:   func(s setup) *actor.Actor { return s.other },
			source: actor.SourceEnv,
		},
		{
			name:   "data dir wins over --actor",
			sel:    func(s setup) actor.Selection { return actor.Selection{DataDir: s.other.DataDir, ActorID: "worker"} },
			want:   func(s setup) *actor.Actor { return s.other },
			source: actor.SourceFlag,
		},
		{
			name:   "data dir without an actor",
			sel:    func(s setup) actor.Selection { return actor.Selection{DataDir: filepath.Join(string(s.d), "empty")} },
			source: actor.SourceFlag,
			err:    actor.ErrNotFound,
		},
		{
			name:   "--actor by ID",
			sel:    func(s setup) actor.Selection { return actor.Selection{ActorID: s.labeled.ID.String()} },
			want:   func(s setup) *actor.Actor { return s.labeled },
			source: actor.SourceFlag,
		},
		{
			name:   "--actor by label",
			sel:    func(s setup) actor.Selection { return actor.Selection{ActorID: "worker"} },
			want:   func(s setup) *actor.Actor { return s.labeled },
			source: actor.SourceFlag,
		},
		{
			name:   "--actor by ID prefix",
			sel:    func(s setup) actor.Selection { return actor.Selection{ActorID: s.labeled.ID.String()[:20]} },
			want:   func(s setup) *actor.Actor { return s.labeled },
			source: actor.SourceFlag,
		},
		{
			name:   "--actor unknown",
			sel:    func(s setup) actor.Selection { return actor.Selection{ActorID: "nobody"} },
			source: actor.SourceFlag,
			err:    actor.ErrNotFound,
		},
		{
			name: "repo default",
			sel:  func(s setup) actor.Selection { return actor.Selection{} },
			prepare: func(t *testing.T, s setup) {
				if err := s.d.SetDefault(s.labeled.ID.String()); err != nil {
					t.Fatal(err)
				}
			},
			want:   func(s setup) *actor.Actor { return s.labeled },
			source: actor.SourceRepoDefault,
		},
		{
			name: "repo default names an actor that is gone",
			sel:  func(s setup) actor.Selection { return actor.Selection{} },
			prepare: func(t *testing.T, s setup) {
				if err := s.d.SetDefault(strings.Repeat("ab", 16)); err != nil {
					t.Fatal(err)
				}
			},
			source: actor.SourceRepoDefault,
			err:    actor.ErrNotFound,
		},
		{
			name:   "nothing given: a new default actor",
			sel:    func(s setup) actor.Selection { return actor.Selection{} },
			source: actor.SourceAuto,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDir(t)
			s := setup{d: d, other: mustCreate(t, actor.Dir(t.TempDir()), "elsewhere", false, now)}
			s.labeled = mustCreate(t, d, "worker", false, now)
			if tc.prepare != nil {
				tc.prepare(t, s)
			}
			a, src, err := d.Resolve(tc.sel(s), now)
			if src != tc.source {
				t.Errorf("source %q, want %q", src, tc.source)
			}
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Resolve: %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != nil {
				if a.ID != tc.want(s).ID || a.DataDir != tc.want(s).DataDir {
					t.Fatalf("resolved %s in %s, want %s in %s", a.ID, a.DataDir, tc.want(s).ID, tc.want(s).DataDir)
				}
				return
			}
			// A new actor: made the default, found as such next time.
			if a.ID == s.labeled.ID || a.Config.Label != "" || a.Key != nil {
				t.Fatalf("auto-created %+v", a.Config)
			}
			c, err := d.LoadRepoConfig()
			if err != nil || c.DefaultActor != a.ID.String() {
				t.Fatalf("default_actor %q (%v), want %s", c.DefaultActor, err, a.ID)
			}
			again, src, err := d.Resolve(actor.Selection{}, now)
			if err != nil || again.ID != a.ID || src != actor.SourceRepoDefault {
				t.Fatalf("second Resolve: %v %s %v, want %s from the repo default", again, src, err, a.ID)
			}
		})
	}
}

// Commands that start at once in a repository without an actor agree on
// one: the first creates it under a lock, the others find it.
func TestConcurrentFirstResolvesAgreeOnOneActor(t *testing.T) {
	d := newDir(t)
	const n = 8
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			a, _, err := d.Resolve(actor.Selection{}, now)
			errs[i] = err
			if err == nil {
				ids[i] = a.ID.String()
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("resolve %d: %s %v, want %s", i, ids[i], errs[i], ids[0])
		}
	}
	if all, err := d.List(); err != nil || len(all) != 1 {
		t.Fatalf("%d actors (%v), want 1", len(all), err)
	}
}

// The repository config survives a write and a read unchanged; setting the
// default actor keeps the other keys; a missing file is an empty config.
func TestRepoConfigRoundTrip(t *testing.T) {
	d := newDir(t)
	if c, err := d.LoadRepoConfig(); err != nil || !reflect.DeepEqual(c, actor.RepoConfig{}) {
		t.Fatalf("missing config: %+v %v, want empty", c, err)
	}
	budget := 90.5
	full := actor.RepoConfig{
		DefaultActor: strings.Repeat("0f", 16), LockPolicy: "require", VerifySignatures: "warn",
		Snapshot: &actor.SnapshotConfig{MaxEvents: 5000, MaxAgeDays: 7},
		Sync:     &actor.SyncConfig{RetryBudgetSeconds: &budget},
	}
	if err := d.SaveRepoConfig(full); err != nil {
		t.Fatal(err)
	}
	got, err := d.LoadRepoConfig()
	if err != nil || !reflect.DeepEqual(got, full) {
		t.Fatalf("read back %+v (%v), want %+v", got, err, full)
	}
	other := strings.Repeat("1e", 16)
	if err := d.SetDefault(other); err != nil {
		t.Fatal(err)
	}
	full.DefaultActor = other
	if got, err := d.LoadRepoConfig(); err != nil || !reflect.DeepEqual(got, full) {
		t.Fatalf("after SetDefault %+v (%v), want %+v", got, err, full)
	}
	if entries, _ := os.ReadDir(string(d)); len(entries) != 2 { // config.toml, config.lock
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("files left in %s: %v, want config.toml and its lock only", d, names)
	}
}

// A config file that is not valid TOML, or has a value of the wrong type,
// fails with an error that names the file; so does every command that
// resolves its actor through it.
func TestMalformedRepoConfigIsAClearError(t *testing.T) {
	for _, tc := range []struct{ name, content, says string }{
		{"not TOML", "default_actor = \n", "config.toml"},
		{"wrong type", "lock_policy = 3\n", "config.toml"},
		{"table where a value goes", "default_actor = \"x\"\n[default_actor]\n", "config.toml"},
		{"snapshot of the wrong type", "snapshot = \"daily\"\n", "config.toml"},
		{"budget of the wrong type", "[sync]\nretry_budget_seconds = \"soon\"\n", "config.toml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDir(t)
			path := filepath.Join(string(d), "config.toml")
			writeFile(t, path, tc.content)
			_, err := d.LoadRepoConfig()
			if err == nil || !strings.Contains(err.Error(), path) || !strings.HasPrefix(err.Error(), "parse ") {
				t.Fatalf("LoadRepoConfig: %v, want a parse error naming %s", err, path)
			}
			if _, _, err := d.Resolve(actor.Selection{}, now); err == nil || !strings.Contains(err.Error(), path) {
				t.Fatalf("Resolve: %v, want the parse error", err)
			}
			if err := d.SetDefault(strings.Repeat("ab", 16)); err == nil {
				t.Fatal("SetDefault overwrote a config it could not read")
			}
			if b, _ := os.ReadFile(path); string(b) != tc.content {
				t.Fatalf("the malformed config was changed to %q", b)
			}
		})
	}
}

// An actor is shown by its label, else its ID; FindByLabel finds the
// oldest actor with a label, nil when none has it.
func TestLabels(t *testing.T) {
	d := newDir(t)
	plain := mustCreate(t, d, "", false, now)
	old := mustCreate(t, d, "reviewer", false, now.Add(time.Millisecond))
	mustCreate(t, d, "reviewer", false, now.Add(2*time.Millisecond))
	for _, tc := range []struct {
		a    *actor.Actor
		want string
	}{{plain, plain.ID.String()}, {old, "reviewer"}} {
		if got := tc.a.DisplayName(); got != tc.want {
			t.Errorf("DisplayName = %q, want %q", got, tc.want)
		}
	}
	for _, tc := range []struct {
		label string
		want  *actor.Actor
	}{{"reviewer", old}, {"nobody", nil}} {
		a, err := d.FindByLabel(tc.label)
		switch {
		case err != nil:
			t.Fatal(err)
		case tc.want == nil && a != nil:
			t.Errorf("FindByLabel(%q) = %s, want none", tc.label, a.ID)
		case tc.want != nil && (a == nil || a.ID != tc.want.ID):
			t.Errorf("FindByLabel(%q) = %v, want %s", tc.label, a, tc.want.ID)
		}
	}
}

// An actor made with a key keeps its seed in signing_key (owner-only) and
// its public key in config.toml; loading it gives the same key pair, and
// PublicKeys lists only actors that have a key.
func TestSigningKeys(t *testing.T) {
	d := newDir(t)
	signer := mustCreate(t, d, "signer", true, now)
	plain := mustCreate(t, d, "plain", false, now.Add(time.Millisecond))
	fi, err := os.Stat(filepath.Join(signer.DataDir, "signing_key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("signing_key: %v, mode %v, want 0600", err, fi.Mode().Perm())
	}
	loaded, err := d.Load(signer.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	pub := loaded.Config.PublicKeyBytes()
	if loaded.Key == nil || !pub.Equal(loaded.Key.Public()) || !loaded.Key.Equal(signer.Key) {
		t.Fatal("the loaded key pair differs from the one created")
	}
	if p, _ := d.Load(plain.ID.String()); p.Key != nil || p.Config.PublicKeyBytes() != nil {
		t.Fatal("an actor made without a key has one")
	}
	keys, err := d.PublicKeys()
	if err != nil || len(keys) != 1 || !keys[signer.ID].Equal(pub) {
		t.Fatalf("PublicKeys = %v (%v), want the signer's alone", keys, err)
	}

	writeFile(t, filepath.Join(signer.DataDir, "signing_key"), "not hex\n")
	if _, err := d.Load(signer.ID.String()); err == nil || !strings.Contains(err.Error(), "signing_key") {
		t.Fatalf("a damaged signing_key loaded: %v", err)
	}
}

// PublicKeyBytes is a key only for an Ed25519 scheme (or none named) and
// 32 bytes of hex.
func TestPublicKeyBytes(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	good := hex.EncodeToString(pub)
	for _, tc := range []struct {
		name string
		c    actor.Config
		ok   bool
	}{
		{"ed25519", actor.Config{PublicKey: good, KeyScheme: "ed25519"}, true},
		{"scheme in capitals", actor.Config{PublicKey: good, KeyScheme: "Ed25519"}, true},
		{"no scheme", actor.Config{PublicKey: good}, true},
		{"another scheme", actor.Config{PublicKey: good, KeyScheme: "rsa"}, false},
		{"not hex", actor.Config{PublicKey: "zz" + good[2:], KeyScheme: "ed25519"}, false},
		{"short", actor.Config{PublicKey: good[:62], KeyScheme: "ed25519"}, false},
		{"none", actor.Config{}, false},
	} {
		if got := tc.c.PublicKeyBytes(); (got != nil) != tc.ok || (tc.ok && !got.Equal(pub)) {
			t.Errorf("%s: PublicKeyBytes = %x, want key %v", tc.name, got, tc.ok)
		}
	}
}

// Policies read off, warn and require in any case; anything else is the
// default (warn for locks, off for signatures).
func TestPolicies(t *testing.T) {
	for _, tc := range []struct {
		value        string
		lock, verify actor.Policy
	}{
		{"", actor.PolicyWarn, actor.PolicyOff},
		{"off", actor.PolicyOff, actor.PolicyOff},
		{"WARN", actor.PolicyWarn, actor.PolicyWarn},
		{"require", actor.PolicyRequire, actor.PolicyRequire},
		{"strict", actor.PolicyWarn, actor.PolicyOff},
	} {
		c := actor.RepoConfig{LockPolicy: tc.value, VerifySignatures: tc.value}
		if c.LockPolicyValue() != tc.lock || c.VerifyPolicy() != tc.verify {
			t.Errorf("%q: lock %q verify %q, want %q %q", tc.value, c.LockPolicyValue(), c.VerifyPolicy(), tc.lock, tc.verify)
		}
	}
}

// List gives every complete actor oldest first, skipping what is not one
// (a half-created directory, a file, a name that is no actor ID);
// DataDirs lists the directories by name alone.
func TestListSkipsWhatIsNotAnActor(t *testing.T) {
	d := newDir(t)
	second := mustCreate(t, d, "second", false, now.Add(time.Second))
	first := mustCreate(t, d, "first", false, now)
	if err := os.MkdirAll(d.ActorDir(strings.Repeat("cd", 16)), 0o755); err != nil { // no config.toml
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(d.ActorDir("notes"), "config.toml"), "actor_id = \"x\"\n")
	writeFile(t, d.ActorDir(strings.Repeat("ef", 16)), "a file")
	all, err := d.List()
	if err != nil || len(all) != 2 || all[0].ID != first.ID || all[1].ID != second.ID {
		t.Fatalf("List = %v (%v), want first then second", all, err)
	}
	dirs, err := d.DataDirs()
	if err != nil || len(dirs) != 3 {
		t.Fatalf("DataDirs = %v (%v), want the two actors and the half-created one", dirs, err)
	}
	if empty, err := newDir(t).List(); err != nil || empty != nil {
		t.Fatalf("List of no actors directory: %v %v", empty, err)
	}
}

// An actor whose data a session holds is not removed; once released, it is.
func TestRemoveLeavesAnActorInUse(t *testing.T) {
	d := newDir(t)
	a := mustCreate(t, d, "busy", false, now)
	release, err := a.Hold()
	if err != nil {
		t.Fatal(err)
	}
	if used, err := d.InUse(a); err != nil || !used {
		t.Fatalf("InUse while held: %v %v", used, err)
	}
	if removed, err := d.Remove(a); err != nil || removed {
		t.Fatalf("Remove while held: %v %v", removed, err)
	}
	release()
	if used, err := d.InUse(a); err != nil || used {
		t.Fatalf("InUse after release: %v %v", used, err)
	}
	if removed, err := d.Remove(a); err != nil || !removed {
		t.Fatalf("Remove after release: %v %v", removed, err)
	}
	if _, err := os.Stat(a.DataDir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("data dir still there: %v", err)
	}
}
