package actor_test

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/pelletier/go-toml/v2"

	"grite/actor"
	"grite/event"
)

// FuzzLoadConfigTOML writes arbitrary bytes as config.toml into one
// directory and loads it both as an actor's config (actor.LoadDataDir) and
// as the repository config (Dir.LoadRepoConfig), which read the same file
// name. Neither may panic. An accepted actor has the ID its actor_id names
// and a public key that is absent or 32 bytes; accepted policies are one of
// off, warn, require; and each accepted config survives the encoder the
// package writes with: encode, decode, equal. Seeds:
// testdata/fuzz/FuzzLoadConfigTOML.
func FuzzLoadConfigTOML(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, "config.toml")
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if a, err := actor.LoadDataDir(dir); err == nil {
			id, err := event.ParseActorID(a.Config.ActorID)
			if err != nil || id != a.ID {
				t.Fatalf("actor %s loaded from actor_id %q (%v)", a.ID, a.Config.ActorID, err)
			}
			if pk := a.Config.PublicKeyBytes(); pk != nil && len(pk) != ed25519.PublicKeySize {
				t.Fatalf("public key of %d bytes", len(pk))
			}
			if a.Key != nil {
				t.Fatal("a signing key appeared without a signing_key file")
			}
			var again actor.Config
			requireTOMLRoundTrip(t, a.Config, &again)
		}
		if c, err := actor.Dir(dir).LoadRepoConfig(); err == nil {
			for _, p := range []actor.Policy{c.LockPolicyValue(), c.VerifyPolicy()} {
				if p != actor.PolicyOff && p != actor.PolicyWarn && p != actor.PolicyRequire {
					t.Fatalf("policy %q", p)
				}
			}
			var again actor.RepoConfig
			requireTOMLRoundTrip(t, c, &again)
		}
	})
}

// requireTOMLRoundTrip encodes v as the package does when it writes a
// config and requires that decoding gives v back into out.
func requireTOMLRoundTrip[T any](t *testing.T, v T, out *T) {
	t.Helper()
	b, err := toml.Marshal(v)
	if err != nil {
		t.Fatalf("encode %+v: %v", v, err)
	}
	if err := toml.Unmarshal(b, out); err != nil {
		t.Fatalf("decode what was encoded from %+v: %v\n%s", v, err, b)
	}
	if !reflect.DeepEqual(*out, v) {
		t.Fatalf("round trip changed the config:\n%+v\n%+v\n%s", v, *out, b)
	}
}
