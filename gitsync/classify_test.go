package gitsync

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// What git printed decides how a failure is reported: the kind of remote
// error, whether a remote rejection was a lost race for the ref (retried)
// or a refusal (not), and which of git's lines reach the message.
func TestGitOutputIsClassified(t *testing.T) {
	exitErr := &exec.ExitError{}
	for _, tc := range []struct {
		name   string
		stderr string
		kind   RemoteErrorKind
	}{
		{"no repository at the path", "fatal: '/x/y' does not appear to be a git repository\nfatal: Could not read from remote repository.", NotARepository},
		{"hosting service says not found", "remote: Repository not found.\nfatal: repository 'https://h/x.git/' not found", NotARepository},
		{"connection refused", "fatal: unable to connect to 127.0.0.1:\n127.0.0.1[0: 127.0.0.1]: errno=Connection refused", Unreachable},
		{"DNS", "fatal: unable to access 'https://nowhere/': Could not resolve host: nowhere", Unreachable},
		{"fetch from a SHA-256 remote", "fatal: mismatched algorithms: client sha1; server sha256", OtherObjectFormat},
		{"push to a SHA-256 remote", "fatal: the receiving end does not support this repository's hash algorithm\nfatal: the remote end hung up unexpectedly", OtherObjectFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var re *RemoteError
			if err := classifyFetchError("origin", tc.stderr, exitErr); !errors.As(err, &re) || re.Kind != tc.kind {
				t.Fatalf("classified as %v, want kind %d", err, tc.kind)
			}
		})
	}
	for _, tc := range []struct {
		stderr string
		raced  bool
	}{
		{"remote: error: cannot lock ref 'refs/grite/wal': is at 1111 but expected 2222", true},
		{"remote: error: cannot lock ref 'refs/grite/wal': Unable to create '/r/refs/grite/wal.lock': File exists.", true},
		{"remote: error: cannot lock ref 'refs/grite/wal': reference already exists", true},
		{"remote: error: cannot lock ref 'refs/grite/locks/ab': is at 1111 but expected 2222", false}, // another ref
		{"remote: hook declined: refs/grite/wal is read-only", false},
	} {
		if got := lostRefRace(tc.stderr, "refs/grite/wal"); got != tc.raced {
			t.Errorf("lostRefRace(%q) = %v, want %v", tc.stderr, got, tc.raced)
		}
	}
	hook := "remote: grite refs are read-only here\nremote: ask an admin\nTo /r.git\n ! [remote rejected] x -> refs/grite/wal (pre-receive hook declined)\nerror: failed to push some refs to '/r.git'"
	if got := remoteSaid(hook, 5); got != "grite refs are read-only here / ask an admin" {
		t.Errorf("remoteSaid = %q", got)
	}
	if got := lastLines(hook, 2); got != "error: failed to push some refs to '/r.git'" {
		t.Errorf("lastLines prefers error lines: %q", got)
	}
}

// The error of a spent retry budget says how many attempts over how long,
// and which kind of loss came last.
func TestPushRejectedSaysWhatItTried(t *testing.T) {
	for _, tc := range []struct {
		raced     bool
		want, not string
	}{
		{false, "non-fast-forward", "failed to update ref"},
		{true, "failed to update ref", "non-fast-forward"},
	} {
		msg := (&RemoteError{Kind: PushRejected, Remote: "origin", Detail: "refs/grite/wal", Attempts: 12, Elapsed: 31200 * time.Millisecond, RefLockRace: tc.raced}).Error()
		if !strings.Contains(msg, "12 attempts over 31.2s") || !strings.Contains(msg, tc.want) || strings.Contains(msg, tc.not) {
			t.Errorf("message %q", msg)
		}
	}
}
