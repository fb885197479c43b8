// Package testrepo builds real git repositories, clones and bare remotes in
// temporary directories for tests. Only tests import it.
package testrepo

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Git runs git in dir and returns trimmed stdout; it fails the test on error.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := GitErr(dir, args...)
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// GitErr runs git in dir and returns trimmed combined output and the error.
func GitErr(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = Env()
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// GitRaw runs git in dir and returns its stdout untouched (Git trims, which
// would hide a trailing newline); it fails the test on error.
func GitRaw(t testing.TB, dir string, args ...string) []byte {
	t.Helper()
	return GitStdin(t, dir, nil, args...)
}

// GitStdin runs git in dir with stdin as its input (for plumbing such as
// mktree, hash-object --stdin or cat-file --batch) and returns its raw
// stdout; it fails the test on error.
func GitStdin(t testing.TB, dir string, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = Env()
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// Env is the environment for git and grite child processes: a fixed identity
// and no user or system config, so tests behave the same on every machine.
func Env() []string {
	env := []string{}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GIT_") || strings.HasPrefix(kv, "GRITE_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"GIT_AUTHOR_NAME=test", "GIT_AUTHOR_EMAIL=test@localhost",
		"GIT_COMMITTER_NAME=test", "GIT_COMMITTER_EMAIL=test@localhost",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		// No background packing: a grite gc still running when a test
		// removes its directory would fail the removal. The packing's
		// own tests turn it on (a later GRITE_AUTO_PACK=1 wins).
		"GRITE_AUTO_PACK=0",
	)
}

// IsolateProcess gives this test process the environment of Env(), for
// packages whose code runs git itself (gitsync): no user or system config
// and a fixed identity. Call it from TestMain, before any test runs.
func IsolateProcess() {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "GIT_") || strings.HasPrefix(k, "GRITE_") {
			_ = os.Unsetenv(k)
		}
	}
	for _, kv := range Env() {
		if k, v, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "GIT_") || strings.HasPrefix(k, "GRITE_") {
			_ = os.Setenv(k, v)
		}
	}
}

// New makes a fresh non-bare repository with one commit on main and returns
// its working tree path.
func New(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	initRepo(t, dir)
	return dir
}

// initRepo makes a non-bare repository at dir with one commit on main.
func initRepo(t testing.TB, dir string) {
	t.Helper()
	Git(t, ".", "init", "-q", "-b", "main", dir)
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	Git(t, dir, "add", "README")
	Git(t, dir, "commit", "-q", "-m", "init")
}

// NewBare makes an empty bare repository (a remote) and returns its path.
func NewBare(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "remote.git")
	Git(t, ".", "init", "-q", "--bare", dir)
	return dir
}

// Clone clones remote into a new temp dir and returns its working tree.
func Clone(t testing.TB, remote string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "clone")
	Git(t, ".", "clone", "-q", remote, dir)
	return dir
}

// benchRoot holds the repositories of NewForBench until RemoveBenchRepos.
var benchRoot struct {
	sync.Mutex
	dir string
}

// NewForBench is New for benchmarks: the repository is removed when the test
// binary ends (RemoveBenchRepos, from TestMain), not when the benchmark
// does. On an ext4 without a journal, creating files costs more for minutes
// after many were removed nearby (the kernel avoids reusing their inodes and
// scans past each one), so removing one benchmark's repository of thousands
// of objects slowed every benchmark after it that creates files: the
// numbers measured the harness's cleanup, not grite.
func NewForBench(b testing.TB) string {
	b.Helper()
	benchRoot.Lock()
	if benchRoot.dir == "" {
		d, err := os.MkdirTemp("", "grite-bench-")
		if err != nil {
			benchRoot.Unlock()
			b.Fatal(err)
		}
		benchRoot.dir = d
	}
	root := benchRoot.dir
	benchRoot.Unlock()
	parent, err := os.MkdirTemp(root, "")
	if err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(parent, "repo")
	initRepo(b, dir)
	return dir
}

// RemoveBenchRepos removes what NewForBench made; TestMain calls it once the
// benchmarks are done.
func RemoveBenchRepos() {
	benchRoot.Lock()
	defer benchRoot.Unlock()
	if benchRoot.dir != "" {
		_ = os.RemoveAll(benchRoot.dir)
		benchRoot.dir = ""
	}
}

// RunMain is a test package's TestMain: it runs the tests and benchmarks,
// then removes what they left for the end (built binaries, benchmark
// repositories).
func RunMain(m *testing.M) {
	code := m.Run()
	RemoveBinaries()
	RemoveBenchRepos()
	os.Exit(code)
}
