package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"grite/internal/testrepo"
)

// transports are the ways these tests reach a bare remote that git
// fetches from through upload-pack, honouring filters and depth: a
// file:// URL, and git:// from a loopback git daemon. (A plain path
// makes git clone copy the repository, ignoring --filter.)
var transports = []string{"file", "git"}

// remoteURL serves the bare repository bare over the transport.
func remoteURL(t *testing.T, transport, bare string) string {
	t.Helper()
	switch transport {
	case "file":
		return "file://" + bare
	case "git":
		port := startGitDaemon(t, filepath.Dir(bare))
		return fmt.Sprintf("git://127.0.0.1:%d/%s", port, filepath.Base(bare))
	}
	t.Fatalf("unknown transport %q", transport)
	return ""
}

// remoteWithHistory makes a bare remote whose main branch has three
// commits, each changing README (so a clone filtered with blob:none, or
// cut to depth 1, lacks the older versions), and returns its path.
// filters says whether it serves filtered fetches (uploadpack.allowFilter)
// and fetches of objects by ID (uploadpack.allowAnySHA1InWant, which
// protocol version 0 needs; version 2 allows them anyway).
func remoteWithHistory(t *testing.T, filters bool) string {
	t.Helper()
	bare := testrepo.NewBare(t)
	testrepo.Git(t, bare, "symbolic-ref", "HEAD", "refs/heads/main")
	if filters {
		testrepo.Git(t, bare, "config", "uploadpack.allowFilter", "true")
		testrepo.Git(t, bare, "config", "uploadpack.allowAnySHA1InWant", "true")
	}
	seed := testrepo.New(t)
	for i := 2; i <= 3; i++ {
		if err := os.WriteFile(filepath.Join(seed, "README"), []byte(fmt.Sprintf("version %d\n", i)), 0o644); err != nil {
			t.Fatal(err)
		}
		testrepo.Git(t, seed, "commit", "-q", "-am", fmt.Sprintf("version %d", i))
	}
	testrepo.Git(t, seed, "push", "-q", bare, "main")
	return bare
}

// cloneWith clones url into a new directory with git's extra flags.
func cloneWith(t *testing.T, url string, flags ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "clone")
	testrepo.Git(t, ".", append(append([]string{"clone", "-q"}, flags...), url, dir)...)
	return dir
}

// missingObjects lists the objects reachable from revs that are missing
// in the repository at dir (git does not fetch them for this).
func missingObjects(t *testing.T, dir string, revs ...string) []string {
	t.Helper()
	out := testrepo.Git(t, dir, append([]string{"rev-list", "--objects", "--missing=print"}, revs...)...)
	var missing []string
	for _, l := range strings.Split(out, "\n") {
		if id, ok := strings.CutPrefix(l, "?"); ok {
			missing = append(missing, id)
		}
	}
	return missing
}

// requireFsckClean fails unless git fsck finds nothing wrong in dir.
func requireFsckClean(t *testing.T, dir string) {
	t.Helper()
	if out := testrepo.Git(t, dir, "fsck", "--no-dangling"); out != "" {
		t.Fatalf("git fsck in %s:\n%s", dir, out)
	}
}

// issuesWithBodies creates n issues with a body and a comment each in
// dir (their blobs are what a blob:none clone leaves out) and returns
// their IDs.
func issuesWithBodies(t *testing.T, dir, prefix string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		id := create(t, dir, fmt.Sprintf("%s %d", prefix, i), "--body", fmt.Sprintf("the body of %s %d", prefix, i))
		mustJSON(t, dir, nil, "issue", "comment", id, "--body", "a comment on "+id)
		ids = append(ids, id)
	}
	return ids
}

// requireBody fails unless issue show in dir gives the issue's body.
func requireBody(t *testing.T, dir, id, body string) {
	t.Helper()
	var d struct {
		Issue struct {
			Body string `json:"body"`
		} `json:"issue"`
	}
	mustJSON(t, dir, &d, "issue", "show", id)
	if d.Issue.Body != body {
		t.Fatalf("issue %s in %s has body %q, want %q", id, dir, d.Issue.Body, body)
	}
}

