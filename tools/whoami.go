package tools

import (
	"context"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"grite/actor"
	"grite/gitdir"
	"grite/wal"
)

// WhoAmIOutput orients an agent: where it writes and as whom.
type WhoAmIOutput struct {
	Repo           string `json:"repo"`
	ActorID        string `json:"actor_id"`
	Label          string `json:"label"`
	ActorSource    string `json:"actor_source"`
	WALHead        string `json:"wal_head"`
	UnpushedEvents int    `json:"unpushed_events"`
	// Remote is the remote a sync uses by default, origin, or empty when
	// the repository has no remote of that name.
	Remote string `json:"remote"`
	// Claims are the actor's live claims, soonest expiry first: how an
	// agent restarted with the same actor finds its work again.
	Claims []ClaimJSON `json:"claims"`
}

// ClaimJSON is a live claim of the caller.
type ClaimJSON struct {
	IssueID       string `json:"issue_id"`
	Title         string `json:"title"`
	ExpiresUnixMS uint64 `json:"expires_unix_ms"`
}

// ownClaims lists the caller's live claims.
func (s *Session) ownClaims(ctx context.Context) ([]ClaimJSON, error) {
	if err := s.refreshLocks(ctx); err != nil {
		return nil, err
	}
	rows, err := s.Store.Claims(ctx, s.Actor.ID.String(), s.nowMS())
	if err != nil {
		return nil, err
	}
	out := make([]ClaimJSON, 0, len(rows))
	for _, c := range rows {
		out = append(out, ClaimJSON{IssueID: c.IssueID, Title: c.Title, ExpiresUnixMS: c.ExpiresUnixMS})
	}
	return out, nil
}

var WhoAmI = Op[struct{}, WhoAmIOutput]{
	Name: "whoami", Title: "Who am I", ReadOnly: true, Idempotent: true,
	Description: "Repository, actor, your live claims, WAL head and number of events not yet pushed to origin (remote is empty when there is no origin).",
	Run: func(ctx context.Context, s *Session, _ struct{}) (WhoAmIOutput, error) {
		head, err := s.WAL.Head()
		if err != nil {
			return WhoAmIOutput{}, err
		}
		out := WhoAmIOutput{Repo: s.RepoPath(), ActorID: s.Actor.ID.String(), Label: s.Actor.Config.Label,
			ActorSource: string(s.ActorSource), WALHead: hashOrEmpty(head)}
		// The cautious config reader's "cannot tell" (an include, say)
		// counts as a remote: only a config it read whole and found no
		// origin in says there is none.
		if urls, ok := gitdir.PlainRemoteURLs(s.Repo.CommonDir, "origin"); !ok || len(urls) > 0 {
			out.Remote = "origin"
		}
		pushed, err := s.Repo.ReadRef("refs/grite/remotes/origin/wal")
		if err != nil {
			return out, err
		}
		err = s.WAL.Walk(ctx, head, wal.ReadOptions{Stop: func(h plumbing.Hash) bool { return h == pushed }},
			func(c wal.Commit) error { out.UnpushedEvents += len(c.Events); return nil })
		if err != nil {
			return out, err
		}
		out.Claims, err = s.ownClaims(ctx)
		return out, err
	},
}

// RepoPath is the repository as users know it: the working tree, or the
// git dir of a bare repository.
func (s *Session) RepoPath() string {
	if s.Repo.WorkTree != "" {
		return s.Repo.WorkTree
	}
	return s.Repo.CommonDir
}

// SessionActorRequest says how an agent session picks its actor.
type SessionActorRequest struct {
	ActorID    string // pin an existing actor
	ActorLabel string // reuse the oldest actor with this label, or create it
	ClientName string // label of a fresh actor when neither is given
}

// SessionActor resolves the actor of an agent session: pinned, by label
// (under a lock, so sessions starting together agree), or a new actor of its
// own so that two agents never share one.
func SessionActor(dir actor.Dir, req SessionActorRequest, now time.Time) (*actor.Actor, actor.Source, error) {
	switch {
	case req.ActorID != "":
		a, err := dir.Find(req.ActorID)
		if err != nil {
			return nil, "", err
		}
		return a, actor.SourceFlag, nil
	case req.ActorLabel != "":
		if err := checkName("actor label", req.ActorLabel); err != nil {
			return nil, "", err
		}
		var a *actor.Actor
		err := dir.WithLock("actor-init", func() error {
			var err error
			if a, err = dir.FindByLabel(req.ActorLabel); a != nil || err != nil {
				return err
			}
			a, err = dir.Create(req.ActorLabel, false, now)
			return err
		})
		if err != nil {
			return nil, "", err
		}
		return a, actor.SourceFlag, nil
	}
	label := req.ClientName
	if label == "" {
		label = "mcp-session"
	}
	var a *actor.Actor
	err := dir.WithLock("actor-init", func() error {
		var err error
		a, err = dir.Create(label, false, now)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return a, actor.SourceAuto, nil
}
