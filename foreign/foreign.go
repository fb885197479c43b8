// Package foreign converts the data of other issue trackers (beads'
// JSONL, git-bug's operation packs, the JSON of GitHub's gh) to and from
// one neutral list of issues, which tools/ turns into grite's events. It
// is pure: it reads bytes it is given and writes bytes it returns, and
// never touches git, SQLite, files or the clock.
//
// Everything here faces files written by other programs: a record that
// cannot be read is reported with its line (or index) and left out, never
// half-read, and no input makes it panic.
package foreign

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Sources are the trackers grite imports from, by the name the CLI uses.
const (
	SourceBeads  = "beads"
	SourceGitBug = "git-bug"
	SourceGitHub = "github"
)

// Issue is one issue of another tracker, already mapped onto what grite
// can hold: a title, a body, open or closed, labels (the source's own
// plus those standing for its priority, type and workflow status),
// assignees, comments and dependencies on other issues of the same
// source.
type Issue struct {
	Source string // SourceBeads, SourceGitBug or SourceGitHub
	ID     string // the source's ID of the issue
	// Line is the 1-based line (JSONL) or record (JSON array) the issue
	// came from; 0 when the source has no lines (git-bug).
	Line      int
	Title     string
	Body      string
	Closed    bool
	Labels    []string
	Assignees []string
	// Author is the person who opened the issue, as text ("Ann Example
	// <ann@example.com>"); "" when the source does not say.
	Author string
	// Times in Unix milliseconds; 0 when the source does not say.
	CreatedMS, UpdatedMS, ClosedMS int64
	// CloseReason is why the issue was closed (beads' close_reason).
	CloseReason string
	Comments    []Comment
	Deps        []Dep
	// URL is where the issue lives on the web, when the source says.
	URL string
}

// Comment is one comment of an issue.
type Comment struct {
	Author    string
	Body      string
	CreatedMS int64
}

// Dep says the issue has a dependency of Type on the issue Target (an ID
// of the same source). Type is the source's own word: beads' blocks,
// parent-child, related or discovered-from.
type Dep struct {
	Target string
	Type   string
}

// RecordError is a record that could not be read: where, and why.
type RecordError struct {
	Line    int    `json:"line,omitempty"`
	ID      string `json:"id,omitempty"`
	Message string `json:"message"`
}

func (e RecordError) Error() string {
	var where []string
	if e.Line > 0 {
		where = append(where, fmt.Sprintf("line %d", e.Line))
	}
	if e.ID != "" {
		where = append(where, e.ID)
	}
	if len(where) == 0 {
		return e.Message
	}
	return strings.Join(where, ", ") + ": " + e.Message
}

// Parsed is what a reader made of its input: the issues it could read,
// the records it could not, and how many it left out on purpose (records
// that are not issues, deleted issues).
type Parsed struct {
	Issues  []Issue
	Errors  []RecordError
	Ignored int
}

// Label prefixes that stand for fields grite has no place for. Beads'
// priority becomes p0..p4 (the form grite's own examples use).
const (
	TypeLabelPrefix   = "type:"
	StatusLabelPrefix = "status:"
)

// PriorityLabel is the label of a beads priority.
func PriorityLabel(p int) string { return fmt.Sprintf("p%d", p) }

// parsePriorityLabel is the priority a label stands for.
func parsePriorityLabel(l string) (int, bool) {
	if len(l) == 2 && l[0] == 'p' && l[1] >= '0' && l[1] <= '4' {
		return int(l[1] - '0'), true
	}
	return 0, false
}

// DerivedLabel says whether a label stands for a field of the source
// (priority, type, status) rather than being one of its labels: a
// re-import replaces these when the source changes them.
func DerivedLabel(l string) bool {
	_, isPriority := parsePriorityLabel(l)
	return isPriority || strings.HasPrefix(l, TypeLabelPrefix) || strings.HasPrefix(l, StatusLabelPrefix)
}

// ms is t in Unix milliseconds, 0 for the zero time.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// parseTime reads an RFC 3339 time; "" is the zero time.
func parseTime(field, s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not an RFC 3339 time", field, s)
	}
	return ms(t), nil
}

// sortedUnique returns vs without repeats or blanks, sorted.
func sortedUnique(vs []string) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
