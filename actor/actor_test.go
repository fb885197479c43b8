package actor_test

import (
	"os"
	"path/filepath"
	"testing"

	"grite/actor"
)

// TestLoadDataDir reads config.toml files as a user or the original grite
// may leave them: keys this version does not know are ignored, and a
// config that cannot name a valid actor is refused with the file named.
func TestLoadDataDir(t *testing.T) {
	const id = "0123456789abcdef0123456789abcdef"
	cases := []struct {
		name   string
		config string
		ok     bool
	}{
		{"plain", "actor_id = \"" + id + "\"\nlabel = \"agent\"\ncreated_ts = 1700000000000\n", true},
		{"single quotes and unknown keys", "actor_id = '" + id + "'\nhome = \"x\"\n[extra]\na = 1\n", true},
		{"byte-order mark and CRLF", "\ufeffactor_id = \"" + id + "\"\r\nlabel = \"x\"\r\n", true},
		{"negative created_ts", "actor_id = \"" + id + "\"\ncreated_ts = -5\n", false},
		{"no actor_id", "label = \"agent\"\n", false},
		{"short actor_id", "actor_id = \"0123\"\n", false},
		{"not TOML", "actor_id = \n", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(c.config), 0o644); err != nil {
				t.Fatal(err)
			}
			a, err := actor.LoadDataDir(dir)
			if !c.ok {
				if err == nil {
					t.Fatalf("accepted: %+v", a.Config)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.ID.String() != id {
				t.Fatalf("actor %s, want %s", a.ID, id)
			}
		})
	}
}
