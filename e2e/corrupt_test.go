package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"grite/internal/testrepo"
)

type doctorOutput struct {
	Healthy bool `json:"healthy"`
	Checks  []struct {
		Name    string `json:"name"`
		OK      bool   `json:"ok"`
		Message string `json:"message"`
		Code    string `json:"code,omitempty"`
		Commit  string `json:"commit,omitempty"`
	} `json:"checks"`
	Fixed bool `json:"fixed"`
}

// doctor runs grite doctor --json and returns its report and exit code.
func doctor(t *testing.T, dir string, extra ...string) (doctorOutput, result) {
	t.Helper()
	env, r := gjson(t, dir, append([]string{"doctor"}, extra...)...)
	if !env.OK {
		t.Fatalf("doctor failed instead of reporting\n%s", r)
	}
	var out doctorOutput
	if err := jsonUnmarshal(env.Data, &out); err != nil {
		t.Fatal(err)
	}
	return out, r
}

// requireFailingCheck fails unless doctor reported check name as failed
// with code and (when commit is set) naming commit.
func requireFailingCheck(t *testing.T, out doctorOutput, r result, name, code, commit string) {
	t.Helper()
	if out.Healthy || r.code == 0 {
		t.Fatalf("doctor says healthy (exit %d) on a broken WAL\n%s", r.code, r)
	}
	for _, c := range out.Checks {
		if c.Name == name && !c.OK && c.Code == code && (commit == "" || c.Commit == commit) {
			return
		}
	}
	t.Fatalf("doctor has no failing %s check with code %s naming %s\n%s", name, code, commit, r)
}

// requireHealthy fails unless doctor passes every check with exit 0.
func requireHealthy(t *testing.T, dir string) doctorOutput {
	t.Helper()
	out, r := doctor(t, dir)
	if !out.Healthy || r.code != 0 {
		t.Fatalf("doctor not healthy\n%s", r)
	}
	for _, c := range out.Checks {
		if !c.OK {
			t.Fatalf("doctor check %s failed\n%s", c.Name, r)
		}
	}
	return out
}

// writeGarbageWALCommit builds, with git plumbing only, a WAL commit whose
// meta.json is valid and names prev as prev_wal but whose chunk is garbage,
// and returns its hash.
func writeGarbageWALCommit(t *testing.T, dir, prev, actorID string) string {
	t.Helper()
	return writeChunkCommit(t, dir, prev, handChunk{actor: actorID, dir: "events/2024/01/01", data: []byte("GRITECNK this is not a chunk \x00\x01\x02\xff")})
}

func TestCorruptWALChunkKeepsEarlierIssuesAndDoctorNamesTheCommit(t *testing.T) {
	t.Parallel()
	dir, actorID := newRepo(t)
	ids := []string{create(t, dir, "one"), create(t, dir, "two"), create(t, dir, "three")}
	prev := walHead(t, dir)
	bad := writeGarbageWALCommit(t, dir, prev, actorID)
	testrepo.Git(t, dir, "update-ref", "refs/grite/wal", bad, prev)
	commits := walCount(t, dir)

	_, r := gjson(t, dir, "issue", "list")
	if r.code != 0 {
		t.Fatalf("list over a corrupt WAL head failed\n%s", r)
	}
	if !strings.Contains(r.stderr, "warning") || !strings.Contains(r.stderr, bad) {
		t.Fatalf("no warning naming %s on stderr\n%s", bad, r)
	}
	requireIDs(t, dir, ids)

	out, r := doctor(t, dir)
	requireFailingCheck(t, out, r, "wal", "wal_error", bad)
	// Human doctor output fails too, and names the commit.
	if h := grite(t, dir, "doctor"); h.code == 0 || !strings.Contains(h.stdout+h.stderr, bad) {
		t.Fatalf("human doctor does not fail naming %s\n%s", bad, h)
	}

	// Writing still works on top, and nothing is lost; doctor --fix never
	// touches refs.
	ids = append(ids, create(t, dir, "four"))
	requireIDs(t, dir, ids)
	head := walHead(t, dir)
	if _, r := doctor(t, dir, "--fix"); r.code == 0 {
		t.Fatalf("doctor --fix cannot repair a WAL and must not say so\n%s", r)
	}
	if walHead(t, dir) != head || walCount(t, dir) != commits+1 {
		t.Fatal("doctor --fix moved the WAL ref")
	}
	requireIDs(t, dir, ids)
}

