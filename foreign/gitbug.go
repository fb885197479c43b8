package foreign

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// GitBugEntity is one git-bug bug as its ref holds it: the ID (the last
// element of refs/bugs/<id>) and the operation packs of the commits
// reachable from the ref, in any order.
type GitBugEntity struct {
	ID    string
	Packs []GitBugPack
}

// GitBugPack is one commit of a bug: the "ops" file of its tree and the
// Lamport time of its "edit-clock-N" entry, which orders the packs.
type GitBugPack struct {
	Commit    string
	EditClock uint64
	Ops       []byte
}

// GitBugIdentity is a git-bug identity's latest version.
type GitBugIdentity struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

func (i GitBugIdentity) text() string {
	switch {
	case i.Name != "" && i.Email != "":
		return i.Name + " <" + i.Email + ">"
	case i.Name != "":
		return i.Name
	}
	return i.Email
}

// git-bug's operation types (entities/bug/operation.go).
const (
	gitBugCreate       = 1
	gitBugSetTitle     = 2
	gitBugAddComment   = 3
	gitBugSetStatus    = 4
	gitBugLabelChange  = 5
	gitBugEditComment  = 6
	gitBugStatusClosed = 2
)

type gitBugPackJSON struct {
	Author *gitBugAuthor     `json:"author"`
	Ops    []json.RawMessage `json:"ops"`
}

type gitBugAuthor struct {
	ID string `json:"id"`
}

type gitBugOp struct {
	Type      int           `json:"type"`
	Timestamp int64         `json:"timestamp"`
	Author    *gitBugAuthor `json:"author"` // per op in older packs
	Title     string        `json:"title"`
	Message   string        `json:"message"`
	Status    int           `json:"status"`
	Added     []string      `json:"added"`
	Removed   []string      `json:"removed"`
	Target    string        `json:"target"`
}

// ParseGitBug folds each bug's operations into an issue: the create's
// title and message become title and body, later titles and edits
// replace them, comments, label changes and status changes apply in
// Lamport order. Authors become text ("Name <email>") from identities.
// git-bug counts the create's message as the first comment; grite makes
// it the body, so an issue has one comment fewer than git-bug lists.
func ParseGitBug(bugs []GitBugEntity, identities map[string]GitBugIdentity) Parsed {
	var p Parsed
	for _, b := range bugs {
		iss, err := gitBugIssue(b, identities)
		if err != nil {
			p.Errors = append(p.Errors, RecordError{ID: b.ID, Message: err.Error()})
			continue
		}
		p.Issues = append(p.Issues, iss)
	}
	return p
}

func gitBugIssue(b GitBugEntity, identities map[string]GitBugIdentity) (Issue, error) {
	packs := slices.Clone(b.Packs)
	slices.SortFunc(packs, func(x, y GitBugPack) int {
		if x.EditClock != y.EditClock {
			return cmpUint(x.EditClock, y.EditClock)
		}
		return strings.Compare(x.Commit, y.Commit)
	})
	iss := Issue{Source: SourceGitBug, ID: b.ID}
	labels := map[string]bool{}
	comments := map[string]int{} // op ID -> index in iss.Comments; -1 the body
	created := false
	author := func(a *gitBugAuthor) string {
		if a == nil {
			return ""
		}
		if id, ok := identities[a.ID]; ok {
			return id.text()
		}
		return a.ID
	}
	for _, pk := range packs {
		var pack gitBugPackJSON
		if err := json.Unmarshal(pk.Ops, &pack); err != nil {
			return Issue{}, fmt.Errorf("commit %s: ops: %s", pk.Commit, jsonErr(err))
		}
		for i, raw := range pack.Ops {
			var op gitBugOp
			if err := json.Unmarshal(raw, &op); err != nil {
				return Issue{}, fmt.Errorf("commit %s: op %d: %s", pk.Commit, i, jsonErr(err))
			}
			if !created && op.Type != gitBugCreate {
				return Issue{}, fmt.Errorf("commit %s: op %d of type %d comes before the bug's creation", pk.Commit, i, op.Type)
			}
			who := author(pack.Author)
			if op.Author != nil {
				who = author(op.Author)
			}
			at := op.Timestamp * 1000
			iss.UpdatedMS = max(iss.UpdatedMS, at)
			// An op's ID is the SHA-256 of its JSON as stored (git-bug's
			// entity.DeriveId); EditComment names the comment by it.
			sum := sha256.Sum256(raw)
			opID := hex.EncodeToString(sum[:])
			switch op.Type {
			case gitBugCreate:
				if created {
					return Issue{}, fmt.Errorf("commit %s: a second creation", pk.Commit)
				}
				created = true
				iss.Title, iss.Body, iss.Author, iss.CreatedMS = op.Title, op.Message, who, at
				comments[opID] = -1
			case gitBugSetTitle:
				iss.Title = op.Title
			case gitBugAddComment:
				comments[opID] = len(iss.Comments)
				iss.Comments = append(iss.Comments, Comment{Author: who, Body: op.Message, CreatedMS: at})
			case gitBugSetStatus:
				iss.Closed = op.Status == gitBugStatusClosed
				if iss.Closed {
					iss.ClosedMS = at
				}
			case gitBugLabelChange:
				for _, l := range op.Added {
					labels[l] = true
				}
				for _, l := range op.Removed {
					delete(labels, l)
				}
			case gitBugEditComment:
				if idx, ok := comments[op.Target]; ok {
					if idx < 0 {
						iss.Body = op.Message
					} else {
						iss.Comments[idx].Body = op.Message
					}
				}
			}
		}
	}
	if !created {
		return Issue{}, fmt.Errorf("no creation operation")
	}
	if strings.TrimSpace(iss.Title) == "" {
		return Issue{}, fmt.Errorf("no title")
	}
	for l := range labels {
		iss.Labels = append(iss.Labels, l)
	}
	iss.Labels = sortedUnique(iss.Labels)
	kept := iss.Comments[:0]
	for _, c := range iss.Comments {
		if strings.TrimSpace(c.Body) != "" {
			kept = append(kept, c)
		}
	}
	iss.Comments = kept
	if !iss.Closed {
		iss.ClosedMS = 0
	}
	return iss, nil
}

// GitBugIdentityOf reads the JSON of an identity version (the "version"
// file of a refs/identities/<id> commit).
func GitBugIdentityOf(data []byte) (GitBugIdentity, error) {
	var id GitBugIdentity
	if err := json.Unmarshal(data, &id); err != nil {
		return id, fmt.Errorf("identity: %s", jsonErr(err))
	}
	return id, nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
