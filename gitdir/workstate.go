package gitdir

import (
	"context"
	"os/exec"
	"strings"
)

// WorkState is where the work tree stands: its HEAD commit, the branch
// checked out ("" when detached) and whether tracked files have changes
// not committed. All empty for a bare repository or a HEAD without
// commits. It runs git, as its index and status are git's to read.
func (r *Repo) WorkState(ctx context.Context) (head, branch string, dirty bool, err error) {
	if r.WorkTree == "" {
		return "", "", false, nil
	}
	git := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", r.WorkTree}, args...)...)
		out, err := cmd.Output()
		return strings.TrimSpace(string(out)), err
	}
	if head, err = git("rev-parse", "--verify", "-q", "HEAD"); err != nil {
		return "", "", false, nil // no commit yet
	}
	branch, _ = git("symbolic-ref", "--short", "-q", "HEAD")
	status, err := git("status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return head, branch, false, err
	}
	return head, branch, status != "", nil
}
