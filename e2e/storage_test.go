package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"grite/internal/testrepo"
)

var autoPack = []string{"GRITE_AUTO_PACK=1"}

// createAuto creates an issue with background packing on.
func createAuto(t *testing.T, dir, title string) {
	t.Helper()
	out, errOut, code := testrepo.RunGriteEnv(t, dir, autoPack, "issue", "create", "--title", title, "-q")
	if code != 0 {
		t.Errorf("create %q: exit %d\n%s%s", title, code, out, errOut)
	}
}

// untilPacked waits (bounded) until no grite packing runs and grite's
// loose objects are below the threshold again.
func untilPacked(t *testing.T, dir string) {
	t.Helper()
	grite := filepath.Join(gitDir(t, dir), "grite")
	deadline := time.Now().Add(60 * time.Second)
	for {
		fi, err := os.Stat(filepath.Join(grite, "loose-objects"))
		_, lockErr := os.Stat(filepath.Join(grite, "packs.lock"))
		if err == nil && fi.Size() < 128 && os.IsNotExist(lockErr) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("grite's objects were not packed in time (count file: %v, lock: %v)", err, lockErr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func looseCount(t *testing.T, dir string) int {
	t.Helper()
	for _, l := range strings.Split(testrepo.Git(t, dir, "count-objects", "-v"), "\n") {
		if n, ok := strings.CutPrefix(l, "count: "); ok {
			var c int
			for _, ch := range n {
				c = c*10 + int(ch-'0')
			}
			return c
		}
	}
	t.Fatal("no count in git count-objects")
	return 0
}

// Commands pack grite's loose objects by themselves, in the background:
// after 60 creates few objects are loose, git agrees the repository is
// sound, every issue is there, and the user's own loose object is left
// loose.
func TestCommandsPackGritesObjects(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	user := strings.TrimSpace(string(testrepo.GitStdin(t, dir, []byte("the user's own\n"), "hash-object", "-w", "--stdin")))
	for i := range 60 {
		createAuto(t, dir, "issue "+string(rune('a'+i%26)))
	}
	untilPacked(t, dir)
	if n := looseCount(t, dir); n > 128 {
		t.Fatalf("%d loose objects after 60 creates, want at most 128", n)
	}
	if _, err := os.Stat(filepath.Join(gitDir(t, dir), "objects", user[:2], user[2:])); err != nil {
		t.Fatalf("the user's loose object was moved: %v", err)
	}
	testrepo.Git(t, dir, "fsck", "--strict", "--no-dangling")
	if got := list(t, dir).Total; got != 60 {
		t.Fatalf("%d issues, want 60", got)
	}
	var gc struct {
		Objects int    `json:"objects"`
		Skipped string `json:"skipped"`
	}
	mustJSON(t, dir, &gc, "gc")
	mustJSON(t, dir, nil, "doctor")
}

// git's own maintenance (gc, repack -a -d, fetch) running while grite
// writes, packs and syncs loses nothing: fsck --strict is clean, the other
// clone gets every issue, and doctor finds the WAL whole.
func TestGitMaintenanceDuringGriteWrites(t *testing.T) {
	t.Parallel()
	_, clones := syncRemoteAndClones(t, 2)
	a, b := clones[0], clones[1]
	const n = 60
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range n {
			createAuto(t, a, "written during git's maintenance")
			if i%10 == 9 {
				if out, errOut, code := testrepo.RunGriteEnv(t, a, autoPack, "sync", "--json"); code != 0 {
					t.Errorf("sync: exit %d\n%s%s", code, out, errOut)
				}
			}
		}
	})
	wg.Go(func() {
		for i := range 6 {
			var err error
			switch i % 3 {
			case 0:
				_, err = testrepo.GitErr(a, "gc", "--quiet")
			case 1:
				_, err = testrepo.GitErr(a, "repack", "-a", "-d", "-q")
			case 2:
				_, err = testrepo.GitErr(a, "fetch", "-q", "origin")
			}
			if err != nil {
				t.Errorf("git maintenance %d: %v", i, err)
			}
		}
	})
	wg.Wait()
	untilPacked(t, a)
	testrepo.Git(t, a, "fsck", "--strict", "--no-dangling")
	mustSync(t, a)
	mustSync(t, b)
	for _, dir := range []string{a, b} {
		if got := list(t, dir).Total; got != n {
			t.Fatalf("%d issues in %s, want %d", got, dir, n)
		}
	}
	mustJSON(t, a, nil, "doctor")
	testrepo.Git(t, b, "fsck", "--strict", "--no-dangling")
}
