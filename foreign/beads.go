package foreign

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// beadsIssue is one line of beads' JSONL: what `bd export` writes, and
// what `.beads/issues.jsonl` held in older versions. Fields grite has no
// use for are not listed; the decoder skips them.
type beadsIssue struct {
	Type               string         `json:"_type,omitempty"`
	ID                 string         `json:"id"`
	Title              string         `json:"title"`
	Description        string         `json:"description,omitempty"`
	Design             string         `json:"design,omitempty"`
	AcceptanceCriteria string         `json:"acceptance_criteria,omitempty"`
	Notes              string         `json:"notes,omitempty"`
	Status             string         `json:"status"`
	Priority           *int           `json:"priority,omitempty"`
	IssueType          string         `json:"issue_type,omitempty"`
	Assignee           string         `json:"assignee,omitempty"`
	CreatedAt          string         `json:"created_at,omitempty"`
	CreatedBy          string         `json:"created_by,omitempty"`
	UpdatedAt          string         `json:"updated_at,omitempty"`
	ClosedAt           string         `json:"closed_at,omitempty"`
	CloseReason        string         `json:"close_reason,omitempty"`
	Labels             []string       `json:"labels,omitempty"`
	Dependencies       []beadsDep     `json:"dependencies,omitempty"`
	Comments           []beadsComment `json:"comments,omitempty"`
}

type beadsDep struct {
	IssueID     string `json:"issue_id"`
	DependsOnID string `json:"depends_on_id"`
	Type        string `json:"type"`
	CreatedAt   string `json:"created_at,omitempty"`
}

type beadsComment struct {
	IssueID   string `json:"issue_id,omitempty"`
	Author    string `json:"author,omitempty"`
	Text      string `json:"text"`
	CreatedAt string `json:"created_at,omitempty"`
}

// Beads' dependency types (a record {issue_id: A, depends_on_id: B,
// type: T} sits on A).
const (
	BeadsBlocks         = "blocks"          // A waits for B
	BeadsParentChild    = "parent-child"    // A is a child of B
	BeadsRelated        = "related"         // no one waits
	BeadsDiscoveredFrom = "discovered-from" // A was found while working on B
)

// MaxBeadsLine caps one line of beads JSONL (a record with a 1 MiB body
// and its comments fits many times over).
const MaxBeadsLine = 64 << 20

// body sections that beads keeps apart and grite folds into the body.
var beadsSections = []struct{ heading string }{{"Design"}, {"Acceptance criteria"}, {"Notes"}}

// ParseBeads reads beads JSONL. Each line is one issue; blank lines are
// skipped, a line that is not an issue record (`_type` other than
// "issue") and a deleted issue (status tombstone) are ignored, and a line
// that cannot be read is reported with its number.
func ParseBeads(data []byte) Parsed {
	var p Parsed
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), MaxBeadsLine)
	firstLine := map[string]int{}
	line := 0
	for sc.Scan() {
		line++
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		var rec beadsIssue
		if err := json.Unmarshal(raw, &rec); err != nil {
			p.Errors = append(p.Errors, RecordError{Line: line, Message: "not a JSON object: " + jsonErr(err)})
			continue
		}
		if rec.Type != "" && rec.Type != "issue" {
			p.Ignored++
			continue
		}
		if rec.Status == "tombstone" {
			p.Ignored++
			continue
		}
		iss, err := rec.issue()
		if err != nil {
			p.Errors = append(p.Errors, RecordError{Line: line, ID: rec.ID, Message: err.Error()})
			continue
		}
		if first, dup := firstLine[iss.ID]; dup {
			p.Errors = append(p.Errors, RecordError{Line: line, ID: iss.ID, Message: fmt.Sprintf("the same id as line %d", first)})
			continue
		}
		firstLine[iss.ID] = line
		iss.Line = line
		p.Issues = append(p.Issues, iss)
	}
	if err := sc.Err(); err != nil {
		p.Errors = append(p.Errors, RecordError{Line: line + 1, Message: fmt.Sprintf("cannot read on: %v (a line longer than %d bytes?)", err, MaxBeadsLine)})
	}
	return p
}

// jsonErr is err's message without the package's prefix.
func jsonErr(err error) string { return strings.TrimPrefix(err.Error(), "json: ") }

