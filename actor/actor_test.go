package actor_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// Find names an actor by full ID, label or unique ID prefix; a prefix of
// several is ambiguous (with the candidates), and a name of none is
// ErrNotFound.
func TestFindByIDLabelOrPrefix(t *testing.T) {
	d := actor.Dir(filepath.Join(t.TempDir(), "grite"))
	now := time.UnixMilli(1700000000000)
	var made []*actor.Actor
	for i, label := range []string{"bot1", "bot2", "bot2"} {
		a, err := d.Create(label, false, now.Add(time.Duration(i)*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, a)
	}
	// Seventeen actors: two of them share a first hex digit.
	firsts := map[string]bool{}
	shared := ""
	for i := range 17 {
		a, err := d.Create("", false, now.Add(time.Duration(10+i)*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, a)
	}
	for _, a := range made {
		if p := a.ID.String()[:1]; firsts[p] {
			shared = p
		} else {
			firsts[p] = true
		}
	}
	for _, tc := range []struct {
		name, text string
		want       *actor.Actor // nil: an error
	}{
		{"full ID", made[0].ID.String(), made[0]},
		{"full ID in capitals", strings.ToUpper(made[1].ID.String()), made[1]},
		{"label", "bot1", made[0]},
		{"label of two: the oldest", "bot2", made[1]},
		{"unique prefix", made[2].ID.String()[:24], made[2]},
		{"unknown", "nobody", nil},
		{"empty", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := d.Find(tc.text)
			if tc.want == nil {
				if !errors.Is(err, actor.ErrNotFound) {
					t.Fatalf("Find(%q) = %v, %v; want ErrNotFound", tc.text, a, err)
				}
				return
			}
			if err != nil || a.ID != tc.want.ID {
				t.Fatalf("Find(%q) = %v, %v; want %s", tc.text, a, err, tc.want.ID)
			}
		})
	}
	var amb *actor.AmbiguousError
	if _, err := d.Find(shared); !errors.As(err, &amb) || len(amb.Candidates) < 2 {
		t.Fatalf("Find(%q), a prefix of several: %v, want ambiguous", shared, err)
	}
}
