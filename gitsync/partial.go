package gitsync

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// PartialCloneError is a partial clone (see gitdir.Repo.Promisor) that
// still lacks objects of the grite refs it fetched after asking git to
// fetch them: a limitation of the clone (or of what the remote lets a
// client fetch by ID), not damage on the remote.
type PartialCloneError struct {
	Remote  string
	Missing []string // the missing object IDs, the first few
	Count   int      // how many are missing
	Detail  string   // what git said when fetching them, if it failed
}

func (e *PartialCloneError) Error() string {
	msg := fmt.Sprintf("this repository is a partial clone, and %d objects of the grite refs fetched from %q are missing here (%s): git left them out of the fetch, and fetching them by ID did not bring them",
		e.Count, e.Remote, strings.Join(e.Missing, ", "))
	if e.Detail != "" {
		msg += " (git: " + e.Detail + ")"
	}
	return msg
}

// maxListed is how many missing object IDs an error names.
const maxListed = 3

// fetchMissing makes the objects of the fetched grite refs present in a
// partial clone. The fetch asked for every object (--no-filter), but the
// remote leaves out what this clone "has", and a clone may have commits
// without their trees or blobs (a filtered fetch of grite refs, or the
// fetch of a grite version before this one): those are listed with git
// rev-list --missing=print and fetched by ID in one git fetch, the way git's
// own lazy fetch does (promisor-remote.c), but for all of them at once.
// grite reads objects from the object store itself, not through git,
// so git's lazy fetch never runs for it.
func (s *Syncer) fetchMissing(ctx context.Context) error {
	missing, err := s.missingObjects(ctx)
	if err != nil || len(missing) == 0 {
		return err
	}
	// The noop negotiation sends no haves: the remote must not leave out
	// an object because a commit this clone has refers to it.
	_, stderr, err := s.runNetGitInput(ctx, strings.Join(missing, "\n")+"\n",
		"-c", "fetch.negotiationAlgorithm=noop", "fetch", "--no-tags", "--no-write-fetch-head",
		"--recurse-submodules=no", "--no-filter", "--quiet", "--stdin", s.cfg.Remote)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, errTimedOut) {
		return &RemoteError{Kind: TimedOut, Remote: s.cfg.Remote, Detail: "fetch of the objects this partial clone lacks", Timeout: s.cfg.Timeout}
	}
	still, lerr := s.missingObjects(ctx)
	if lerr != nil || len(still) == 0 {
		return lerr
	}
	e := &PartialCloneError{Remote: s.cfg.Remote, Count: len(still), Missing: still[:min(len(still), maxListed)]}
	if err != nil {
		e.Detail = lastLines(stderr, 2)
	}
	return e
}

// missingObjects lists the objects reachable from this remote's tracking
// refs that are missing here, leaving out the history of the local WAL
// head, which grite wrote or has read whole.
func (s *Syncer) missingObjects(ctx context.Context) ([]string, error) {
	tips, err := s.repo.ListRefs(s.tracking("refs/grite/"))
	if err != nil || len(tips) == 0 {
		return nil, err
	}
	var revs strings.Builder
	for _, h := range tips {
		revs.WriteString(h.String() + "\n")
	}
	local, err := s.wal.Head()
	if err != nil {
		return nil, err
	}
	if !local.IsZero() {
		revs.WriteString("^" + local.String() + "\n") // git before 2.42 takes no --not on stdin
	}
	// --missing=print also keeps rev-list from fetching them one by one.
	out, stderr, err := s.runGitInput(ctx, revs.String(), "rev-list", "--objects", "--missing=print", "--stdin")
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("list the objects this partial clone lacks: git rev-list: %v: %s", err, lastLines(stderr, 2))
	}
	var missing []string
	for _, line := range strings.Split(out, "\n") {
		if id, ok := strings.CutPrefix(line, "?"); ok {
			missing = append(missing, strings.TrimSpace(id))
		}
	}
	return missing, nil
}
