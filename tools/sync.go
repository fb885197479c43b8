package tools

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"grite/actor"
	"grite/event"
	"grite/gitsync"
	"grite/store"
	"grite/wal"
)

// LockLostJSON is a local claim or lock that lost to another clone's.
type LockLostJSON struct {
	Resource      string `json:"resource"`
	LocalOwner    string `json:"local_owner"`
	Holder        string `json:"holder"`
	ExpiresUnixMS uint64 `json:"expires_unix_ms"`
}

// SyncInput selects what sync does.
type SyncInput struct {
	Mode   string `json:"mode,omitempty"` // full (default) | pull | push
	Remote string `json:"remote,omitempty"`
	// RetryBudgetSeconds overrides [sync] retry_budget_seconds: how long
	// a push keeps retrying while concurrent pushers beat it.
	RetryBudgetSeconds *float64 `json:"retry_budget_seconds,omitempty"`
	// TimeoutSeconds bounds each fetch or push (default 60).
	TimeoutSeconds *float64 `json:"timeout_seconds,omitempty"`
}

// MaxRetryBudget caps a sync's retry budget.
const MaxRetryBudget = time.Hour

// ParseSeconds reads a duration flag (--retry-budget, --timeout): a
// duration ("45s", "2m") or a number of seconds; empty gives nil (the
// config's or default value).
func ParseSeconds(flag, text string) (*float64, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, nil
	}
	secs, err := strconv.ParseFloat(text, 64)
	if err != nil {
		d, derr := time.ParseDuration(text)
		if derr != nil {
			return nil, newErr(CodeInvalidArgs, "--%s %q is neither a duration (45s, 2m) nor a number of seconds", flag, text)
		}
		secs = d.Seconds()
	}
	return &secs, nil
}

// retryBudget is the input's budget, else the config's, else the default.
func retryBudget(in *float64, cfg actor.RepoConfig) (time.Duration, error) {
	v := in
	if v == nil && cfg.Sync != nil {
		v = cfg.Sync.RetryBudgetSeconds
	}
	if v == nil {
		return gitsync.DefaultRetryBudget, nil
	}
	if *v < 0 || *v > MaxRetryBudget.Seconds() || *v != *v {
		return 0, newErr(CodeInvalidArgs, "retry budget %gs out of range (0 to %s)", *v, MaxRetryBudget)
	}
	return time.Duration(*v * float64(time.Second)), nil
}

// SyncOutput is the documented envelope data plus counts (docs/cli.md decision 4).
type SyncOutput struct {
	Pulled        bool           `json:"pulled"`
	Pushed        bool           `json:"pushed"`
	WALHead       string         `json:"wal_head"`
	RemoteWALHead string         `json:"remote_wal_head"`
	Remote        string         `json:"remote"`
	EventsPulled  int            `json:"events_pulled"`
	EventsPushed  int            `json:"events_pushed"`
	EventsRebased int            `json:"events_rebased"`
	Rebased       bool           `json:"rebased"`
	RemoteEmpty   bool           `json:"remote_was_empty"`
	Retries       int            `json:"retries"`
	Attempts      int            `json:"attempts"`
	LocksLost     []LockLostJSON `json:"locks_lost"`
	Message       string         `json:"message"`
}

