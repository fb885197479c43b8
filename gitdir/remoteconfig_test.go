package gitdir

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"grite/internal/testrepo"
)

// TestPlainRemoteURLs: the cautious config reader gives the URLs git gives
// (git config --get-all, on the same file) wherever it answers, and
// declines whatever could make git fetch otherwise or that it does not
// follow.
func TestPlainRemoteURLs(t *testing.T) {
	const origin = "[remote \"origin\"]\n\turl = /srv/a.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n"
	cases := []struct {
		name   string
		config string // appended to the repository's config
		global string // the user's config
		env    []string
		want   []string
		ok     bool
		remote string // "origin" when empty
	}{
		{"plain", origin, "", nil, []string{"/srv/a.git"}, true, ""},
		{"quoted with a comment", "[remote \"origin\"]\n  url = \"/srv/with space.git\" ; where\n", "", nil, []string{"/srv/with space.git"}, true, ""},
		{"escaped quote", "[remote \"origin\"]\n  url = /srv/q\\\"uote.git\n", "", nil, []string{"/srv/q\"uote.git"}, true, ""},
		{"two URLs", origin + "[remote \"origin\"]\n\turl = /srv/b.git\n", "", nil, []string{"/srv/a.git", "/srv/b.git"}, true, ""},
		{"case of section and key", "[Remote \"origin\"]\n\tURL = /srv/a.git\n", "", nil, []string{"/srv/a.git"}, true, ""},
		{"another remote's name case", "[remote \"Origin\"]\n\turl = /srv/a.git\n", "", nil, nil, true, ""},
		{"old-style section", "[remote.origin]\n\turl = /srv/a.git\n", "", nil, []string{"/srv/a.git"}, true, ""},
		{"another remote's upload-pack", origin + "[remote \"other\"]\n\tuploadpack = wrap\n", "", nil, []string{"/srv/a.git"}, true, ""},
		{"no such remote", "", "", nil, nil, true, ""},
		{"upload-pack of its own", origin + "\tuploadPack = wrap\n", "", nil, nil, false, ""},
		{"insteadOf", origin + "[url \"file:///elsewhere/\"]\n\tinsteadOf = /srv/\n", "", nil, nil, false, ""},
		{"include", origin + "[include]\n\tpath = more\n", "", nil, nil, false, ""},
		{"includeIf", origin + "[includeIf \"gitdir:/x/\"]\n\tpath = more\n", "", nil, nil, false, ""},
		{"continued line", "[remote \"origin\"]\n\turl = /srv/\\\na.git\n", "", nil, nil, false, ""},
		{"unterminated quote", "[remote \"origin\"]\n\turl = \"/srv/a.git\n", "", nil, nil, false, ""},
		{"insteadOf in the user's config, for other URLs", origin, "[url \"git@example.com:\"]\n\tinsteadOf = https://example.com/\n", nil, []string{"/srv/a.git"}, true, ""},
		{"insteadOf in the user's config, for this URL", origin, "[url \"file:///elsewhere/\"]\n\tinsteadOf = /srv/\n", nil, nil, false, ""},
		{"remote in the user's config too", origin, "[remote \"origin\"]\n\turl = /srv/c.git\n", nil, []string{"/srv/c.git", "/srv/a.git"}, true, ""},
		{"upload-pack in the user's config", origin, "[remote \"origin\"]\n\tuploadpack = wrap\n", nil, nil, false, ""},
		{"include in the user's config", origin, "[include]\n\tpath = more\n", nil, nil, false, ""},
		{"a path, no rule", "", "", nil, nil, true, "/srv/a.git"},
		{"a path, rewritten", "[url \"file:///elsewhere/\"]\n\tinsteadOf = /srv/\n", "", nil, nil, false, "/srv/a.git"},
		{"config from the environment", origin, "", []string{"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=url.x.insteadOf", "GIT_CONFIG_VALUE_0=y"}, nil, false, ""},
		{"config from git -c", origin, "", []string{"GIT_CONFIG_PARAMETERS='url.x.insteadof'='y'"}, nil, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := testrepo.New(t)
			common := filepath.Join(dir, ".git")
			f, err := os.OpenFile(filepath.Join(common, "config"), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteString(c.config); err != nil {
				t.Fatal(err)
			}
			f.Close()
			global := filepath.Join(t.TempDir(), "gitconfig")
			if err := os.WriteFile(global, []byte(c.global), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Setenv("GIT_CONFIG_GLOBAL", global)
			t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
			t.Setenv("GIT_CONFIG_PARAMETERS", "")
			t.Setenv("GIT_CONFIG_COUNT", "")
			for _, kv := range c.env {
				k, v, _ := strings.Cut(kv, "=")
				t.Setenv(k, v)
			}
			remote := c.remote
			if remote == "" {
				remote = "origin"
			}
			got, ok := PlainRemoteURLs(common, remote)
			if ok != c.ok || !slices.Equal(got, c.want) {
				t.Fatalf("got %q, %v; want %q, %v", got, ok, c.want, c.ok)
			}
			if ok && remote == "origin" {
				// git with the same environment (the user's config above)
				cmd := exec.Command("git", "config", "--get-all", "remote.origin.url")
				cmd.Dir = dir
				b, _ := cmd.Output()
				out := strings.TrimSpace(string(b))
				var byGit []string
				if out != "" {
					byGit = strings.Split(out, "\n")
				}
				if !slices.Equal(got, byGit) {
					t.Fatalf("git reads %q, the reader %q", byGit, got)
				}
			}
		})
	}
}
