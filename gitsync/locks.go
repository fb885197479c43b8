package gitsync

import (
	"context"
	"errors"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"grite/gitdir"
	"grite/lock"
)

// LockLost is a local live lock that lost to the remote's live lock on the
// same resource (the remote is the arbiter: the first to publish wins).
type LockLost struct {
	Resource      string `json:"resource"`
	LocalOwner    string `json:"local_owner"`
	Holder        string `json:"holder"`
	ExpiresUnixMS uint64 `json:"expires_unix_ms"`
}

func (s *Syncer) lockTrackingPrefix() string { return s.tracking(lock.Prefix) }

// reconcileLocks merges fetched lock refs into refs/grite/locks/* by the
// rules of docs/format.md §8 (Across clones). Local refs only move
// forward, except that a diverged local lock loses to a live remote one.
func (s *Syncer) reconcileLocks(ctx context.Context, res *Result) error {
	remote, err := s.repo.ListRefs(s.lockTrackingPrefix())
	if err != nil {
		return err
	}
	locks := lock.New(s.repo)
	nowMS := uint64(s.cfg.Now().UnixMilli())
	for name, r := range remote {
		ref := lock.Prefix + strings.TrimPrefix(name, s.lockTrackingPrefix())
		for attempt := 0; attempt < 5; attempt++ {
			err := s.reconcileOne(ctx, locks, ref, r, nowMS, res)
			var changed *gitdir.ErrRefChanged
			if errors.As(err, &changed) {
				continue // a local acquire raced us: look again
			}
			if err != nil {
				return err
			}
			break
		}
	}
	return nil
}

func (s *Syncer) reconcileOne(ctx context.Context, locks *lock.Manager, ref string, r plumbing.Hash, nowMS uint64, res *Result) error {
	l, err := s.repo.ReadRef(ref)
	if err != nil {
		return err
	}
	switch {
	case l == r:
		return nil
	case l.IsZero():
		return locks.Adopt(ref, r, l)
	}
	base, err := s.mergeBase(ctx, l, r)
	if err != nil {
		return err
	}
	switch base {
	case l: // local is behind: fast-forward
		return locks.Adopt(ref, r, l)
	case r: // remote is behind: the push will fast-forward it
		return nil
	}
	remoteLock, err := locks.ReadCommit(r)
	if err != nil {
		return locks.Adopt(ref, r, l) // unreadable remote lock holds nothing; adopt its history
	}
	localLock, err := locks.ReadCommit(l)
	if err != nil {
		return locks.Adopt(ref, r, l)
	}
	remoteLive, localLive := remoteLock.Live(nowMS), localLock.Live(nowMS)
	switch {
	case remoteLock.Owner == localLock.Owner && (remoteLive || localLive):
		// Same owner on both sides: one commit on top with the later expiry.
		keep := localLock
		if remoteLock.ExpiresUnixMS > keep.ExpiresUnixMS {
			keep = remoteLock
		}
		_, err := locks.WriteOnto(ref, r, l, keep, s.cfg.Now())
		return err
	case remoteLive:
		if localLive {
			res.LocksLost = append(res.LocksLost, LockLost{
				Resource: localLock.Resource, LocalOwner: localLock.Owner,
				Holder: remoteLock.Owner, ExpiresUnixMS: remoteLock.ExpiresUnixMS,
			})
		}
		return locks.Adopt(ref, r, l)
	case localLive:
		// The remote's lock is expired or released: ours stands, rewritten on
		// top of the remote's history so the push fast-forwards.
		_, err := locks.WriteOnto(ref, r, l, localLock, s.cfg.Now())
		return err
	}
	return locks.Adopt(ref, r, l)
}
