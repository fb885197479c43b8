package gitsync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// runGit runs the git executable for network operations, so fetch and push
// honour everything the user configured for git itself (credential helpers,
// SSH config, url.insteadOf, proxies). It never prompts: grite runs under
// agents and MCP servers with no terminal.
func (s *Syncer) runGit(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	return s.runGitInput(ctx, "", args...)
}

// runGitInput is runGit with input as git's stdin.
func (s *Syncer) runGitInput(ctx context.Context, input string, args ...string) (stdout, stderr string, err error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"--git-dir", s.repo.CommonDir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "SSH_ASKPASS=", "GCM_INTERACTIVE=never", "LC_ALL=C")
	cmd.Stdin = nil
	if input != "" {
		cmd.Stdin = strings.NewReader(input)
	}
	// A killed git can leave children (ssh, a remote helper) holding its
	// output open: stop waiting for them soon after.
	cmd.WaitDelay = 2 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// errTimedOut: a network git command ran past the sync's timeout.
var errTimedOut = errors.New("timed out")

// runNetGit is runGit for a command that talks to the remote, bounded by
// the sync's timeout.
func (s *Syncer) runNetGit(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	return s.runNetGitInput(ctx, "", args...)
}

// runNetGitInput is runNetGit with input as git's stdin.
func (s *Syncer) runNetGitInput(ctx context.Context, input string, args ...string) (stdout, stderr string, err error) {
	tctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	stdout, stderr, err = s.runGitInput(tctx, input, args...)
	if err != nil && ctx.Err() == nil && errors.Is(tctx.Err(), context.DeadlineExceeded) {
		sub := args[0]
		if sub == "-c" && len(args) > 2 {
			sub = args[2]
		}
		err = fmt.Errorf("git %s: %w", sub, errTimedOut)
	}
	return stdout, stderr, err
}

// RemoteError is a failure of the remote or the transport.
type RemoteError struct {
	Kind   RemoteErrorKind
	Remote string
	Detail string
	// Of PushRejected: how many pushes were tried over how long, and
	// whether the last one lost the remote's ref lock to another push
	// (rather than finding the ref moved on).
	Attempts    int
	Elapsed     time.Duration
	RefLockRace bool
	// Of TimedOut: the bound that ran out.
	Timeout time.Duration
}

// RemoteErrorKind classifies remote failures for the error codes.
type RemoteErrorKind int

const (
	UnknownRemote     RemoteErrorKind = iota // no such remote configured
	Unreachable                              // network / transport failure
	NotARepository                           // the URL is not a git repository
	PushRejected                             // still losing to concurrent pushes when the retry budget ran out
	PushRefused                              // refused by policy (hook, permissions)
	RemoteBadCommit                          // the remote's WAL holds an invalid commit
	RemoteCorrupt                            // the remote's repository holds a corrupt object
	TimedOut                                 // a fetch or push did not finish within the timeout
	OtherObjectFormat                        // the remote names objects with another hash (SHA-256)
)

func (e *RemoteError) Error() string {
	switch e.Kind {
	case UnknownRemote:
		return fmt.Sprintf("remote %q is not configured", e.Remote)
	case Unreachable:
		return fmt.Sprintf("cannot reach remote %q: %s", e.Remote, e.Detail)
	case NotARepository:
		return fmt.Sprintf("remote %q is not a git repository: %s", e.Remote, e.Detail)
	case PushRejected:
		tries := fmt.Sprintf("%d attempts over %s", e.Attempts, e.Elapsed.Round(100*time.Millisecond))
		if e.RefLockRace {
			return fmt.Sprintf("push to %q kept losing to concurrent pushes (%s): in the last one, another push updated %s on the remote first (remote rejected: failed to update ref)", e.Remote, tries, e.Detail)
		}
		return fmt.Sprintf("push to %q kept losing to concurrent pushes (%s): the last one was rejected as non-fast-forward, the remote had moved on (%s)", e.Remote, tries, e.Detail)
	case PushRefused:
		return fmt.Sprintf("remote %q refused the push: %s", e.Remote, e.Detail)
	case RemoteCorrupt:
		return fmt.Sprintf("remote %q holds a corrupt object: %s", e.Remote, e.Detail)
	case TimedOut:
		return fmt.Sprintf("%s with remote %q did not finish within %s: the remote or the network stopped answering", e.Detail, e.Remote, e.Timeout)
	case OtherObjectFormat:
		return fmt.Sprintf("remote %q uses another object format than this repository, and grite syncs SHA-1 repositories only: %s", e.Remote, e.Detail)
	}
	return fmt.Sprintf("remote %q: %s", e.Remote, e.Detail)
}

// classifyFetchError turns git's stderr into a RemoteError.
func classifyFetchError(remote, stderr string, err error) error {
	msg := lastLines(stderr, 3)
	switch {
	case strings.Contains(stderr, "does not appear to be a git repository"),
		strings.Contains(stderr, "not a git repository"),
		strings.Contains(stderr, "repository not found"),
		strings.Contains(stderr, "Repository not found"):
		return &RemoteError{Kind: NotARepository, Remote: remote, Detail: msg}
	case strings.Contains(stderr, "mismatched algorithms"), // fetch
		strings.Contains(stderr, "does not support this repository's hash algorithm"): // push
		return &RemoteError{Kind: OtherObjectFormat, Remote: remote, Detail: msg}
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) || msg != "" {
		return &RemoteError{Kind: Unreachable, Remote: remote, Detail: msg}
	}
	return fmt.Errorf("git fetch %s: %w", remote, err)
}

func lastLines(s string, n int) string {
	var lines, fatal []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		lines = append(lines, l)
		if strings.HasPrefix(l, "fatal:") || strings.HasPrefix(l, "error:") {
			fatal = append(fatal, l)
		}
	}
	if len(fatal) > 0 {
		lines = fatal
	}
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "; ")
}

// remoteSaid is what the remote side printed (git's "remote: " lines: a
// hook's reason for refusing a push), at most n lines joined.
func remoteSaid(stderr string, n int) string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "remote:"); ok {
			if rest = strings.TrimSpace(rest); rest != "" && len(out) < n {
				out = append(out, rest)
			}
		}
	}
	return strings.Join(out, " / ")
}
