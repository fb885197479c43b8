package tools

import (
	"context"
	"sort"
	"strconv"
	"strings"

	"grite/foreign"
)

// DefaultGitBugRefs is where git-bug keeps its bugs.
const DefaultGitBugRefs = "refs/bugs/"

// gitBugIdentityRefs is where git-bug keeps the people who wrote them.
const gitBugIdentityRefs = "refs/identities/"

// maxGitBugFile caps one file of a git-bug commit (an operation pack
// holds a few operations, each with at most a comment's text).
const maxGitBugFile = 16 << 20

// readGitBug reads the bugs under prefix and the identities of their
// authors from this repository's refs.
func (s *Session) readGitBug(ctx context.Context, prefix string) (foreign.Parsed, error) {
	if prefix == "" {
		prefix = DefaultGitBugRefs
	}
	if !strings.HasPrefix(prefix, "refs/") {
		return foreign.Parsed{}, newErr(CodeInvalidArgs, "--ref-prefix must start with refs/, got %q", prefix)
	}
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	identities := map[string]foreign.GitBugIdentity{}
	idRefs, err := s.Repo.ListRefs(gitBugIdentityRefs)
	if err != nil {
		return foreign.Parsed{}, err
	}
	var p foreign.Parsed
	for ref, head := range idRefs {
		commits, err := s.Repo.ReadHistory(ctx, head, []string{"version"}, maxGitBugFile)
		if err != nil || len(commits) == 0 {
			continue // an author shown by ID is no reason to stop
		}
		if id, err := foreign.GitBugIdentityOf(commits[0].Files["version"]); err == nil {
			identities[strings.TrimPrefix(ref, gitBugIdentityRefs)] = id
		}
	}
	refs, err := s.Repo.ListRefs(prefix)
	if err != nil {
		return foreign.Parsed{}, err
	}
	if len(refs) == 0 {
		return foreign.Parsed{}, newErr(CodeNotFound, "no git-bug bugs under %s in this repository", prefix).
			suggest("Fetch them first: git fetch REMOTE '" + prefix + "*:" + prefix + "*'")
	}
	names := make([]string, 0, len(refs))
	for ref := range refs {
		names = append(names, ref)
	}
	sort.Strings(names)
	var bugs []foreign.GitBugEntity
	for _, ref := range names {
		id := strings.TrimPrefix(ref, prefix)
		commits, err := s.Repo.ReadHistory(ctx, refs[ref], []string{"ops"}, maxGitBugFile)
		if err != nil {
			if ctx.Err() != nil {
				return foreign.Parsed{}, ctx.Err()
			}
			p.Errors = append(p.Errors, foreign.RecordError{ID: id, Message: err.Error()})
			continue
		}
		b := foreign.GitBugEntity{ID: id}
		for _, c := range commits {
			ops, ok := c.Files["ops"]
			if !ok {
				continue
			}
			b.Packs = append(b.Packs, foreign.GitBugPack{Commit: c.Hash.String(), EditClock: editClock(c.Names), Ops: ops})
		}
		bugs = append(bugs, b)
	}
	parsed := foreign.ParseGitBug(bugs, identities)
	parsed.Errors = append(p.Errors, parsed.Errors...)
	return parsed, nil
}

// editClock is the Lamport time a git-bug commit's tree names in an
// "edit-clock-N" entry; 0 if none.
func editClock(names []string) uint64 {
	for _, n := range names {
		if v, ok := strings.CutPrefix(n, "edit-clock-"); ok {
			if c, err := strconv.ParseUint(v, 10, 64); err == nil {
				return c
			}
		}
	}
	return 0
}