func (r beadsIssue) issue() (Issue, error) {
	if strings.TrimSpace(r.ID) == "" {
		return Issue{}, fmt.Errorf("no id")
	}
	if strings.TrimSpace(r.Title) == "" {
		return Issue{}, fmt.Errorf("no title")
	}
	iss := Issue{Source: SourceBeads, ID: r.ID, Title: r.Title, Author: r.CreatedBy, CloseReason: r.CloseReason}
	iss.Body = r.Description
	for i, extra := range []string{r.Design, r.AcceptanceCriteria, r.Notes} {
		if strings.TrimSpace(extra) != "" {
			iss.Body += "\n\n## " + beadsSections[i].heading + "\n\n" + extra
		}
	}
	iss.Body = strings.TrimPrefix(iss.Body, "\n\n")
	switch r.Status {
	case "closed":
		iss.Closed = true
	case "", "open":
	default:
		iss.Labels = append(iss.Labels, StatusLabelPrefix+r.Status)
	}
	if r.Priority != nil {
		if *r.Priority < 0 || *r.Priority > 4 {
			return Issue{}, fmt.Errorf("priority %d is not between 0 and 4", *r.Priority)
		}
		iss.Labels = append(iss.Labels, PriorityLabel(*r.Priority))
	}
	if r.IssueType != "" {
		iss.Labels = append(iss.Labels, TypeLabelPrefix+r.IssueType)
	}
	iss.Labels = sortedUnique(append(iss.Labels, r.Labels...))
	if r.Assignee != "" {
		iss.Assignees = []string{r.Assignee}
	}
	var err error
	if iss.CreatedMS, err = parseTime("created_at", r.CreatedAt); err != nil {
		return Issue{}, err
	}
	if iss.UpdatedMS, err = parseTime("updated_at", r.UpdatedAt); err != nil {
		return Issue{}, err
	}
	if iss.ClosedMS, err = parseTime("closed_at", r.ClosedAt); err != nil {
		return Issue{}, err
	}
	for i, c := range r.Comments {
		at, err := parseTime(fmt.Sprintf("comments[%d].created_at", i), c.CreatedAt)
		if err != nil {
			return Issue{}, err
		}
		if strings.TrimSpace(c.Text) == "" {
			continue // nothing to show; grite refuses empty comments
		}
		iss.Comments = append(iss.Comments, Comment{Author: c.Author, Body: c.Text, CreatedMS: at})
	}
	for i, d := range r.Dependencies {
		if d.IssueID != "" && d.IssueID != r.ID {
			continue // a record of the other issue's, listed here too
		}
		switch d.Type {
		case BeadsBlocks, BeadsParentChild, BeadsRelated, BeadsDiscoveredFrom:
		default:
			return Issue{}, fmt.Errorf("dependencies[%d]: unknown type %q (want blocks, parent-child, related or discovered-from)", i, d.Type)
		}
		if d.DependsOnID == "" {
			return Issue{}, fmt.Errorf("dependencies[%d]: no depends_on_id", i)
		}
		iss.Deps = append(iss.Deps, Dep{Target: d.DependsOnID, Type: d.Type})
	}
	return iss, nil
}

// Beads' defaults, for issues that carry no label saying otherwise.
const (
	beadsDefaultPriority = 2
	beadsDefaultType     = "task"
	beadsMaxTitle        = 500 // bytes; bd refuses longer titles
)

// The issue types and statuses every beads version accepts without
// configuration; a label naming another stays a label on export.
var (
	beadsTypes    = []string{"bug", "feature", "task", "epic", "chore"}
	beadsStatuses = []string{"in_progress", "blocked", "deferred"}
)

// BeadsJSONL writes issues as beads JSONL, one line each, in the form
// `bd import` accepts: the labels ParseBeads derives from priority, type
// and status go back to those fields (priority 2 and type task when an
// issue has none), a closed issue has closed_at (its update time if it
// does not say when it closed), and a title longer than beads allows is
// cut at a character boundary. Each issue's ID must be a beads ID; Deps
// targets too.
func BeadsJSONL(issues []Issue) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, iss := range issues {
		if err := enc.Encode(beadsRecord(iss)); err != nil {
			return nil, fmt.Errorf("encode %s: %w", iss.ID, err)
		}
	}
	return buf.Bytes(), nil
}

func beadsRecord(iss Issue) beadsIssue {
	priority := beadsDefaultPriority
	r := beadsIssue{
		Type: "issue", ID: iss.ID, Title: cutTitle(iss.Title), Description: iss.Body,
		Status: "open", Priority: &priority, IssueType: beadsDefaultType, CreatedBy: iss.Author,
		CreatedAt: rfc3339(iss.CreatedMS), UpdatedAt: rfc3339(max(iss.UpdatedMS, iss.CreatedMS)),
	}
	for _, l := range iss.Labels {
		if p, ok := parsePriorityLabel(l); ok {
			priority = p
		} else if t, ok := strings.CutPrefix(l, TypeLabelPrefix); ok && slices.Contains(beadsTypes, t) {
			r.IssueType = t
		} else if st, ok := strings.CutPrefix(l, StatusLabelPrefix); ok && slices.Contains(beadsStatuses, st) {
			r.Status = st
		} else {
			r.Labels = append(r.Labels, l)
		}
	}
	if iss.Closed {
		r.Status = "closed"
		closed := iss.ClosedMS
		if closed == 0 {
			closed = max(iss.UpdatedMS, iss.CreatedMS)
		}
		r.ClosedAt = rfc3339(closed)
		r.CloseReason = iss.CloseReason
	}
	if len(iss.Assignees) > 0 {
		r.Assignee = iss.Assignees[0] // beads has one assignee
	}
	for _, c := range iss.Comments {
		r.Comments = append(r.Comments, beadsComment{IssueID: iss.ID, Author: c.Author, Text: c.Body, CreatedAt: rfc3339(c.CreatedMS)})
	}
	for _, d := range iss.Deps {
		r.Dependencies = append(r.Dependencies, beadsDep{IssueID: iss.ID, DependsOnID: d.Target, Type: d.Type, CreatedAt: r.CreatedAt})
	}
	return r
}

// rfc3339 is ms as beads writes times (UTC, RFC 3339 with as many
// fraction digits as needed); "" for 0.
func rfc3339(ms int64) string {
	if ms == 0 {
		return ""
	}
	return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
}

func cutTitle(t string) string {
	if len(t) <= beadsMaxTitle {
		return t
	}
	cut := beadsMaxTitle
	for cut > 0 && !utf8.RuneStart(t[cut]) {
		cut--
	}
	return t[:cut]
}