func TestWALRefToMissingObjectWarnsAndKeepsTheView(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	ids := []string{create(t, dir, "one"), create(t, dir, "two")}
	missing := randomHex(t, 20)
	ref := filepath.Join(gitDir(t, dir), "refs", "grite", "wal")
	if err := os.WriteFile(ref, []byte(missing+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	_, r := gjson(t, dir, "issue", "list")
	if r.code != 0 || !strings.Contains(r.stderr, missing) {
		t.Fatalf("want the earlier view and a warning naming %s\n%s", missing, r)
	}
	requireIDs(t, dir, ids)
	var show showOutput
	mustJSON(t, dir, &show, "issue", "show", ids[0][:8])
	if show.Issue.Title != "one" {
		t.Fatalf("show: %+v", show.Issue)
	}
	out, r := doctor(t, dir)
	requireFailingCheck(t, out, r, "wal", "wal_error", missing)
	if got, _ := os.ReadFile(ref); strings.TrimSpace(string(got)) != missing {
		t.Fatalf("the WAL ref was rewritten to %q", got)
	}
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// viewPath is the clone's view, which all its actors share.
func viewPath(t *testing.T, dir string) string {
	t.Helper()
	return filepath.Join(gitDir(t, dir), "grite", "view.db")
}

// removeViewFiles removes the view at db with its -wal and -shm files.
func removeViewFiles(t *testing.T, db string) {
	t.Helper()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(db + suffix); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
}

func TestViewIsRebuiltSilentlyWhenMissingOrGarbage(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	ids := []string{create(t, dir, "one", "--label", "a"), create(t, dir, "two")}
	mustJSON(t, dir, nil, "issue", "comment", ids[0], "--body", "hello")
	mustJSON(t, dir, nil, "issue", "close", ids[1])
	want := list(t, dir)
	commits := walCount(t, dir)
	db := viewPath(t, dir)

	for _, tc := range []struct {
		name   string
		break_ func(t *testing.T)
	}{
		{"deleted", func(t *testing.T) {
			removeViewFiles(t, db)
			if _, err := os.Stat(db); !os.IsNotExist(err) {
				t.Fatal("view.db still there")
			}
		}},
		{"garbage", func(t *testing.T) {
			for _, suffix := range []string{"-wal", "-shm"} {
				os.Remove(db + suffix)
			}
			if err := os.WriteFile(db, []byte(strings.Repeat("not a database\x00\xff", 512)), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"truncated", func(t *testing.T) {
			for _, suffix := range []string{"-wal", "-shm"} {
				os.Remove(db + suffix)
			}
			if err := os.Truncate(db, 100); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.break_(t)
			r := mustJSON(t, dir, nil, "issue", "list")
			if r.stderr != "" {
				t.Fatalf("rebuild was not silent\n%s", r)
			}
			if got := list(t, dir); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("after rebuild:\n%+v\nwant\n%+v", got, want)
			}
			if walCount(t, dir) != commits {
				t.Fatal("the WAL changed")
			}
			requireHealthy(t, dir)
		})
	}
}

// A create whose view cannot be opened at all (a directory where the file
// belongs, so it cannot be recreated either) still writes the issue: the
// view is a cache, so the command succeeds and warns on stderr. Once the
// obstacle is gone the view is rebuilt with it.
func TestCreateWithAnUnopenableView(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	first := create(t, dir, "before")
	db := viewPath(t, dir)
	removeViewFiles(t, db)
	if err := os.MkdirAll(filepath.Join(db, "in-the-way"), 0o755); err != nil {
		t.Fatal(err)
	}
	var w writeResult
	r := mustJSON(t, dir, &w, "issue", "create", "--title", "written anyway")
	if !strings.Contains(r.stderr, "view could not be opened") || !strings.Contains(r.stderr, "doctor --fix") {
		t.Fatalf("no warning about the view\n%s", r)
	}
	if walHead(t, dir) != w.WALHead {
		t.Fatalf("WAL at %s, create reported %s", walHead(t, dir), w.WALHead)
	}
	if err := os.RemoveAll(db); err != nil {
		t.Fatal(err)
	}
	requireIDs(t, dir, []string{first, w.IssueID})
}
