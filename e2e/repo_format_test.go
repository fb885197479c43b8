package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"grite/internal/testrepo"
)

// requireUntouched fails unless grite left nothing in the repository at
// dir: no ref under refs/grite (loose or packed), no grite directory, and
// git's own checks clean.
func requireUntouched(t *testing.T, dir string) {
	t.Helper()
	common := gitDir(t, dir)
	for _, p := range []string{"grite", filepath.Join("refs", "grite")} {
		if _, err := os.Stat(filepath.Join(common, p)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s exists after a refusal (%v)", p, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(common, "packed-refs")); err == nil && strings.Contains(string(b), "refs/grite/") {
		t.Fatalf("packed-refs names grite refs after a refusal:\n%s", b)
	}
	if out := testrepo.Git(t, dir, "for-each-ref"); strings.Contains(out, "refs/grite") || strings.Contains(out, "ignoring") {
		t.Fatalf("git for-each-ref after a refusal:\n%s", out)
	}
	if out := testrepo.Git(t, dir, "fsck", "--no-dangling"); out != "" {
		t.Fatalf("git fsck after a refusal:\n%s", out)
	}
}

// mustRefuseFormat runs a grite command that must be refused for the
// repository's format, before it writes anything: git_error (exit 1),
// naming the setting and its value, with a remedy.
func mustRefuseFormat(t *testing.T, dir, setting, value string, says []string, args ...string) {
	t.Helper()
	e := mustFail(t, dir, "git_error", 1, args...)
	if e.Details["setting"] != setting || e.Details["value"] != value {
		t.Fatalf("%v: details %v, want setting %s = %s", args, e.Details, setting, value)
	}
	suggestions, _ := e.Details["suggestions"].([]any)
	if len(suggestions) == 0 {
		t.Fatalf("%v: no remedy in %v", args, e.Details)
	}
	said := e.Message + "\n" + suggestions[0].(string)
	for _, want := range append(says, "unsupported repository format", setting, "grite wrote nothing") {
		if !strings.Contains(said, want) {
			t.Fatalf("%v: the error does not say %q:\n%s", args, want, said)
		}
	}
}

// A SHA-256 repository is refused by every command, grite init first,
// and by grite-mcp at start-up: grite writes SHA-1 objects and refs only,
// which git would report as broken there.
func TestSHA256RepositoryIsRefused(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "repo")
	testrepo.Git(t, ".", "init", "-q", "-b", "main", "--object-format=sha256", dir)
	testrepo.Git(t, dir, "commit", "-q", "--allow-empty", "-m", "init")
	says := []string{"SHA-256", "SHA-1"}
	for _, args := range [][]string{
		{"init", "--no-agents-md"},
		{"issue", "create", "--title", "x"},
		{"issue", "list"},
		{"sync"},
		{"actor", "list"},
		{"doctor"},
	} {
		mustRefuseFormat(t, dir, "extensions.objectformat", "sha256", says, args...)
	}
	// The remedy says how to get a repository grite supports.
	e := mustFail(t, dir, "git_error", 1, "init")
	if s := e.Details["suggestions"].([]any); !strings.Contains(s[0].(string), "--object-format=sha1") {
		t.Fatalf("suggestions %v", s)
	}
	// Without --json the error and its remedy are on stderr.
	r := grite(t, dir, "issue", "create", "--title", "x")
	if r.code != 1 || !strings.Contains(r.stderr, "SHA-256") || !strings.Contains(r.stderr, "--object-format=sha1") {
		t.Fatalf("human output:\n%s", r)
	}

	cmd := exec.Command(testrepo.BuildBinaries(t).MCP, "--repo", dir)
	cmd.Env = testrepo.Env()
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run() // stdin is /dev/null: a server that started would exit 0 at once
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 || stdout.String() != "" {
		t.Fatalf("grite-mcp on a SHA-256 repository: %v, stdout %q, stderr %q", err, stdout.String(), stderr.String())
	}
	for _, want := range []string{"SHA-256", "extensions.objectformat", "--object-format=sha1"} {
		if !strings.Contains(stderr.String(), want) {
			t.Fatalf("grite-mcp's stderr %q does not say %q", stderr.String(), want)
		}
	}
	requireUntouched(t, dir)
}

// Settings of a repository's config that grite does not support are
// refused the same way. This is a config-level test: the setting is
// written into the config of an ordinary repository (this machine's git
// may not make reftable repositories, and git 2.39 refuses the setting
// itself), and removed again to check with git that nothing was written.
func TestUnsupportedConfigIsRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, key, value string
		says             []string
	}{
		{"reftable", "extensions.refStorage", "reftable", []string{"reftable ref storage", "git refs migrate"}},
		{"unknown extension", "extensions.frobnicate", "yes", []string{"does not know"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := testrepo.New(t)
			config := filepath.Join(gitDir(t, dir), "config")
			testrepo.Git(t, dir, "config", "core.repositoryformatversion", "1")
			testrepo.Git(t, dir, "config", tc.key, tc.value)
			setting := strings.ToLower(tc.key)
			for _, args := range [][]string{{"init", "--no-agents-md"}, {"issue", "create", "--title", "x"}, {"sync"}} {
				mustRefuseFormat(t, dir, setting, tc.value, tc.says, args...)
			}
			testrepo.Git(t, dir, "config", "--file", config, "--unset", tc.key)
			requireUntouched(t, dir)
		})
	}
}

// A real reftable repository, where git can make one: refused before
// grite writes a loose ref into it.
func TestReftableRepositoryIsRefused(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "repo")
	if out, err := testrepo.GitErr(".", "init", "-q", "-b", "main", "--ref-format=reftable", dir); err != nil {
		first, _, _ := strings.Cut(out, "\n")
		t.Skipf("this git cannot make a reftable repository (git init --ref-format=reftable: %s); TestUnsupportedConfigIsRefused covers the refusal at the config level", first)
	}
	testrepo.Git(t, dir, "commit", "-q", "--allow-empty", "-m", "init")
	for _, args := range [][]string{{"init", "--no-agents-md"}, {"issue", "create", "--title", "x"}} {
		mustRefuseFormat(t, dir, "extensions.refstorage", "reftable", []string{"reftable"}, args...)
	}
	requireUntouched(t, dir)
}
