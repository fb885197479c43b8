package gitdir

import (
	"context"
	"fmt"
	"slices"

	"github.com/go-git/go-git/v5/plumbing"
)

// HistoryCommit is one commit of a ref's history, as other tools keep
// their data in git (git-bug's bugs and identities): the names at the root
// of its tree and the content of the root files asked for.
type HistoryCommit struct {
	Hash    plumbing.Hash
	Parents []plumbing.Hash
	Names   []string
	Files   map[string][]byte
}

// MaxHistoryCommits bounds ReadHistory: a git-bug bug is a commit per
// edit, so this is far beyond any real one.
const MaxHistoryCommits = 1 << 20

// ReadHistory reads every commit reachable from head, each once, with the
// root-level blobs named in files (each at most limit bytes). It reads
// objects as the WAL does, loose or packed, without running git.
func (r *Repo) ReadHistory(ctx context.Context, head plumbing.Hash, files []string, limit int64) ([]HistoryCommit, error) {
	rd := NewReader(r)
	defer rd.Close()
	var out []HistoryCommit
	seen := map[plumbing.Hash]bool{head: true}
	for queue := []plumbing.Hash{head}; len(queue) > 0; {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h := queue[0]
		queue = queue[1:]
		if len(out) == MaxHistoryCommits {
			return nil, fmt.Errorf("history of %s: more than %d commits", head, MaxHistoryCommits)
		}
		c, err := rd.Commit(h)
		if err != nil {
			return nil, fmt.Errorf("commit %s: %w", h, err)
		}
		tree, err := rd.Tree(c.TreeHash)
		if err != nil {
			return nil, fmt.Errorf("tree of commit %s: %w", h, err)
		}
		hc := HistoryCommit{Hash: h, Parents: c.ParentHashes, Files: map[string][]byte{}}
		for _, e := range tree {
			hc.Names = append(hc.Names, e.Name)
			if !slices.Contains(files, e.Name) || !e.Mode.IsFile() {
				continue
			}
			b, _, err := rd.Read(e.Hash, plumbing.BlobObject, limit)
			if err != nil {
				return nil, fmt.Errorf("%s of commit %s: %w", e.Name, h, err)
			}
			hc.Files[e.Name] = b
		}
		out = append(out, hc)
		for _, p := range c.ParentHashes {
			if !seen[p] {
				seen[p] = true
				queue = append(queue, p)
			}
		}
	}
	return out, nil
}