// A partial clone (--filter=blob:none, over transports that honour the
// filter) pulls issues another clone pushed, shows them whole, and
// pushes its own: grite's fetch asks for the grite refs' objects
// unfiltered, where git's would leave every blob out.
func TestSyncInPartialClone(t *testing.T) {
	t.Parallel()
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			bare, a, p, ids := partialBeside(t, transport, 3)
			if got := testrepo.Git(t, p, "config", "remote.origin.promisor"); got != "true" {
				t.Fatalf("remote.origin.promisor = %q: not a partial clone", got)
			}
			if len(missingObjects(t, p, "HEAD")) == 0 {
				t.Fatal("the clone lacks no blob of main's history: the filter was not honoured")
			}
			if out := mustSync(t, p); out.EventsPulled != 6 {
				t.Fatalf("partial clone's first sync: %+v, want 6 events pulled", out)
			}
			requireIDs(t, p, ids)
			requireBody(t, p, ids[0], "the body of from a 0")
			if m := missingObjects(t, p, "refs/grite/wal"); len(m) != 0 {
				t.Fatalf("the WAL lacks %d objects after the sync: %v", len(m), m)
			}

			// More from a; then p's own issue goes out and comes back to a.
			more := issuesWithBodies(t, a, "later from a", 1)
			mustSync(t, a)
			mine := create(t, p, "from the partial clone", "--body", "written in p")
			if out := mustSync(t, p); out.EventsPulled != 2 || out.EventsPushed == 0 {
				t.Fatalf("partial clone's second sync: %+v", out)
			}
			mustSync(t, a)
			all := append(append(ids, more...), mine)
			requireIDs(t, a, all)
			requireIDs(t, p, all)
			requireBody(t, a, mine, "written in p")
			requireBody(t, p, more[0], "the body of later from a 0")
			requireFsckClean(t, p)
			requireFsckClean(t, bare)
		})
	}
}

// A partial clone whose grite refs were fetched with the clone's filter
// (git fetch of refs/grite/*, or a grite before this one) holds WAL
// commits without their blobs. grite sync lists the missing objects and
// fetches them through git, then merges.
func TestSyncRepairsFilteredGriteRefs(t *testing.T) {
	t.Parallel()
	_, _, p, ids := partialBeside(t, "file", 2)
	testrepo.Git(t, p, "fetch", "-q", "origin", "+refs/grite/wal:refs/grite/remotes/origin/wal")
	if len(missingObjects(t, p, "refs/grite/remotes/origin/wal")) == 0 {
		t.Fatal("the filtered fetch of the WAL left no blob out")
	}
	if out := mustSync(t, p); out.EventsPulled != 4 {
		t.Fatalf("sync: %+v, want 4 events pulled", out)
	}
	requireIDs(t, p, ids)
	requireBody(t, p, ids[1], "the body of from a 1")
	if m := missingObjects(t, p, "refs/grite/wal", "refs/grite/remotes/origin/wal"); len(m) != 0 {
		t.Fatalf("%d objects still missing: %v", len(m), m)
	}
	requireFsckClean(t, p)
}

