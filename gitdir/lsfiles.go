package gitdir

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
)

// UnmatchedPathspecError reports pathspecs that name no file git tracks.
type UnmatchedPathspecError struct {
	Pathspecs []string
}

func (e *UnmatchedPathspecError) Error() string {
	return fmt.Sprintf("%s matches no file tracked by git", strings.Join(quoteAll(e.Pathspecs), ", "))
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// TrackedFiles lists the files of the working tree that git tracks (its
// index, so .gitignore applies to what was never added), relative to the
// top of the working tree, with '/' separators, in git's order. With
// pathspecs, only the files they match: git pathspecs (a file, a
// directory, a glob) relative to dir. A pathspec that matches nothing is
// an *UnmatchedPathspecError. It runs git, whose index this is to read.
func (r *Repo) TrackedFiles(ctx context.Context, dir string, pathspecs []string) ([]string, error) {
	if r.WorkTree == "" {
		return nil, errors.New("a bare repository has no working tree to list")
	}
	if dir == "" {
		dir = r.WorkTree
	}
	args := []string{"-C", dir, "ls-files", "-z", "--full-name"}
	if len(pathspecs) > 0 {
		args = append(args, "--error-unmatch", "--")
		args = append(args, pathspecs...)
	}
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANGUAGE=") // git's messages, read below, in English
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		// Compiled here, not at start-up: every grite process links this.
		unmatched := regexp.MustCompile(`(?m)^error: pathspec '(.*)' did not match any file\(s\) known to git`)
		if ms := unmatched.FindAllStringSubmatch(stderr.String(), -1); len(ms) > 0 {
			e := &UnmatchedPathspecError{}
			for _, m := range ms {
				e.Pathspecs = append(e.Pathspecs, m[1])
			}
			return nil, e
		}
		return nil, fmt.Errorf("git ls-files: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var files []string
	for _, f := range bytes.Split(stdout.Bytes(), []byte{0}) {
		if len(f) > 0 {
			files = append(files, string(f))
		}
	}
	return files, nil
}