// Sync pulls (fetch, validate, merge) and/or pushes (fast-forward only,
// auto-rebase and bounded retries), then applies pulled events to the view.
var Sync = Op[SyncInput, SyncOutput]{
	Name: "sync", Title: "Sync with remote", OpenWorld: true,
	Description: "Pull and/or push issues through a git remote (default origin).",
	Run: func(ctx context.Context, s *Session, in SyncInput) (SyncOutput, error) {
		mode := in.Mode
		if mode == "" {
			mode = "full"
		}
		if mode != "full" && mode != "pull" && mode != "push" {
			return SyncOutput{}, newErr(CodeInvalidArgs, "mode must be full, pull or push, got %q", in.Mode)
		}
		remote := in.Remote
		if remote == "" {
			remote = "origin"
		}
		if strings.HasPrefix(remote, "-") {
			// git would take it for an option: "--upload-pack=<cmd>" runs
			// <cmd>. Remote names and URLs never start with '-'.
			return SyncOutput{}, newErr(CodeInvalidArgs, "remote %q must be a remote name or URL, not start with '-'", remote)
		}
		keys, err := s.Grite.PublicKeys()
		if err != nil {
			return SyncOutput{}, err
		}
		cfg, err := s.Grite.LoadRepoConfig()
		if err != nil {
			return SyncOutput{}, err
		}
		budget, err := retryBudget(in.RetryBudgetSeconds, cfg)
		if err != nil {
			return SyncOutput{}, err
		}
		timeout := gitsync.DefaultTimeout
		if t := in.TimeoutSeconds; t != nil {
			if *t < 1 || *t > MaxRetryBudget.Seconds() || *t != *t {
				return SyncOutput{}, newErr(CodeInvalidArgs, "timeout %gs out of range (1s to %s)", *t, MaxRetryBudget)
			}
			timeout = time.Duration(*t * float64(time.Second))
		}
		sy := gitsync.New(s.Repo, gitsync.Config{
			Remote: remote, Actor: s.Actor.ID, Now: s.Now,
			PublicKey:         func(a event.ActorID) ed25519.PublicKey { return keys[a] },
			RequireSignatures: cfg.VerifyPolicy() == actor.PolicyRequire,
			RetryBudget:       budget,
			Timeout:           timeout,
		})
		var res gitsync.Result
		// Syncs of one repository (its worktrees, its MCP sessions) take
		// turns: together they would race each other for the tracking
		// refs and the remote, and the one after a sync mostly finds
		// nothing left to do.
		err = s.Grite.WithLock("sync", func() error {
			return s.runSync(ctx, sy, mode, &res)
		})
		if err != nil {
			return SyncOutput{}, syncError(err, remote, s.Repo.Promisor())
		}
		head, err := s.WAL.Head()
		if err != nil {
			return SyncOutput{}, err
		}
		out := SyncOutput{
			Pulled: res.Pulled, Pushed: res.Pushed, WALHead: hashOrEmpty(head),
			RemoteWALHead: hashOrEmpty(res.RemoteHead), Remote: remote,
			EventsPulled: res.EventsPulled, EventsPushed: res.EventsPushed,
			EventsRebased: res.EventsRebased, Rebased: res.Rebased, RemoteEmpty: res.RemoteEmpty,
			Retries:  res.Retries,
			Attempts: res.Attempts, LocksLost: []LockLostJSON{},
		}
		for _, l := range res.LocksLost {
			out.LocksLost = append(out.LocksLost, LockLostJSON(l))
		}
		out.Message = syncMessage(mode, out, res.NothingToPush)
		return out, nil
	},
}

// runSync pulls and/or pushes, keeping the view in step with what moved.
func (s *Session) runSync(ctx context.Context, sy *gitsync.Syncer, mode string, res *gitsync.Result) error {
	var runErr error
	if mode != "push" {
		runErr = sy.Pull(ctx, res)
		// Whatever was merged is in the local WAL: update the view, and
		// undo lost claims before pushing so the undo travels now.
		if err := s.applyPulled(ctx, res.NewEvents); err != nil && runErr == nil {
			runErr = err
		}
		res.NewEvents = nil
		if runErr == nil {
			runErr = s.unassignLostClaims(ctx, res.LocksLost)
		}
	}
	if runErr == nil && mode != "pull" {
		if runErr = s.applyLockPolicy("repo:global"); runErr == nil {
			runErr = s.pushUndoingLostClaims(ctx, sy, res)
		}
		if err := s.applyPulled(ctx, res.NewEvents); err != nil && runErr == nil {
			runErr = err
		}
	}
	return runErr
}

// applyPulled adds remote events to the view and moves its applied head to
// the (merged) local WAL head, which contains exactly the union.
func (s *Session) applyPulled(ctx context.Context, events []event.Event) error {
	head, err := s.WAL.Head()
	if err != nil {
		return err
	}
	if len(events) == 0 {
		return s.CatchUp(ctx)
	}
	return s.Store().Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.Apply(events); err != nil {
			return err
		}
		return tx.SetMeta("wal_head", head.String())
	})
}