// When the remote will not give objects by ID (protocol version 0 without
// uploadpack.allowAnySHA1InWant), a partial clone that lacks objects of
// the WAL is reported as such: a limitation of the clone, never a bad
// commit of the remote's or of whoever pushed it. Nothing is merged, and
// the remedy the error gives works.
func TestSyncReportsPartialCloneLimitation(t *testing.T) {
	t.Parallel()
	bare := remoteWithHistory(t, false)
	testrepo.Git(t, bare, "config", "uploadpack.allowFilter", "true")
	url := remoteURL(t, "file", bare)
	a := cloneWith(t, url)
	ids := issuesWithBodies(t, a, "from a", 2)
	mustSync(t, a)

	p := cloneWith(t, url, "--filter=blob:none")
	testrepo.Git(t, p, "config", "protocol.version", "0")
	testrepo.Git(t, p, "fetch", "-q", "origin", "+refs/grite/wal:refs/grite/remotes/origin/wal")
	if len(missingObjects(t, p, "refs/grite/remotes/origin/wal")) == 0 {
		t.Fatal("the filtered fetch of the WAL left no blob out")
	}
	e := mustFail(t, p, "git_error", 1, "sync")
	for _, want := range []string{"partial clone", "missing here", `"origin"`} {
		if !strings.Contains(e.Message, want) {
			t.Fatalf("message %q does not say %q", e.Message, want)
		}
	}
	said := fmt.Sprint(e.Message, e.Details)
	for _, blame := range []string{"invalid commit", "whoever pushed", "corrupt", "grite version"} {
		if strings.Contains(said, blame) {
			t.Fatalf("the error blames the remote (%q): %s", blame, said)
		}
	}
	if walCount(t, p) != 0 {
		t.Fatal("a failed sync merged history")
	}
	var remedy string
	for _, s := range e.Details["suggestions"].([]any) {
		if _, cmd, ok := strings.Cut(s.(string), "git 2.36 or later: "); ok {
			remedy, _, _ = strings.Cut(cmd, ", then")
		}
	}
	if !strings.HasPrefix(remedy, "git fetch --refetch --no-filter origin ") {
		t.Fatalf("no git fetch remedy in %v", e.Details["suggestions"])
	}
	// The remedy, run as a user would (its refspecs are single-quoted).
	args := []string{}
	for _, f := range strings.Fields(strings.TrimPrefix(remedy, "git ")) {
		args = append(args, strings.Trim(f, "'"))
	}
	testrepo.Git(t, p, args...)
	if out := mustSync(t, p); out.EventsPulled != 4 {
		t.Fatalf("sync after the remedy: %+v", out)
	}
	requireIDs(t, p, ids)
	requireFsckClean(t, p)
}

// A partial clone whose own WAL was fetched with the clone's filter (git
// fetch into refs/grite/wal) lacks objects grite reads before any sync:
// commands say it is a partial-clone limitation, with the git command
// that mends it, and that command does.
func TestPartialCloneMissingWALObjectsAreSaid(t *testing.T) {
	t.Parallel()
	_, _, p, ids := partialBeside(t, "file", 2)
	testrepo.Git(t, p, "fetch", "-q", "origin", "+refs/grite/wal:refs/grite/wal")
	var out struct {
		Warnings []string `json:"warnings"`
	}
	mustJSON(t, p, &out, "issue", "list")
	if len(out.Warnings) != 1 || !strings.Contains(out.Warnings[0], "partial clone") {
		t.Fatalf("warnings %q, want one saying the clone is partial", out.Warnings)
	}
	_, cmd, ok := strings.Cut(out.Warnings[0], "git 2.36 or later: ")
	if !ok || !strings.HasPrefix(cmd, "git fetch --refetch --no-filter origin ") {
		t.Fatalf("no git fetch remedy in %q", out.Warnings[0])
	}
	var doctor struct {
		Checks []struct {
			Name, Message, Code string
		} `json:"checks"`
	}
	env, r := gjson(t, p, "doctor") // unhealthy: ok, and exit 1
	if !env.OK || r.code != 1 || json.Unmarshal(env.Data, &doctor) != nil {
		t.Fatalf("doctor:\n%s", r)
	}
	checked := false
	for _, c := range doctor.Checks {
		if c.Name == "wal" {
			checked = true
			if c.Code != "git_error" || !strings.Contains(c.Message, "partial clone") {
				t.Fatalf("doctor's wal check: %+v", c)
			}
		}
	}
	if !checked {
		t.Fatalf("doctor has no wal check: %+v", doctor.Checks)
	}
	args := []string{}
	for _, f := range strings.Fields(strings.TrimPrefix(cmd, "git ")) {
		args = append(args, strings.Trim(f, "'"))
	}
	testrepo.Git(t, p, args...)
	out.Warnings = nil
	mustJSON(t, p, &out, "issue", "list")
	if len(out.Warnings) != 0 {
		t.Fatalf("warnings after the remedy: %q", out.Warnings)
	}
	requireIDs(t, p, ids)
	requireBody(t, p, ids[0], "the body of from a 0")
}

