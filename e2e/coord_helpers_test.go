package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"grite/internal/testrepo"
)

// Helpers of the coordination tests (claims, locks, dependencies, ready).

// coordActor is an actor made with `grite actor init --label`.
type coordActor struct {
	ID    string
	Label string
}

// as prefixes args with --actor so the command runs as this actor.
func (a coordActor) as(args ...string) []string {
	return append([]string{"--actor", a.ID}, args...)
}

// coordActors creates one labelled actor per label (the repository default
// stays as it was).
func coordActors(t *testing.T, dir string, labels ...string) []coordActor {
	t.Helper()
	var out []coordActor
	for _, label := range labels {
		var info struct {
			ActorID string `json:"actor_id"`
			Label   string `json:"label"`
		}
		mustJSON(t, dir, &info, "actor", "init", "--label", label)
		if len(info.ActorID) != 32 || info.Label != label {
			t.Fatalf("actor init --label %s: %+v", label, info)
		}
		out = append(out, coordActor{ID: info.ActorID, Label: label})
	}
	return out
}

// coordRunAll starts every command at once (released together by one
// channel) and returns the finished processes in the order given. The
// binary must already be built (any earlier grite call on the test's own
// goroutine does that).
func coordRunAll(t *testing.T, dir string, argvs [][]string) []result {
	t.Helper()
	out := make([]result, len(argvs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, argv := range argvs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			stdout, stderr, code := testrepo.RunGrite(t, dir, argv...)
			out[i] = result{argv, stdout, stderr, code}
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// coordLock is the lock.json a lock ref points at.
type coordLock struct {
	Owner         string `json:"owner"`
	Nonce         string `json:"nonce"`
	ExpiresUnixMS uint64 `json:"expires_unix_ms"`
	Resource      string `json:"resource"`
}

// coordLockRefName computes the ref of a resource independently of the
// lock package: refs/grite/locks/ + hex of the first 8 bytes of SHA-256.
func coordLockRefName(resource string) string {
	sum := sha256.Sum256([]byte(resource))
	return "refs/grite/locks/" + hex.EncodeToString(sum[:8])
}

// coordReadLock reads a resource's lock ref with git (ok false when absent)
// and returns its lock.json and the commit it points at.
func coordReadLock(t *testing.T, dir, resource string) (l coordLock, commit string, ok bool) {
	t.Helper()
	ref := coordLockRefName(resource)
	commit, err := testrepo.GitErr(dir, "rev-parse", "--verify", "-q", ref)
	if err != nil {
		return coordLock{}, "", false
	}
	if err := json.Unmarshal([]byte(testrepo.Git(t, dir, "cat-file", "-p", ref+":lock.json")), &l); err != nil {
		t.Fatalf("%s: lock.json: %v", ref, err)
	}
	if l.Resource != resource {
		t.Fatalf("%s holds the lock of %q, want %q", ref, l.Resource, resource)
	}
	return l, commit, true
}

// coordLockRefs lists every lock ref.
func coordLockRefs(t *testing.T, dir string) []string {
	t.Helper()
	out := testrepo.Git(t, dir, "for-each-ref", "--format=%(refname)", "refs/grite/locks/")
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

// coordLockCommits is the length of a lock ref's history.
func coordLockCommits(t *testing.T, dir, resource string) string {
	t.Helper()
	return testrepo.Git(t, dir, "rev-list", "--count", coordLockRefName(resource))
}

// coordSetLockPolicy writes lock_policy into .git/grite/config.toml, keeping
// the other keys; an empty policy removes the key (default: warn).
func coordSetLockPolicy(t *testing.T, dir, policy string) {
	t.Helper()
	path := filepath.Join(gitDir(t, dir), "grite", "config.toml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "lock_policy") {
			keep = append(keep, line)
		}
	}
	text := strings.Join(keep, "\n")
	if policy != "" {
		// Top-level keys go before any [table], so put it first.
		text = "lock_policy = \"" + policy + "\"\n" + text
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// coordClaim is the data of `grite issue claim --json`.
type coordClaim struct {
	IssueID       string         `json:"issue_id"`
	Title         string         `json:"title"`
	Resource      string         `json:"resource"`
	Owner         string         `json:"owner"`
	Assignee      string         `json:"assignee"`
	ExpiresUnixMS uint64         `json:"expires_unix_ms"`
	AlreadyHeld   bool           `json:"already_held"`
	TookOverFrom  string         `json:"took_over_from,omitempty"`
	EventIDs      []string       `json:"event_ids"`
	WALHead       string         `json:"wal_head"`
	Previous      *previousClaim `json:"previous,omitempty"`
}

// previousClaim is the claim an issue had before: who, how it ended, and
// the holder's latest handoff and comment.
type previousClaim struct {
	Actor       string       `json:"actor"`
	Label       string       `json:"label,omitempty"`
	EndedTS     uint64       `json:"ended_ts"`
	How         string       `json:"how"`
	Handoff     *handoffJSON `json:"handoff,omitempty"`
	LastComment *comment     `json:"last_comment,omitempty"`
}

// coordLockData is the data of `grite lock acquire|renew|release --json`.
type coordLockData struct {
	Lock struct {
		Resource      string `json:"resource"`
		Owner         string `json:"owner"`
		Nonce         string `json:"nonce"`
		ExpiresUnixMS uint64 `json:"expires_unix_ms"`
		Live          bool   `json:"live"`
	} `json:"lock"`
}

// readyOutput is the data of `grite issue ready --json`.
type readyOutput struct {
	Issues []summary `json:"issues"`
}

// coordReady returns the IDs `grite issue ready --json` lists, in order.
func coordReady(t *testing.T, dir string, args ...string) []string {
	t.Helper()
	var out readyOutput
	mustJSON(t, dir, &out, append(args, "issue", "ready")...)
	ids := []string{}
	for _, i := range out.Issues {
		ids = append(ids, i.IssueID)
	}
	return ids
}

// coordRequireReady fails unless the ready queue is exactly want, in order.
func coordRequireReady(t *testing.T, dir string, want []string, args ...string) {
	t.Helper()
	if got := coordReady(t, dir, args...); !slices.Equal(got, want) {
		t.Fatalf("ready %v\nwant  %v", got, want)
	}
}

// coordShow returns `grite issue show --json`.
func coordShow(t *testing.T, dir, id string) showOutput {
	t.Helper()
	var out showOutput
	mustJSON(t, dir, &out, "issue", "show", id)
	return out
}

// coordCountKind counts an issue's events of one kind.
func coordCountKind(s showOutput, kind string) int {
	n := 0
	for _, e := range s.Events {
		if e.kindName() == kind {
			n++
		}
	}
	return n
}

// coordRequireConflict checks a conflict's details name the holder (and,
// when expires is not zero, the lock's expiry).
func coordRequireConflict(t *testing.T, e errorObject, holder string, expires uint64) {
	t.Helper()
	if got, _ := e.Details["holder"].(string); got != holder {
		t.Fatalf("conflict names holder %v, want %s: %+v", e.Details["holder"], holder, e)
	}
	f, ok := e.Details["expires_unix_ms"].(float64)
	if !ok || f <= 0 {
		t.Fatalf("conflict without expires_unix_ms: %+v", e)
	}
	if expires != 0 && uint64(f) != expires {
		t.Fatalf("conflict expires_unix_ms %d, want %d", uint64(f), expires)
	}
}