// pushUndoingLostClaims pushes. A rejected push pulls before it retries,
// and that pull can find a local claim that lost to another clone's (their
// lock reached the remote first): undo those claims as a pull does, and
// push the undo as well.
func (s *Session) pushUndoingLostClaims(ctx context.Context, sy *gitsync.Syncer, res *gitsync.Result) error {
	for {
		handled := len(res.LocksLost)
		if err := sy.Push(ctx, res); err != nil || len(res.LocksLost) == handled {
			return err
		}
		if err := s.applyPulled(ctx, res.NewEvents); err != nil {
			return err
		}
		res.NewEvents = nil
		if err := s.unassignLostClaims(ctx, res.LocksLost[handled:]); err != nil {
			return err
		}
	}
}

// unassignLostClaims appends AssigneeRemoved for each local issue claim that
// lost to another clone's, so the issue shows only the winner.
func (s *Session) unassignLostClaims(ctx context.Context, lost []gitsync.LockLost) error {
	for _, l := range lost {
		idText, ok := strings.CutPrefix(l.Resource, "issue:")
		if !ok {
			continue
		}
		id, err := event.ParseIssueID(idText)
		if err != nil {
			continue
		}
		value, err := s.claimValue(ctx, id, l.LocalOwner)
		if err != nil {
			return err
		}
		sum, ok, err := s.Store().Issue(ctx, id.String())
		if err != nil || !ok || !contains(sum.Assignees, value) {
			continue
		}
		if winner, err := s.claimValue(ctx, id, l.Holder); err == nil && winner == value {
			continue // both claimants write the same value: nothing to undo
		}
		if _, err := s.writeEventsNoPolicy(ctx, id, event.AssigneeRemoved{User: value}); err != nil {
			return err
		}
	}
	return nil
}

// syncMessage says what the sync did, each thing once: events that
// moved, the remote being empty, a rebase, lost locks, retries.
func syncMessage(mode string, o SyncOutput, nothing bool) string {
	var parts []string
	for _, l := range o.LocksLost {
		parts = append(parts, fmt.Sprintf("lost %s to %s (their lease wins)", l.Resource, l.Holder))
	}
	pull, push := mode != "push", mode != "pull"
	pushed := push && !nothing && o.EventsPushed > 0
	switch {
	case o.RemoteEmpty && pushed:
		parts = append(parts, o.Remote+" was empty: pushed "+Plural(o.EventsPushed, "event"))
	case o.RemoteEmpty && push:
		parts = append(parts, o.Remote+" is empty and there is nothing to push")
	case o.RemoteEmpty:
		parts = append(parts, o.Remote+" has no events to pull")
	case pull && o.EventsPulled > 0:
		parts = append(parts, "pulled "+Plural(o.EventsPulled, "event")+" from "+o.Remote)
		if pushed {
			parts = append(parts, "pushed "+Plural(o.EventsPushed, "event"))
		} else if push {
			parts = append(parts, "nothing to push")
		}
	case pushed && pull:
		parts = append(parts, "nothing to pull; pushed "+Plural(o.EventsPushed, "event")+" to "+o.Remote)
	case pushed:
		parts = append(parts, "pushed "+Plural(o.EventsPushed, "event")+" to "+o.Remote)
	case pull && push:
		parts = append(parts, "nothing to pull or push")
	case pull:
		parts = append(parts, "nothing to pull from "+o.Remote)
	default:
		parts = append(parts, "nothing to push: "+o.Remote+" has every event")
	}
	if o.Rebased {
		parts = append(parts, "re-appended "+Plural(o.EventsRebased, "local event")+" on top of "+o.Remote+"'s WAL")
	}
	if o.Retries > 0 {
		parts = append(parts, Plural(o.Retries, "retry"))
	}
	return strings.Join(parts, "; ")
}

// refetchCommand is the git command that fetches the remote's grite refs
// whole into the tracking refs, as grite's own fetch names them.
func refetchCommand(remote string) string {
	t := "refs/grite/remotes/" + gitsync.TrackingName(remote) + "/"
	return "git fetch --refetch --no-filter " + remote + " '+refs/grite/wal*:" + t + "wal*' '+refs/grite/snapshots/*:" + t + "snapshots/*' '+refs/grite/locks/*:" + t + "locks/*'"
}