// A shallow clone (--depth 1) syncs as any clone does: the WAL is a
// history of its own, fetched whole, and the shallow main branch is left
// as it was.
func TestSyncInShallowClone(t *testing.T) {
	t.Parallel()
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			bare := remoteWithHistory(t, false)
			url := remoteURL(t, transport, bare)
			a := cloneWith(t, url)
			ids := issuesWithBodies(t, a, "from a", 2)
			mustSync(t, a)

			s := cloneWith(t, url, "--depth", "1")
			if testrepo.Git(t, s, "rev-parse", "--is-shallow-repository") != "true" {
				t.Fatal("the clone is not shallow")
			}
			if out := mustSync(t, s); out.EventsPulled != 4 {
				t.Fatalf("shallow clone's first sync: %+v, want 4 events pulled", out)
			}
			requireIDs(t, s, ids)
			mine := create(t, s, "from the shallow clone")
			if out := mustSync(t, s); out.EventsPushed != 1 {
				t.Fatalf("shallow clone's push: %+v", out)
			}
			mustSync(t, a)
			requireIDs(t, a, append(ids, mine))
			if testrepo.Git(t, s, "rev-parse", "--is-shallow-repository") != "true" ||
				testrepo.Git(t, s, "rev-list", "--count", "HEAD") != "1" {
				t.Fatal("sync deepened the main branch")
			}
			requireFsckClean(t, s)
			requireFsckClean(t, bare)
		})
	}
}

// A SHA-256 remote: its history cannot be fetched into a SHA-1
// repository, nor this one's pushed to it. The error says so, and
// nothing is written on either side.
func TestSyncWithSHA256RemoteIsRefused(t *testing.T) {
	t.Parallel()
	for _, withHistory := range []bool{true, false} {
		t.Run(fmt.Sprintf("history=%v", withHistory), func(t *testing.T) {
			bare := filepath.Join(t.TempDir(), "remote.git")
			testrepo.Git(t, ".", "init", "-q", "--bare", "--object-format=sha256", bare)
			if withHistory {
				seed := filepath.Join(t.TempDir(), "seed")
				testrepo.Git(t, ".", "init", "-q", "-b", "main", "--object-format=sha256", seed)
				testrepo.Git(t, seed, "commit", "-q", "--allow-empty", "-m", "init")
				testrepo.Git(t, seed, "push", "-q", bare, "main", "main:refs/grite/wal")
			}
			dir, _ := newRepo(t)
			testrepo.Git(t, dir, "remote", "add", "origin", bare)
			create(t, dir, "stays here")
			head := walHead(t, dir)
			e := mustFail(t, dir, "git_error", 1, "sync")
			if !strings.Contains(e.Message, "object format") || !strings.Contains(e.Message, "SHA-1") {
				t.Fatalf("message %q", e.Message)
			}
			if walHead(t, dir) != head || walCount(t, dir) != 1 {
				t.Fatal("the local WAL moved")
			}
			if out := testrepo.Git(t, bare, "for-each-ref", "refs/grite/"); withHistory != (out != "") || strings.Contains(out, head) {
				t.Fatalf("the remote's grite refs: %q", out)
			}
			requireFsckClean(t, dir)
		})
	}
}

// partialBeside makes a remote (filters allowed) reached over transport,
// a full clone a that pushed n issues with bodies, and a partial clone p
// (--filter=blob:none) of the remote.
func partialBeside(t *testing.T, transport string, n int) (bare, a, p string, ids []string) {
	t.Helper()
	bare = remoteWithHistory(t, true)
	url := remoteURL(t, transport, bare)
	a = cloneWith(t, url)
	ids = issuesWithBodies(t, a, "from a", n)
	mustSync(t, a)
	return bare, a, cloneWith(t, url, "--filter=blob:none"), ids
}
