package tools

import (
	"context"
	"os"
	"sync/atomic"
	"time"

	"grite/gitdir"
	"grite/wal"
)

// GCInput is `grite gc`.
type GCInput struct {
	// Auto packs only when it is due, as a server does (packWhenQuiet):
	// grite's loose objects passed the threshold and no grite process has
	// written one for PackQuiet, waiting for that up to AutoWait, or they
	// reached PackLimit. It is what a command runs in the background
	// after its work; one such waiter per repository is enough, so a
	// second one returns at once.
	Auto bool `json:"auto,omitempty"`
}

// GCOutput says what gc did.
type GCOutput struct {
	gitdir.PackResult
	// LooseBefore is grite's count of its loose objects before packing.
	LooseBefore int `json:"loose_before"`
}

// GC packs the loose objects of grite's refs and merges grite's small
// packs (see wal.PackLoose); nothing of the user's is touched.
var GC = Op[GCInput, GCOutput]{
	Name: "gc", Title: "Pack grite's objects", Idempotent: true,
	Description: "Pack the loose objects grite wrote and merge its small packs, as git gc does for a repository.",
	Run: func(ctx context.Context, s *Session, in GCInput) (GCOutput, error) {
		out := GCOutput{LooseBefore: s.Repo.LooseCount()}
		if !in.Auto {
			var err error
			out.PackResult, err = wal.PackLoose(ctx, s.Repo)
			return out, err
		}
		if out.LooseBefore < gitdir.LooseThreshold {
			out.Skipped = "not due"
			return out, nil
		}
		packed := false
		waited, err := s.Repo.TryFileLock("pack-wait", func() error {
			var err error
			out.PackResult, packed, err = packWhenQuiet(s.Repo, PackQuiet, PackLimit, time.Now().Add(AutoWait), time.Sleep)
			return err
		})
		switch {
		case err != nil:
		case !waited:
			out.Skipped = "another grite process waits to pack"
		case !packed:
			out.Skipped = "the repository stayed busy, or another process packed"
		}
		return out, err
	},
}

// AutoWait bounds how long grite gc --auto waits for a quiet moment.
const AutoWait = time.Minute

// AutoPackEnv turns automatic packing off when set to 0 (grite gc still
// packs).
const AutoPackEnv = "GRITE_AUTO_PACK"

// PackDue reports whether grite's loose objects passed the threshold and
// automatic packing is on: the caller then packs without making the user
// wait (a detached grite gc --auto, or PackAsync).
func (s *Session) PackDue() bool {
	return os.Getenv(AutoPackEnv) != "0" && s.Repo.LooseCount() >= gitdir.LooseThreshold
}

var packing atomic.Bool

// PackAsync packs the repository at dir on a goroutine of its own, with a
// repository handle of its own (a long-lived server's writes go on
// meanwhile), at most one at a time per process; failures go to report.
// It packs in a quiet moment (packWhenQuiet): packing removes the loose
// files it packed, and on a busy swarm that work (and, on some disks, the
// slower file creation that follows removals) landed in the middle of
// other sessions' calls.
func PackAsync(dir string, report func(error)) {
	if !packing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer packing.Store(false)
		repo, err := gitdir.Discover(dir)
		if err == nil {
			_, _, err = packWhenQuiet(repo, PackQuiet, PackLimit, time.Time{}, time.Sleep)
		}
		if err != nil && report != nil {
			report(err)
		}
	}()
}

// PackQuiet is how long no grite process of the repository may have
// written a loose object before a server packs them.
const PackQuiet = 2 * time.Second

// PackLimit is how many loose objects grite lets accumulate while the
// repository is never quiet before it packs anyway: a 4 KiB file each,
// so about 32 MiB, and 1,024 appends (git's own gc.auto is 6,700). A
// packing removes every file it packed at once, and on a disk that
// discards freed blocks, a thousand removals slowed every file creation
// on the machine for minutes: inside a swarm, every session paid for it
// (claim p50 11 ms with no packing in the drain, 31 ms with two).
const PackLimit = 64 * gitdir.LooseThreshold

// packPoll bounds one wait of packWhenQuiet, so that it sees the limit
// reached while it waits for quiet.
const packPoll = 250 * time.Millisecond

// packWhenQuiet packs grite's loose objects once no grite process of the
// repository has written one for quiet, or as soon as they reach limit;
// it reports false without packing when they drop below the threshold
// meanwhile (another process packed them) or, with a non-zero until, when
// that time passes first. sleep is time.Sleep outside tests.
func packWhenQuiet(repo *gitdir.Repo, quiet time.Duration, limit int, until time.Time, sleep func(time.Duration)) (gitdir.PackResult, bool, error) {
	for {
		n := repo.LooseCount()
		if n < gitdir.LooseThreshold {
			return gitdir.PackResult{}, false, nil
		}
		wait := quiet - time.Since(repo.LooseWritten())
		if n >= limit || wait <= 0 {
			res, err := wal.PackLoose(context.Background(), repo)
			return res, err == nil, err
		}
		if !until.IsZero() && time.Now().After(until) {
			return gitdir.PackResult{}, false, nil
		}
		sleep(min(wait, packPoll))
	}
}
