package gitdir_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"grite/gitdir"
	"grite/internal/testrepo"
)

// A SHA-256 repository is refused when it is opened, from its working
// tree, a subdirectory, or as a local remote, before anything is written.
func TestSHA256RepositoryIsRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	testrepo.Git(t, ".", "init", "-q", "--object-format=sha256", dir)
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, open := range map[string]func() (*gitdir.Repo, error){
		"discover":        func() (*gitdir.Repo, error) { return gitdir.Discover(dir) },
		"discover in sub": func() (*gitdir.Repo, error) { return gitdir.Discover(sub) },
		"at":              func() (*gitdir.Repo, error) { return gitdir.At(dir) },
	} {
		_, err := open()
		var fe *gitdir.FormatError
		if !errors.Is(err, gitdir.ErrUnsupportedFormat) || !errors.As(err, &fe) {
			t.Fatalf("%s: %v, want a FormatError", name, err)
		}
		if fe.Setting != "extensions.objectformat" || fe.Value != "sha256" ||
			!strings.Contains(err.Error(), "SHA-256") || !strings.Contains(err.Error(), "--object-format=sha1") {
			t.Fatalf("%s: %+v: %v", name, fe, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ".git", "grite")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("grite's directory exists after a refusal: %v", err)
	}
}

// The format settings of a repository's config: what is refused (by
// setting), and what is followed (precious objects, the promisor
// remote). The config is written as text, so the forms the small reader
// leaves to git (a continued line, a key on its section's line) are
// covered too.
func TestFormatSettings(t *testing.T) {
	for _, tc := range []struct {
		name     string
		config   string // appended to the config of a fresh repository
		refused  string // the setting named by the refusal, "" for none
		precious bool
		promisor string
	}{
		{name: "default"},
		{name: "v1 sha1", config: "[core]\n\trepositoryformatversion = 1\n[extensions]\n\tobjectformat = sha1\n"},
		{name: "v1 sha256", config: "[core]\n\trepositoryformatversion = 1\n[extensions]\n\tobjectFormat = sha256\n", refused: "extensions.objectformat"},
		{name: "v0 sha256 (git refuses it too)", config: "[extensions]\n\tobjectformat = sha256\n", refused: "extensions.objectformat"},
		{name: "reftable", config: "[core]\n\trepositoryformatversion = 1\n[extensions]\n\trefStorage = reftable\n", refused: "extensions.refstorage"},
		{name: "files ref storage", config: "[core]\n\trepositoryformatversion = 1\n[extensions]\n\trefstorage = files\n"},
		{name: "compat object format", config: "[core]\n\trepositoryformatversion = 1\n[extensions]\n\tcompatObjectFormat = sha256\n", refused: "extensions.compatobjectformat"},
		{name: "worktree config", config: "[core]\n\trepositoryformatversion = 1\n[extensions]\n\tworktreeConfig = true\n"},
		{name: "unknown v1 extension", config: "[core]\n\trepositoryformatversion = 1\n[extensions]\n\tfrobnicate = yes\n", refused: "extensions.frobnicate"},
		{name: "unknown extension in v0 (git ignores it)", config: "[extensions]\n\tfrobnicate = yes\n"},
		{name: "format version 2", config: "[core]\n\trepositoryformatversion = 2\n", refused: "core.repositoryformatversion"},
		{name: "precious objects v1", config: "[core]\n\trepositoryformatversion = 1\n[extensions]\n\tpreciousObjects = true\n", precious: true},
		{name: "precious objects v0", config: "[extensions]\n\tpreciousobjects\n", precious: true},
		{name: "precious objects off", config: "[extensions]\n\tpreciousobjects = false\n"},
		{name: "partial clone", config: "[core]\n\trepositoryformatversion = 1\n[extensions]\n\tpartialClone = origin\n[remote \"origin\"]\n\tpromisor = true\n", promisor: "origin"},
		{name: "promisor remote only", config: "[remote \"Up\"]\n\tpromisor = yes\n", promisor: "Up"},
		{name: "continued line (read by git)", config: "[core]\n\trepositoryformatversion = 1\n[extensions]\n\tobjectformat = sha\\\n256\n", refused: "extensions.objectformat"},
		{name: "key on the section's line (read by git)", config: "[extensions] preciousObjects\n", precious: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := testrepo.New(t)
			f, err := os.OpenFile(filepath.Join(dir, ".git", "config"), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteString(tc.config); err != nil {
				t.Fatal(err)
			}
			f.Close()
			r, err := gitdir.Discover(dir)
			var fe *gitdir.FormatError
			switch {
			case tc.refused != "":
				if !errors.As(err, &fe) || fe.Setting != tc.refused || fe.Remedy == "" {
					t.Fatalf("got %v, want a refusal naming %s", err, tc.refused)
				}
				return
			case err != nil:
				t.Fatalf("refused: %v", err)
			}
			if r.PreciousObjects() != tc.precious || r.PromisorRemote() != tc.promisor || r.Promisor() != (tc.promisor != "") {
				t.Fatalf("precious %v promisor %q, want %v %q", r.PreciousObjects(), r.PromisorRemote(), tc.precious, tc.promisor)
			}
		})
	}
}
