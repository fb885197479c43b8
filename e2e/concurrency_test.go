package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pelletier/go-toml/v2"

	"grite/internal/testrepo"
)

// runLoops runs loops goroutines at once, each spawning n grite processes
// one after another (args(loop, i) gives their arguments), and returns the
// failed runs.
func runLoops(t *testing.T, dir string, loops, n int, args func(loop, i int) []string) []result {
	t.Helper()
	testrepo.BuildBinaries(t) // once, on the test goroutine
	var (
		mu     sync.Mutex
		failed []result
		wg     sync.WaitGroup
		start  = make(chan struct{})
	)
	for l := range loops {
		wg.Go(func() {
			<-start
			for i := range n {
				a := args(l, i)
				out, errOut, code := testrepo.RunGrite(t, dir, a...)
				if code != 0 {
					mu.Lock()
					failed = append(failed, result{a, out, errOut, code})
					mu.Unlock()
				}
			}
		})
	}
	close(start)
	wg.Wait()
	return failed
}

func requireNoFailures(t *testing.T, failed []result) {
	t.Helper()
	if len(failed) > 0 {
		t.Fatalf("%d commands failed; first:\n%s", len(failed), failed[0])
	}
}

// walCommit is one commit of refs/grite/wal as git sees it.
type walCommit struct {
	hash, parent string // parent is "" for the root
	prevWAL      string // meta.json's prev_wal, "" for null
	actor        string
}

// walCommits reads every WAL commit with its git parents and meta.json,
// using two git processes whatever the length of the WAL.
func walCommits(t *testing.T, dir string) []walCommit {
	t.Helper()
	var commits []walCommit
	var objects []string
	for _, line := range strings.Split(testrepo.Git(t, dir, "rev-list", "--parents", "refs/grite/wal"), "\n") {
		f := strings.Fields(line)
		c := walCommit{hash: f[0]}
		switch len(f) {
		case 1:
		case 2:
			c.parent = f[1]
		default:
			t.Fatalf("WAL commit %s has %d parents", f[0], len(f)-1)
		}
		commits = append(commits, c)
		objects = append(objects, c.hash+":meta.json")
	}
	for i, b := range catBatch(t, dir, objects) {
		var meta struct {
			SchemaVersion int     `json:"schema_version"`
			ActorID       string  `json:"actor_id"`
			ChunkHash     string  `json:"chunk_hash"`
			PrevWAL       *string `json:"prev_wal"`
		}
		if err := jsonUnmarshal(b, &meta); err != nil {
			t.Fatalf("%s:meta.json: %v\n%s", commits[i].hash, err, b)
		}
		if meta.SchemaVersion != 1 || len(meta.ChunkHash) != 64 || len(meta.ActorID) != 32 {
			t.Fatalf("%s:meta.json: %s", commits[i].hash, b)
		}
		if meta.PrevWAL != nil {
			commits[i].prevWAL = *meta.PrevWAL
		}
		commits[i].actor = meta.ActorID
	}
	return commits
}

// requireLinearWAL checks that the WAL has want commits, no merges, and
// that every commit's meta.json prev_wal is its git parent.
func requireLinearWAL(t *testing.T, dir string, want int) []walCommit {
	t.Helper()
	if got := walCount(t, dir); got != want {
		t.Fatalf("git rev-list --count refs/grite/wal = %d, want %d", got, want)
	}
	if merges := testrepo.Git(t, dir, "rev-list", "--merges", "refs/grite/wal"); merges != "" {
		t.Fatalf("merge commits in the WAL: %s", merges)
	}
	commits := walCommits(t, dir)
	for _, c := range commits {
		if c.prevWAL != c.parent {
			t.Fatalf("commit %s: meta.json prev_wal %q, git parent %q", c.hash, c.prevWAL, c.parent)
		}
	}
	return commits
}

