package tools

import (
	"context"
	"os"
	"sync/atomic"

	"grite/gitdir"
	"grite/wal"
)

// GCInput is `grite gc`.
type GCInput struct {
	// Auto packs only when grite's loose objects passed the threshold
	// (what a command runs in the background after its work).
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
		if in.Auto && out.LooseBefore < gitdir.LooseThreshold {
			out.Skipped = "not due"
			return out, nil
		}
		var err error
		out.PackResult, err = wal.PackLoose(ctx, s.Repo)
		return out, err
	},
}

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
func PackAsync(dir string, report func(error)) {
	if !packing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer packing.Store(false)
		repo, err := gitdir.Discover(dir)
		if err == nil {
			_, err = wal.PackLoose(context.Background(), repo)
		}
		if err != nil && report != nil {
			report(err)
		}
	}()
}