func syncError(err error, remote string, partial bool) error {
	var re *gitsync.RemoteError
	var we *wal.Error
	var pe *gitsync.PartialCloneError
	switch {
	case errors.As(err, &pe):
		// A limitation of this clone, not damage on the remote.
		e := &Error{Code: CodeGit, Message: pe.Error(), cause: err}
		e = e.with("missing", pe.Missing).with("missing_count", pe.Count)
		e = e.suggest("Nothing was merged and your local WAL is intact",
			"Check that "+remote+" lets clients fetch single objects by ID (git protocol version 2, or uploadpack.allowAnySHA1InWant), then run 'grite sync' again",
			"Or fetch grite's refs whole with git 2.36 or later: "+refetchCommand(remote)+", then run 'grite sync' again")
		return e.with("remote", remote)
	case errors.As(err, &we) && errors.Is(err, plumbing.ErrObjectNotFound):
		// git's fetch checks that every object it fetched is here: a
		// missing one was left out here (a partial clone) or lost here
		// since, never the remote's doing.
		e := AsError(err)
		e.Message = "commit " + we.Commit.String() + " of the WAL fetched from " + remote + " refers to an object missing from this repository: " + we.Err.Error()
		if partial {
			e.Code = CodeGit // a limitation of the clone, as PartialCloneError
			e.Message += " (this repository is a partial clone, and git left the object out)"
			e.Details["suggestions"] = []string{"Nothing was merged and your local WAL is intact",
				"Fetch grite's refs whole with git 2.36 or later: " + refetchCommand(remote) + ", then run 'grite sync' again"}
		} else {
			e.Details["suggestions"] = []string{"Nothing was merged and your local WAL is intact",
				"Run 'git fsck' in this repository to see what else is missing here"}
		}
		return e.with("remote", remote)
	case errors.As(err, &re):
		e := &Error{Message: re.Error(), cause: err}
		switch re.Kind {
		case gitsync.UnknownRemote:
			e.Code = CodeNotFound
			e = e.suggest("Run 'git remote -v' to see configured remotes", "Pass --remote NAME")
		case gitsync.PushRejected:
			e.Code = CodeConflict
			e = e.with("attempts", re.Attempts).with("elapsed_ms", re.Elapsed.Milliseconds())
			e = e.suggest("Your events are safe in the local WAL (re-appended on the remote's latest head); run 'grite sync' again",
				"Give sync longer while many clones push at once: --retry-budget 2m, or retry_budget_seconds in the [sync] table of .git/grite/config.toml")
		case gitsync.PushRefused:
			e.Code = CodeGit
			e = e.suggest("Check that you may push to "+remote+" (permissions, server hooks)", "Your events are safe in the local WAL; they go out on the next successful sync")
		case gitsync.TimedOut:
			e.Code = CodeGit
			e = e.suggest("Check the remote URL and your network; 'git fetch "+remote+"' shows whether it answers",
				"Give a slow remote longer with --timeout 5m", "Your events are safe in the local WAL; they go out on the next successful sync")
		case gitsync.OtherObjectFormat:
			e.Code = CodeGit
			e = e.suggest("Sync with a SHA-1 repository: grite's issue history is SHA-1 objects and refs, in every clone", "Your events are safe in the local WAL")
		case gitsync.RemoteCorrupt:
			e.Code = CodeGit
			e = e.suggest("Run 'git fsck' in the remote repository to find the damage", "Nothing was merged and your local WAL is intact")
		default:
			e.Code = CodeGit
			e = e.suggest("Check the remote URL and your network; 'git fetch "+remote+"' shows the same problem", "Your events are safe in the local WAL; they go out on the next successful sync")
		}
		return e.with("remote", remote)
	case errors.As(err, &we):
		e := AsError(err)
		e.Message = "the remote's WAL holds an invalid commit " + we.Commit.String() + ": " + we.Err.Error()
		e.Details["suggestions"] = []string{"Nothing was merged and your local WAL is intact", "Ask whoever pushed " + we.Commit.String()[:12] + " to check their grite version; run 'grite doctor' locally"}
		return e.with("remote", remote)
	}
	return err
}