func TestConcurrentCreatesInOneRepoLoseNothing(t *testing.T) {
	t.Parallel()
	const procs = 8
	per := 50
	if testing.Short() {
		per = 15
	}
	dir, _ := newRepo(t)
	failed := runLoops(t, dir, procs, per, func(loop, i int) []string {
		return []string{"issue", "create", "--title", fmt.Sprintf("p%d-%d", loop, i), "--quiet"}
	})
	requireNoFailures(t, failed)

	issues := list(t, dir).Issues
	if len(issues) != procs*per {
		t.Fatalf("%d issues listed, want %d", len(issues), procs*per)
	}
	titles := map[string]bool{}
	for _, i := range issues {
		titles[i.Title] = true
	}
	for l := range procs {
		for i := range per {
			if !titles[fmt.Sprintf("p%d-%d", l, i)] {
				t.Fatalf("issue p%d-%d missing", l, i)
			}
		}
	}
	requireLinearWAL(t, dir, procs*per)
	requireHealthy(t, dir)
}

func TestTwoActorsWritingAtOnce(t *testing.T) {
	t.Parallel()
	per := 30
	if testing.Short() {
		per = 10
	}
	dir := testrepo.New(t)
	var actors [2]string
	for i := range actors {
		var a struct {
			ActorID string `json:"actor_id"`
		}
		mustJSON(t, dir, &a, "actor", "init", "--label", fmt.Sprintf("agent-%d", i))
		actors[i] = a.ActorID
	}
	if actors[0] == actors[1] {
		t.Fatal("two actor inits gave one ID")
	}
	failed := runLoops(t, dir, len(actors), per, func(loop, i int) []string {
		return []string{"--actor", actors[loop], "issue", "create", "--title", fmt.Sprintf("a%d-%d", loop, i), "-q"}
	})
	requireNoFailures(t, failed)

	// Each actor's own view sees every issue.
	for _, a := range actors {
		if n := len(list(t, dir, "--actor", a).Issues); n != 2*per {
			t.Fatalf("actor %s lists %d issues, want %d", a, n, 2*per)
		}
	}
	perActor := map[string]int{}
	for _, c := range requireLinearWAL(t, dir, 2*per) {
		perActor[c.actor]++
	}
	var export struct {
		Events []eventJSON `json:"events"`
	}
	mustJSON(t, dir, &export, "--actor", actors[1], "export", "--format", "json")
	created := map[string]int{}
	for _, e := range export.Events {
		if e.kindName() == "IssueCreated" {
			created[e.Actor]++
		}
	}
	for _, a := range actors {
		if perActor[a] != per || created[a] != per {
			t.Fatalf("actor %s: %d WAL commits and %d IssueCreated events, want %d", a, perActor[a], created[a], per)
		}
	}
}

func TestConcurrentFirstCommandsAgreeOnOneActor(t *testing.T) {
	t.Parallel()
	const procs = 6
	dir := testrepo.New(t)
	if len(actorDirs(t, dir)) != 0 {
		t.Fatal("fresh repo has actors")
	}
	failed := runLoops(t, dir, procs, 1, func(loop, i int) []string {
		return []string{"issue", "create", "--title", fmt.Sprintf("first-%d", loop), "--json"}
	})
	requireNoFailures(t, failed)

	actors := actorDirs(t, dir)
	if len(actors) != 1 {
		t.Fatalf("%d actor directories after concurrent first commands: %v", len(actors), actors)
	}
	var cfg struct {
		DefaultActor string `toml:"default_actor"`
	}
	b, err := os.ReadFile(filepath.Join(gitDir(t, dir), "grite", "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := toml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.DefaultActor != actors[0] {
		t.Fatalf("default_actor %q, actor dir %s", cfg.DefaultActor, actors[0])
	}
	if n := len(list(t, dir).Issues); n != procs {
		t.Fatalf("%d issues, want %d", n, procs)
	}
	for _, c := range requireLinearWAL(t, dir, procs) {
		if c.actor != actors[0] {
			t.Fatalf("WAL commit by %s, not the one actor %s", c.actor, actors[0])
		}
	}
	var cur struct {
		ActorID string `json:"actor_id"`
		Source  string `json:"source"`
	}
	mustJSON(t, dir, &cur, "actor", "current")
	if cur.ActorID != actors[0] || cur.Source != "repo_default" {
		t.Fatalf("actor current: %+v", cur)
	}
}
